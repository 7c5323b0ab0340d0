import os
import stat

from pynq_ia import environment


def test_pins_are_parsed(tmp_path):
    req = tmp_path / "requirements.in"
    req.write_text("# comment\nfoo==1.2.3  # why\nhls4ml[profiling]==1.3.0\nbar>=2\n")
    assert environment.pinned_packages(req) == {"foo": "1.2.3", "hls4ml": "1.3.0"}


def test_installed_stack_matches_the_pins():
    bad = [(s.name, s.pinned, s.installed) for s in environment.stack_status() if not s.ok]
    assert not bad


def test_local_version_label_satisfies_pin():
    assert environment.PackageStatus("torch", "2.13.0", "2.13.0+cpu").ok
    assert not environment.PackageStatus("torch", "2.13.0", "2.12.0").ok
    assert not environment.PackageStatus("torch", "2.13.0", None).ok


def _fake_tool(folder, name, output):
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_find_tool_reads_version(tmp_path, monkeypatch):
    _fake_tool(tmp_path, "vivado_hls", "Vivado(TM) HLS v2020.1 (64-bit)")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    tool = environment.find_tool("vivado_hls", ("-version",))
    assert tool.found and tool.version == "2020.1"
    assert environment.vivado_hls_available()


def test_missing_tool(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    tool = environment.find_tool("vivado_hls")
    assert not tool.found and tool.version is None
    assert not environment.vivado_hls_available()
