"""The board package: one pip-installable wheel with the designs, the board code and chapter 8.

``make -C hw_builds package`` (``python -m pynq_ia.board_package``) writes
``pynq_ia_board-<version>-py3-none-any.whl``: every design with a verified overlay (``.bit``,
``.hwh``, manifest, and ``test_data.npz`` with the C simulation's scores for its test frames),
:mod:`pynq_ia.board` and the chapter 8 notebook, registered with ``pynq get-notebooks``. With
``--emulation`` (``EMULATION=1``), the emulation-only package ``pynq-ia-board-emulation``: every
design's emulation bundle instead, to run the chapter off the board. Its ``pyproject.toml`` and
``README.md`` are written from the templates in ``hw_builds/board_package/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

from pynq_ia import __version__, artifacts, convert, data, designs, training
from pynq_ia.board import overlays
from pynq_ia.board.overlays import OverlayError, sha256_file
from pynq_ia.hwbuild import HW_BUILDS, HardwareBuildError, overlay_files, verify_overlay

BOARD_CHAPTER = "08_pynq_dma_inference"
#: the templates of the package's pyproject.toml and README.md
TEMPLATES = HW_BUILDS / "board_package"
#: where ``make -C hw_builds package`` puts the wheels
DIST = HW_BUILDS / "dist"
#: the board package's names: the real one, and the one that cannot be mistaken for it
BOARD_DISTRIBUTION = "pynq-ia-board"
EMULATION_DISTRIBUTION = "pynq-ia-board-emulation"


def _template(template: str, **fields: str) -> str:
    return Template((TEMPLATES / f"{template}.template").read_text()).substitute(fields)


def _board_design_folder(design: str, target: Path, test_frames: int) -> None:
    """A verified overlay, its manifest and its test data (C-simulation scores) in ``target``."""
    import numpy as np

    manifest = verify_overlay(design)
    target.mkdir(parents=True)
    folder = overlay_files(design)[0].parent
    for name in manifest["sha256"]:  # the overlay and its routed reports
        shutil.copy2(folder / name, target / name)
    dataset = data.load_dataset(designs.design(design).task)
    project = convert.hls_project(design, training.trained_model(design, "qkeras", dataset))
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
    names = ", ".join(path.name for path in overlays.designs_in(designs_dir))
    fields = {"name": name, "version": __version__, "description": description}
    (stage / "pyproject.toml").write_text(_template("pyproject.toml", **fields))
    (stage / "README.md").write_text(_template(
        "README.md", **fields, designs=names, wheel=wheel, chapter=BOARD_CHAPTER, note=note))


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
        from pynq_ia.emulation_bundles import emulation_bundle

        for design in designs.names():
            # the bundle without its cache record and the library copies the emulated IP
            # writes for its worker threads
            ignore = shutil.ignore_patterns("*.copy*.so", artifacts.RECORD)
            shutil.copytree(emulation_bundle(design), designs_dir / design, ignore=ignore)
        description = "PYNQ_IA course designs, EMULATION ONLY (C simulation, no bitstreams)"
        note = _template("EMULATION.md", platform=f"{sys.platform} {platform.machine()}")
    else:
        missing = {}
        for design in designs.names():
            try:
                _board_design_folder(design, designs_dir / design, test_frames)
            except OverlayError as error:
                missing[design] = str(error)
        if len(missing) == len(designs.DESIGNS):
            raise OverlayError(
                "no design has a verified overlay, so there is nothing to put on a board:\n  "
                + "\n  ".join(f"{d}: {why}" for d, why in missing.items())
                + f"\nBuild one (`make -C hw_builds {designs.names()[0]}`, needs Vivado), or "
                "make the emulation-only package: `make -C hw_builds package EMULATION=1`."
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
    parser = argparse.ArgumentParser(prog="python -m pynq_ia.board_package",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--emulation", action="store_true",
                        help="the emulation-only package (no bitstreams)")
    parser.add_argument("--out", type=Path, default=None, help="default: hw_builds/dist")
    args = parser.parse_args(argv)
    try:
        print(package(emulation=args.emulation, out_dir=args.out))
    except (OverlayError, HardwareBuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
