"""The entry points behind ``hw_builds/``: build an overlay, verify it, package the designs.

Convention: the overlay of design ``<d>`` lives in ``hw_builds/<d>/<d>.bit`` and
``hw_builds/<d>/<d>.hwh`` (never committed), next to ``manifest.json`` (committed once built)
which records what produced it and the sha256 of both files. An overlay is used only when its
files match their manifest (:func:`verify_overlay`).

Command line (what ``make -C hw_builds ...`` runs)::

    python -m pynq_ia.hwbuild tcl <design>        # (re)write hw_builds/<design>/overlay.tcl
    python -m pynq_ia.hwbuild build <design>      # HLS IP + Vivado bitstream + manifest
    python -m pynq_ia.hwbuild verify <design>     # files vs manifest, .hwh vs the description
    python -m pynq_ia.hwbuild package [--emulation] [--out DIR]

``package`` writes one pip-installable board package (a wheel) with every design that has a
verified overlay, their test data, :mod:`pynq_ia.board` and the chapter 8 notebook; with
``--emulation``, the emulation-only package (``pynq-ia-board-emulation``) with every design's
emulation bundle instead, for running the chapter off the board.
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

from pynq_ia import __version__, artifacts, blockdesign, convert, environment, models
from pynq_ia.board import overlays
from pynq_ia.board.overlays import OverlayError, sha256_file

HW_BUILDS = artifacts.REPO_ROOT / "hw_builds"
DESIGNS = tuple(models.SPECS)
#: input and output values per frame of each design (the models' shapes)
FRAME_SIZES = {"jet_dnn": (16, 5), "mnist_dnn": (784, 10), "mnist_cnn": (784, 10)}
BOARD_CHAPTER = "08_pynq_dma_inference"
#: where ``make -C hw_builds package`` puts the wheels
DIST = HW_BUILDS / "dist"
#: the board package's names: the real one, and the one that cannot be mistaken for it
BOARD_DISTRIBUTION = "pynq-ia-board"
EMULATION_DISTRIBUTION = "pynq-ia-board-emulation"


class HardwareBuildError(RuntimeError):
    """A step of an overlay build failed; the message says which and where its log is."""


def design_dir(design: str) -> Path:
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; the designs are {DESIGNS}")
    return HW_BUILDS / design


def block_design(design: str) -> blockdesign.BlockDesign:
    return blockdesign.describe(design, *FRAME_SIZES[design])


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
    model = models.trained_model(design, "qkeras")
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
    model_file = models.model_path(design, "qkeras")
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
        "io": bd.io(),
        "dma": {"base_address": hex(bd.dma.base_address), **bd.dma.tcl_config()},
        "sha256": {bit.name: sha256_file(bit), hwh.name: sha256_file(hwh)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def verify(design: str) -> list[blockdesign.Check]:
    """A built overlay: its files against the manifest, its ``.hwh`` against the description."""
    verify_overlay(design)
    checks = compare_hwh(overlay_files(design)[1], block_design(design))
    blockdesign.assert_consistent(checks)
    return checks


# ------------------------------------------------------------------------------ board package

_PACKAGE_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "{description}"
readme = "README.md"
requires-python = ">=3.10"
license = {{ text = "MIT" }}
# what a PYNQ-Z2 image (v3.0, v3.1) already has: installing needs no network there
dependencies = ["numpy>=1.21,<2", "pynq>=3.0,<3.2"]

[project.entry-points."pynq.notebooks"]
pynq_ia = "pynq_ia.board.notebooks"

[tool.setuptools.packages.find]
include = ["pynq_ia", "pynq_ia.board", "pynq_ia.board.notebooks"]

[tool.setuptools.package-data]
"pynq_ia.board" = ["designs/*/*", "designs/*/weights/*"]
"pynq_ia.board.notebooks" = ["*.ipynb"]
"""

_PACKAGE_README = """\
# {name}

{description}

Designs: {designs}.

On a PYNQ-Z2 (image v3.0 or v3.1), as the `xilinx` user:

    sudo pip3 install {wheel}
    pynq get-notebooks pynq_ia -p $PYNQ_JUPYTER_NOTEBOOKS

then open `pynq_ia/{chapter}.ipynb` in Jupyter. The notebook finds the designs this package
installed (`pynq_ia/board/designs/`), checks every file against its manifest, and runs them.
{note}
"""

_EMULATION_NOTE = """
This is the EMULATION-ONLY package: its designs are C simulations compiled for {platform}, not
bitstreams. It runs the notebook off the board (PYNQ's DMA driver on an emulated board); on a
board, install `pynq-ia-board` instead.
"""


def _board_design_folder(design: str, target: Path, test_frames: int) -> None:
    """A verified overlay, its manifest and its test data (C-simulation scores) in ``target``."""
    import numpy as np

    manifest = verify_overlay(design)
    target.mkdir(parents=True)
    for path in overlay_files(design):
        shutil.copy2(path, target / path.name)
    dataset = models.load_dataset(models.spec(design).task)
    project = convert.hls_project(design, models.trained_model(design, "qkeras", dataset))
    count = min(test_frames, len(dataset.y_test))
    x = dataset.x_test[:count].reshape(count, -1).astype(np.float32)
    np.savez_compressed(
        target / overlays.TEST_DATA,
        x=x,
        y=dataset.y_test[:count],
        class_names=np.array(dataset.class_names),
        hls4ml_scores=project.hls4ml_predict(x),
    )
    manifest["sha256"][overlays.TEST_DATA] = sha256_file(target / overlays.TEST_DATA)
    (target / overlays.MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")


def _stage_package(stage: Path, name: str, description: str, note: str, wheel: str) -> None:
    """The board folder, the notebook, pyproject.toml and README of the package in ``stage``."""
    import jupytext
    import nbformat

    source = Path(__file__).parent
    shutil.copy2(source / "__init__.py", stage / "pynq_ia" / "__init__.py")
    for module in sorted((source / "board").glob("*.py")):
        shutil.copy2(module, stage / "pynq_ia" / "board" / module.name)
    notebooks = stage / "pynq_ia" / "board" / "notebooks"
    notebooks.mkdir()
    (notebooks / "__init__.py").write_text('"""The board package\'s notebooks."""\n')
    chapter = artifacts.REPO_ROOT / "book" / "chapters" / f"{BOARD_CHAPTER}.md"
    nbformat.write(jupytext.read(chapter), notebooks / f"{BOARD_CHAPTER}.ipynb")
    designs_dir = stage / "pynq_ia" / "board" / "designs"
    designs = ", ".join(path.name for path in overlays.designs_in(designs_dir))
    text = {"name": name, "version": __version__, "description": description}
    (stage / "pyproject.toml").write_text(_PACKAGE_PYPROJECT.format(**text))
    (stage / "README.md").write_text(
        _PACKAGE_README.format(**text, designs=designs, wheel=wheel, chapter=BOARD_CHAPTER,
                               note=note)
    )


def package(
    *, emulation: bool = False, out_dir: Path | None = None, test_frames: int = 2000
) -> Path:
    """The board package as a wheel in ``out_dir`` (default ``hw_builds/dist``); its path.

    Without ``emulation``: every design with a verified overlay (refuses when there is none).
    With it: the emulation bundles of all designs, as ``pynq-ia-board-emulation``.
    """
    out_dir = Path(out_dir or DIST)
    name = EMULATION_DISTRIBUTION if emulation else BOARD_DISTRIBUTION
    stage = out_dir / "build" / name
    if stage.exists():
        shutil.rmtree(stage)
    designs_dir = stage / "pynq_ia" / "board" / "designs"
    designs_dir.mkdir(parents=True)
    if emulation:
        from pynq_ia import emulation as host_emulation

        for design in DESIGNS:
            bundle = host_emulation.emulation_bundle(design)
            # without the library copies the emulated IP writes for its worker threads
            ignore = shutil.ignore_patterns("*.copy*.so")
            shutil.copytree(bundle, designs_dir / design, ignore=ignore)
        description = "PYNQ_IA course designs, EMULATION ONLY (C simulation, no bitstreams)"
        note = _EMULATION_NOTE.format(platform=f"{sys.platform} {platform.machine()}")
    else:
        missing = {}
        for design in DESIGNS:
            try:
                _board_design_folder(design, designs_dir / design, test_frames)
            except OverlayError as error:
                missing[design] = str(error)
        if len(missing) == len(DESIGNS):
            raise OverlayError(
                "no design has a verified overlay, so there is nothing to put on a board:\n  "
                + "\n  ".join(f"{d}: {why}" for d, why in missing.items())
                + "\nBuild one (`make -C hw_builds jet_dnn`, needs Vivado), or make the "
                "emulation-only package: `make -C hw_builds package EMULATION=1`."
            )
        for design, why in missing.items():
            print(f"{design}: not packaged ({why})")
        description = "PYNQ_IA course designs for the PYNQ-Z2: overlays, driver, notebook"
        note = ""
    wheel_name = f"{name.replace('-', '_')}-{__version__}-py3-none-any.whl"
    _stage_package(stage, name, description, note, wheel_name)
    for old in out_dir.glob(f"{name.replace('-', '_')}-*.whl"):
        old.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(out_dir), str(stage)],
        capture_output=True, text=True, check=False,
    )
    wheel = out_dir / wheel_name
    if result.returncode != 0 or not wheel.is_file():
        raise HardwareBuildError(f"building the {name} wheel failed:\n{result.stderr}")
    shutil.rmtree(out_dir / "build")
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pynq_ia.hwbuild", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("tcl", "build", "verify"):
        commands.add_parser(command).add_argument("design", choices=DESIGNS)
    package_parser = commands.add_parser("package")
    package_parser.add_argument("--emulation", action="store_true",
                                help="the emulation-only package (no bitstreams)")
    package_parser.add_argument("--out", type=Path, default=None, help=f"default: {DIST}")
    args = parser.parse_args(argv)
    try:
        if args.command == "tcl":
            print(write_design_tcl(args.design))
        elif args.command == "build":
            print(json.dumps(build(args.design)["sha256"], indent=2))
        elif args.command == "verify":
            for check in verify(args.design):
                print(f"{check.what}: {check.found}")
            print(f"{args.design}: overlay matches its manifest and its description")
        else:
            print(package(emulation=args.emulation, out_dir=args.out))
    except (environment.ToolUnavailable, OverlayError, HardwareBuildError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
