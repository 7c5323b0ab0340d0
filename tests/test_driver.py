"""The board driver on the emulated board: PYNQ's real DMA driver, the C-simulated IP."""

import subprocess
import sys

import numpy as np
import pytest

from pynq_ia import blockdesign, convert, emulation, models
from pynq_ia.compress import Quantization
from pynq_ia.dma_registers import DMA_REGISTERS
from pynq_ia.driver import DMAError, DMATimeout


@pytest.fixture(scope="module")
def jet_runner(tmp_path_factory):
    from tensorflow import keras

    keras.utils.set_random_seed(5)
    model = models.jet_dnn(Quantization(bits=6))
    project = convert.hls_project(
        "jet_dnn", model, directory=tmp_path_factory.mktemp("drv") / "jet_dnn"
    )
    return project


@pytest.fixture
def driver(jet_runner):
    design = blockdesign.describe("jet_dnn", 16, 5)
    return emulation.emulated_driver(design, jet_runner.words, buffer_frames=64, timeout_s=0.5)


def _inputs(n, seed=0):
    x = np.random.default_rng(seed).normal(0, 4, size=(n, 16)).astype(np.float32)
    x[::5, 2] = 77.0  # beyond ap_fixed<16,6>: saturates
    return x


def test_driver_imports_without_tensorflow_or_hls4ml():
    code = (
        "import sys, pynq_ia.driver; "
        "bad = [m for m in ('tensorflow', 'hls4ml', 'qkeras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
@pytest.mark.parametrize("frames", [1, 64, 65, 300])
def test_outputs_are_bit_identical_to_hls4ml_predict(driver, jet_runner, frames):
    x = _inputs(frames, seed=frames)
    y, timing = driver.predict(x, timing=True)
    np.testing.assert_array_equal(y, jet_runner.hls4ml_predict(x))
    assert timing.chunks == -(-frames // 64) and timing.frames == frames
    assert timing.saturated == len(range(0, frames, 5))
    assert timing.encode > 0 and timing.transfer > 0 and timing.decode > 0


@pytest.mark.slow
def test_buffers_keep_their_physical_address(driver):
    before = driver.buffer_addresses
    input_buffer, output_buffer = driver.input_buffer, driver.output_buffer
    for n in (1, 64, 130):
        driver.predict(_inputs(n))
    assert driver.buffer_addresses == before
    assert driver.input_buffer is input_buffer and driver.output_buffer is output_buffer


@pytest.mark.slow
def test_outputs_are_copies_not_the_dma_buffer(driver):
    y = driver.predict(_inputs(10))
    assert not np.shares_memory(y, driver.output_buffer)
    y[:] = -1
    assert not np.array_equal(driver.predict(_inputs(10)), y)


@pytest.mark.slow
def test_a_stuck_ip_times_out(driver):
    driver.overlay.device.ip_responds = False
    with pytest.raises(DMATimeout, match="did not finish within 0.5 s"):
        driver.predict(_inputs(3))


@pytest.mark.slow
def test_bad_address_is_a_decode_error(driver):
    from pynq.buffer import PynqBuffer

    dma = driver.overlay.axi_dma
    garbage = PynqBuffer(
        (8, 5),
        np.int16,
        buffer=bytearray(80),
        device=driver.overlay.device,
        device_address=0x7FFF_0000,
        bo=0,
    )
    driver.input_buffer[:1] = 0
    dma.sendchannel.transfer(driver.input_buffer, nbytes=32)
    dma.recvchannel.transfer(garbage, nbytes=10)
    with pytest.raises(DMAError, match="Decode Error"):
        driver._wait(dma.recvchannel, "receive", DMA_REGISTERS["S2MM_DMASR"], float("inf"))


@pytest.mark.slow
def test_zero_length_is_an_internal_error(driver):
    dma = driver.overlay.axi_dma
    dma.sendchannel._mmio.write(0x18, driver.input_buffer.physical_address)
    dma.sendchannel._mmio.write(0x28, 0)
    assert dma.sendchannel.error
    with pytest.raises(DMAError, match="Internal Error"):
        driver._wait(dma.sendchannel, "send", DMA_REGISTERS["MM2S_DMASR"], float("inf"))


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (np.zeros((4, 15), np.float32), ValueError, "16 values per frame"),
        (np.zeros((4,), np.float32), ValueError, "16 values per frame"),
        (np.array([["a"] * 16]), TypeError, "numeric"),
        (np.full((2, 16), np.nan, np.float32), ValueError, "NaN or infinite"),
        (np.full((2, 16), np.inf), ValueError, "NaN or infinite"),
    ],
)
def test_bad_inputs_are_clear_errors(driver, bad, error, match):
    with pytest.raises(error, match=match):
        driver.predict(bad)


@pytest.mark.slow
def test_single_frame_as_a_vector(driver, jet_runner):
    x = _inputs(1)[0]
    np.testing.assert_array_equal(driver.predict(x), jet_runner.hls4ml_predict(x[None]))


def test_emulated_board_is_registered_with_pynq():
    import pynq

    assert issubclass(emulation.EmulatedBoard, pynq.Device)
    assert emulation.EmulatedBoard in pynq.pl_server.device.DeviceMeta._subclasses.values()


def test_numpy_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    from pynq_ia.driver import one_vs_rest_auc

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 500)
    scores = np.round(rng.dirichlet(np.ones(3), 500) + 0.3 * np.eye(3)[labels], 2)  # with ties
    expected = [roc_auc_score(labels == c, scores[:, c]) for c in range(3)]
    np.testing.assert_allclose(one_vs_rest_auc(scores, labels), expected, rtol=1e-12)


def test_cost_model_recovers_fixed_and_per_frame_costs():
    from pynq_ia.driver import fit_cost_model

    rng = np.random.default_rng(0)
    batches = [2**k for k in range(14)]
    rows = [
        {"batch": b, "seconds": (100e-6 + 40e-6 * b) * rng.uniform(0.97, 1.03)} for b in batches
    ]
    model = fit_cost_model(rows)
    assert model["fixed_us"] == pytest.approx(100, rel=0.15)
    assert model["per_frame_us"] == pytest.approx(40, rel=0.05)
