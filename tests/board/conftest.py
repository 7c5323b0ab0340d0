"""Fixtures of the board tests: they run in the course's venv and in the minimal board venv.

Files that need the host side to be made (IP libraries compiled from hls4ml projects, the board
package) are written with ``make_fixtures.py`` by the course's venv, which has TensorFlow and
hls4ml: into ``$PYNQ_IA_BOARD_FIXTURES`` when it is set (``make test`` sets it, and the board
venv, which cannot write them, reads them from there), else into a temporary folder. The real
Vivado overlays come from ``../shared/hwh``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from pynq_ia.board.csim import WordRunner
from pynq_ia.board.emulation import EmulatedBoard, EmulatedIP
from pynq_ia.board.overlays import read_manifest
from pynq_ia.board.words import word_format

sys.path.insert(0, str(Path(__file__).parent))  # make_fixtures.py: imports only the stdlib here
from make_fixtures import HLS4ML_DRIVER, write_fixtures

FIXTURES_ENV = "PYNQ_IA_BOARD_FIXTURES"
REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_OVERLAYS = REPO_ROOT.parent / "shared" / "hwh"


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory) -> Path:
    given = os.environ.get(FIXTURES_ENV)
    try:
        import hls4ml  # noqa: F401
    except ImportError:
        if given:
            return Path(given)
        pytest.skip(f"no {FIXTURES_ENV} and no hls4ml to build the board fixtures with")
    return write_fixtures(Path(given) if given else tmp_path_factory.mktemp("board_fixtures"),
                          reuse=True)


def _ip_runner(bundle: Path, workers: int = 1) -> WordRunner:
    """The C-simulated IP of an emulation bundle."""
    manifest = read_manifest(bundle / "manifest.json")
    io = manifest["io"]
    return WordRunner(
        bundle / manifest["ip_library"],
        word_format(io["input"]),
        word_format(io["output"]),
        weights=bundle / manifest["weights"],
        workers=workers,
    )


@pytest.fixture(scope="session")
def ip_runner():
    """``ip_runner(bundle, workers=1)``: the C-simulated IP of an emulation bundle."""
    return _ip_runner


@pytest.fixture(scope="session")
def jet_bundle(fixtures_dir) -> Path:
    return fixtures_dir / "jet_dnn"


@pytest.fixture(scope="session")
def mnist_float_bundle(fixtures_dir) -> Path:
    return fixtures_dir / "mnist_dnn_float"


@pytest.fixture
def real_overlay_board(mnist_float_bundle):
    """An emulated board behind which sits the float MNIST DNN IP (the real overlays' words)."""
    return EmulatedBoard(EmulatedIP(_ip_runner(mnist_float_bundle)))


@pytest.fixture(scope="session")
def hls4ml_driver_module(fixtures_dir):
    """hls4ml's PYNQ-Z2 driver (``axi_stream_driver.py``) as hls4ml ships it, imported."""
    path = fixtures_dir / HLS4ML_DRIVER
    spec = importlib.util.spec_from_file_location("axi_stream_driver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["PYNQ_DMA_DNN_float", "PYNQ_DMA_CNN_float"])
def real_overlay(request) -> Path:
    """A real Vivado overlay's .bit (its .hwh beside it); skipped when the folder is absent."""
    bit = REAL_OVERLAYS / f"{request.param}.bit"
    if not bit.is_file() or not bit.with_suffix(".hwh").is_file():
        pytest.skip(f"the real overlays are not here ({REAL_OVERLAYS}: see its README)")
    return bit
