"""Write the files the board tests need, with the course's host side (TensorFlow, hls4ml, g++).

The board tests (``tests/board``) run in two environments: the course's venv (PYNQ 3.0.1), where
``conftest.py`` calls :func:`write_fixtures` itself, and the minimal board venv (numpy, pynq 3.1,
no TensorFlow or hls4ml), which gets them as files: ``make test`` runs this script in the
course's venv first and points ``PYNQ_IA_BOARD_FIXTURES`` at the folder.

- ``jet_dnn/``: an emulation bundle of the course's 6-bit jet tagger (untrained weights, fixed
  seed; 16-bit ``ap_fixed`` words), with 300 test frames, some of them out of range;
- ``mnist_dnn_float/``: the course's MNIST DNN with hls4ml's float AXI words (784 in, 10 out),
  the word format and frame sizes of the real overlays in ``../shared/hwh``;
- ``jet_dnn_rtl/``: an emulation bundle of the RTL overlay: the jet tagger (6 bits, untrained
  weights, 75 % pruned at random) as da4ml's core inside ``nn_axis.v``, Verilated by the RTL
  venv (skipped, with a note, without it), with the C simulation's logits for its 400 test
  frames; beside the bundle's files, da4ml's own logits and the Verilog (``sources/``);
- ``hls4ml_axi_stream_driver.py``: hls4ml's PYNQ driver for the PYNQ-Z2 as its package ships it
  (``templates/vivado_accelerator/pynq-z2/python_drivers/axi_stream_driver.py``), copied byte
  for byte: board code not written for the emulation, run unmodified against it;
- with ``--package``: ``package/``, the emulation-only board package (a wheel) of the course's
  three trained designs (``make -C hw_builds package EMULATION=1``).

The two test designs are stamped with the state of the package that wrote them
(``tools.book.execution_state``): with ``--reuse``, designs of the same state are kept (``make
test`` writes them during the course venv's run and the board venv's run reuses them).

Usage: python tests/board/make_fixtures.py FOLDER [--package] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

# run as a script (make test-board): the checkout's tools/ (the package state's stamp)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

JET_FRAMES = 300
MNIST_FRAMES = 64
DESIGNS = ("jet_dnn", "mnist_dnn_float")
#: the RTL overlay's bundle, written when the RTL venv is there
RTL_DESIGN = "jet_dnn_rtl"
RTL_FRAMES = 400
HLS4ML_DRIVER = "hls4ml_axi_stream_driver.py"
STATE_FILE = "written_by.txt"


def _bundle(folder: Path, name: str, model, settings, x, y, class_names, seed: int) -> Path:
    from pynq_ia import blockdesign, convert, emulation_bundles

    with tempfile.TemporaryDirectory() as work:
        project = convert.hls_project(name, model, settings=settings, directory=Path(work) / name)
        block_design = blockdesign.describe(name, settings)
        provenance = {"fixture": f"untrained {name}, seed {seed}", "float_io": settings.float_io}
        folder.mkdir(parents=True)
        return emulation_bundles.write_bundle(folder, block_design, project, x, y, class_names,
                                              provenance)


def write_fixtures(root: Path, *, package: bool = False, reuse: bool = False) -> Path:
    from tools.book import execution_state

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    state, stamp = execution_state(), root / STATE_FILE
    written = stamp.is_file() and stamp.read_text().strip() == state
    with_rtl = _rtl_venv()
    designs = (*DESIGNS, RTL_DESIGN) if with_rtl else DESIGNS
    if not (reuse and written and all((root / d / "manifest.json").is_file() for d in designs)):
        stamp.unlink(missing_ok=True)
        _write_designs(root, with_rtl)
        stamp.write_text(state + "\n")
    shutil.copyfile(hls4ml_pynq_driver(), root / HLS4ML_DRIVER)
    if package:
        from pynq_ia import board_package

        board_package.package(emulation=True, out_dir=root / "package")
    return root


def hls4ml_pynq_driver() -> Path:
    """hls4ml's PYNQ-Z2 driver file in the installed hls4ml."""
    import hls4ml

    templates = Path(hls4ml.__file__).parent / "templates" / "vivado_accelerator"
    return templates / "pynq-z2" / "python_drivers" / "axi_stream_driver.py"


def _write_designs(root: Path, with_rtl: bool) -> None:
    import numpy as np
    from tensorflow import keras

    from pynq_ia import designs  # first: it quiets TensorFlow's start-up logging
    from pynq_ia.compress import Quantization

    for folder in (*DESIGNS, RTL_DESIGN, "package"):  # a package of an earlier state goes too
        shutil.rmtree(root / folder, ignore_errors=True)
    rng = np.random.default_rng(7)

    keras.utils.set_random_seed(5)
    jet = designs.jet_dnn(Quantization(bits=6))
    x = rng.normal(0, 4, size=(JET_FRAMES, 16)).astype(np.float32)
    x[::5, 2] = 77.0  # beyond ap_fixed<16,6>: saturates
    y = rng.integers(0, 5, JET_FRAMES)
    _bundle(root / "jet_dnn", "jet_dnn", jet, designs.design("jet_dnn").hls, x, y,
            ("g", "q", "t", "w", "z"), 5)

    keras.utils.set_random_seed(6)
    mnist = designs.mnist_dnn(Quantization(bits=8))
    float_words = replace(designs.design("mnist_dnn").hls, float_io=True)
    x = rng.uniform(0, 1, size=(MNIST_FRAMES, 784)).astype(np.float32)
    y = rng.integers(0, 10, MNIST_FRAMES)
    _bundle(root / "mnist_dnn_float", "mnist_dnn", mnist, float_words, x, y,
            tuple(str(d) for d in range(10)), 6)
    if with_rtl:
        _write_rtl_bundle(root)


def _rtl_venv() -> bool:
    from pynq_ia import rtl
    from pynq_ia.environment import ToolUnavailable

    try:
        rtl.rtl_python()
    except ToolUnavailable as missing:
        print(f"note: no {RTL_DESIGN} fixture: {missing}", file=sys.stderr)
        return False
    return True


def _write_rtl_bundle(root: Path) -> None:
    """The RTL overlay's emulation bundle (the RTL venv Verilates the core and the wrapper)."""
    import numpy as np
    from tensorflow import keras

    from pynq_ia import blockdesign, convert, designs, emulation_bundles, rtl
    from pynq_ia.compress import Quantization

    keras.utils.set_random_seed(3)
    model = designs.jet_dnn(Quantization(bits=6))
    rng = np.random.default_rng(11)
    for layer in model.layers:  # three weights in four zero, as the design's pruning leaves them
        if layer.get_weights():
            kernel, *rest = layer.get_weights()
            layer.set_weights([kernel * (rng.random(kernel.shape) < 0.25), *rest])
    x = rng.normal(0, 2, size=(RTL_FRAMES, 16)).astype(np.float32)
    with tempfile.TemporaryDirectory() as work:
        project = convert.hls_project("jet_dnn", model, trace=True,
                                      directory=Path(work) / "jet_dnn")
        design = rtl.export(project, x, rng.integers(0, 5, len(x)))
    stream_folder = rtl.stream_ip(design)  # built by the RTL venv
    stream = json.loads((stream_folder / "stream_ip.json").read_text())
    with np.load(design / "frames.npz") as frames:
        words, labels = frames["inputs"], frames["labels"]
        logits = frames[stream["last_layer"]].reshape(len(words), -1)
    folder = root / RTL_DESIGN
    folder.mkdir(parents=True)
    emulation_bundles.write_stream_bundle(
        folder, blockdesign.describe_rtl("jet_dnn", stream), stream_folder, words, labels,
        ("g", "q", "t", "w", "z"), logits, {"fixture": "untrained jet_dnn, 75 % pruned, seed 3"})
    shutil.copyfile(stream_folder / "da4ml_logits.npy", folder / "da4ml_logits.npy")
    shutil.copytree(stream_folder / stream["sources"], folder / "sources")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--package", action="store_true", help="also build the board package")
    parser.add_argument("--reuse", action="store_true",
                        help="keep test designs written by the same state of the package")
    args = parser.parse_args(argv)
    print(write_fixtures(args.folder, package=args.package, reuse=args.reuse))
    return 0


if __name__ == "__main__":
    sys.exit(main())
