"""The entry points behind ``hw_builds/``: build an overlay, verify it, package it for the board.

Convention: the overlay of design ``<d>`` lives in ``hw_builds/<d>/<d>.bit`` and
``hw_builds/<d>/<d>.hwh`` (never committed), next to ``manifest.json`` (committed once built)
which records what produced it and the sha256 of both files. :func:`verify_overlay` refuses an
overlay whose files do not match their manifest.

Command line (what ``make -C hw_builds ...`` runs)::

    python -m pynq_ia.hwbuild tcl <design>       # (re)write hw_builds/<design>/overlay.tcl
    python -m pynq_ia.hwbuild build <design>     # HLS IP + Vivado bitstream + manifest
    python -m pynq_ia.hwbuild package <design>   # overlay, driver, test data, chapter 7
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from pynq_ia import artifacts, blockdesign, convert, driver, environment
from pynq_ia.driver import OverlayError, sha256_file

HW_BUILDS = artifacts.REPO_ROOT / "hw_builds"
DESIGNS = ("jet_dnn", "mnist_dnn", "mnist_cnn")
#: input and output values per frame of each design (the models' shapes)
FRAME_SIZES = {"jet_dnn": (16, 5), "mnist_dnn": (784, 10), "mnist_cnn": (784, 10)}
#: modules the board needs: numpy + pynq only
BOARD_MODULES = ("__init__.py", "dma_registers.py", "fixed_point.py", "driver.py", "plotting.py")
BOARD_CHAPTER = "07_pynq_dma_inference"


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
    the board driver's own check, when a file, the manifest or a matching sha256 is missing.
    """
    folder = folder or design_dir(design)
    bit, hwh = overlay_files(design, folder)
    present = [p for p in (bit, hwh) if p.is_file()]
    if not present:
        raise OverlayError(
            f"no overlay for {design} in {folder}: build it with `make -C hw_builds {design}` "
            "on a machine with Vivado 2019.2/2020.1, or copy a built one there"
        )
    return driver.verify_overlay(bit)


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


def build(design: str, *, jobs: int = 2) -> dict[str, Any]:
    """HLS synthesis + IP export of the design's model, then the Vivado overlay and manifest."""
    versions = require_tools()
    from pynq_ia import models

    folder = design_dir(design)
    work = folder / "build"
    model = models.trained_model(design, "qkeras")
    project = convert.hls_project(design, model, directory=work / "hls4ml")
    project.hls_model.build(csim=False, synth=True, export=True)
    bd = block_design(design)
    tcl = tcl_path(design).read_text()
    blockdesign.assert_consistent(blockdesign.check_tcl(tcl, bd, project.directory))
    ip_repo = project.directory / f"{design}_prj" / "solution1" / "impl" / "ip"
    subprocess.run(
        [
            "vivado",
            "-mode",
            "batch",
            "-nojournal",
            "-source",
            str(tcl_path(design)),
            "-tclargs",
            str(ip_repo),
            str(folder),
        ],
        cwd=work,
        check=True,
    )
    bit, hwh = overlay_files(design)
    model_file = models.model_path(design, "qkeras")
    manifest = {
        "design": design,
        "model": {"file": model_file.name, "sha256": sha256_file(model_file)},
        "metrics": artifacts.load_metrics(design).get("qkeras", {}).get("fingerprint"),
        "hls4ml_config": convert.hls_config(model, project.settings),
        "tools": {
            **versions,
            "hls4ml": environment.installed_version("hls4ml"),
            "python": platform.python_version(),
        },
        "clock_period_ns": project.settings.clock_period,
        "io": {
            "input": bd.ip.input_type,
            "output": bd.ip.output_type,
            "n_in": bd.ip.n_in,
            "n_out": bd.ip.n_out,
        },
        "dma": {"base_address": hex(bd.dma.base_address), **bd.dma.tcl_config()},
        "sha256": {bit.name: sha256_file(bit), hwh.name: sha256_file(hwh)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def package(design: str, *, test_frames: int = 2000, folder: Path | None = None) -> Path:
    """A folder and tarball with everything the board needs for chapter 7 and this design.

    The folder is ``hw_builds/<design>/package`` unless given; returns the tarball's path.
    """
    import jupytext
    import nbformat
    import numpy as np

    from pynq_ia import models

    folder = Path(folder) if folder else design_dir(design) / "package"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "pynq_ia").mkdir(parents=True)
    try:
        verify_overlay(design)
        for path in overlay_files(design):
            shutil.copy2(path, folder / path.name)
        shutil.copy2(design_dir(design) / "manifest.json", folder / "manifest.json")
        print(f"{design}: overlay verified and packaged")
    except OverlayError as error:
        print(f"{design}: packaging without an overlay ({error})")
    package_dir = Path(__file__).parent
    for module in BOARD_MODULES:
        source = package_dir / module
        if not source.is_file():
            raise OverlayError(f"board module {module} is missing from pynq_ia")
        shutil.copy2(source, folder / "pynq_ia" / module)
    dataset = models.load_dataset(models.spec(design).task)
    model = models.trained_model(design, "qkeras", dataset)
    project = convert.hls_project(design, model)
    count = min(test_frames, len(dataset.y_test))
    x = dataset.x_test[:count].reshape(count, -1).astype(np.float32)
    np.savez_compressed(
        folder / "test_data.npz",
        x=x,
        y=dataset.y_test[:count],
        class_names=np.array(dataset.class_names),
        # what the board must reproduce bit for bit: the C simulation of the same IP
        hls4ml_scores=project.hls4ml_predict(x),
    )
    chapter = artifacts.REPO_ROOT / "book" / "chapters" / f"{BOARD_CHAPTER}.md"
    nbformat.write(jupytext.read(chapter), folder / f"{BOARD_CHAPTER}.ipynb")
    tarball = folder.with_suffix(".tar.gz")
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(folder, arcname=f"{design}_board_package")
    return tarball


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pynq_ia.hwbuild", description=__doc__)
    parser.add_argument("command", choices=("tcl", "build", "package", "verify"))
    parser.add_argument("design", choices=DESIGNS)
    args = parser.parse_args(argv)
    try:
        if args.command == "tcl":
            print(write_design_tcl(args.design))
        elif args.command == "build":
            print(json.dumps(build(args.design)["sha256"], indent=2))
        elif args.command == "verify":
            verify_overlay(args.design)
            print(f"{args.design}: overlay matches its manifest")
        else:
            print(package(args.design))
    except (environment.ToolUnavailable, OverlayError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
