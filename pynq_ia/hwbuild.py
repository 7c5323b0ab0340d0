"""The entry points behind ``hw_builds/``: build an overlay, verify it.

Convention: the overlay of design ``<d>`` lives in ``hw_builds/<d>/<d>.bit`` and
``hw_builds/<d>/<d>.hwh`` (never committed), next to ``manifest.json`` (committed once built)
which records what produced it and the sha256 of both files. An overlay is used only when its
files match their manifest (:func:`verify_overlay`).

Command line (what ``make -C hw_builds ...`` runs)::

    python -m pynq_ia.hwbuild tcl <design>        # (re)write hw_builds/<design>/overlay.tcl
    python -m pynq_ia.hwbuild build <design>      # HLS IP + Vivado bitstream + manifest
    python -m pynq_ia.hwbuild verify <design>     # files vs manifest, .hwh vs the description

The designs are those of the design table (:mod:`pynq_ia.designs`); the board package of the
built overlays is :mod:`pynq_ia.board_package`'s.
"""

from __future__ import annotations

import argparse
import json
import platform
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
    if design not in designs.DESIGNS:
        raise ValueError(f"unknown design {design!r}; the designs are {designs.names()}")
    return HW_BUILDS / design


def block_design(design: str) -> blockdesign.BlockDesign:
    return blockdesign.describe(design)


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


def require_tools() -> dict[str, str | None]:
    """The Vivado tools' versions; a clear error when one is missing."""
    tools = environment.toolchain()
    missing = [name for name in ("vivado_hls", "vivado") if not tools[name].found]
    if missing:
        raise environment.ToolUnavailable(
            f"building an overlay needs {' and '.join(missing)} on PATH: install Vivado and "
            f"Vivado HLS {' or '.join(environment.SUPPORTED_VIVADO)} with the PYNQ-Z2 board files "
            "and source settings64.sh. Without them, the course runs on the emulated board."
        )
    return {name: tools[name].version for name in ("vivado_hls", "vivado")}


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
    """HLS synthesis + IP export of the design's model, then the Vivado overlay and manifest."""
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
    command = ["vivado", "-mode", "batch", "-nojournal", "-source", str(tcl_path(design)),
               "-tclargs", str(ip_repo), str(folder)]
    if subprocess.run(command, cwd=work, check=False).returncode != 0:
        raise HardwareBuildError(f"Vivado failed to build {design}: see {work / 'vivado.log'}")
    bit, hwh = overlay_files(design)
    blockdesign.assert_consistent(compare_hwh(hwh, bd))
    reports = [folder / bd.timing_report, folder / bd.utilization_report]
    post_route = vivado_reports.read_reports(*reports)
    if not post_route["timing"]["met"]:  # the Tcl stops first; a report edited since would not
        raise HardwareBuildError(f"{design} misses timing: {post_route['timing']}")
    hls = estimate.report_from_project(project.directory, design, project.settings.clock_period)
    model_file = training.model_path(design, "qkeras")
    manifest = {
        "design": design,
        "kind": "overlay",
        "model": {"file": model_file.name, "sha256": sha256_file(model_file)},
        "metrics": artifacts.load_metrics(design).get("qkeras", {}).get("fingerprint"),
        "hls4ml_config": convert.hls_config(model, project.settings),
        "tools": {
            **versions,
            "hls4ml": environment.installed_version("hls4ml"),
            "python": platform.python_version(),
        },
        "clock_period_ns": project.settings.clock_period,
        "fclk0_mhz": bd.fclk0_mhz,
        "post_route": post_route,
        "io": bd.io(),
        "dma": {"base_address": hex(bd.dma.base_address), **bd.dma.tcl_config(),
                "resets_ip": bd.ip_reset_by_dma},
        "sha256": {path.name: sha256_file(path) for path in (bit, hwh, *reports)},
        "ip": estimate.ip_timing(hls, designs.design(design)),
    }
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
        commands.add_parser(command).add_argument("design", choices=designs.names())
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
