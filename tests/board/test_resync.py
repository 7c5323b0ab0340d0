"""After a fault the IP may hold a partial frame and stale results: the next calls, from the same
driver or a new one on the same overlay, give the C simulation's scores or a clear error, never
re-cut frames. With the course's reset wiring (the DMA's soft reset clears the IP) and without it
(hls4ml's and the original project's block designs), on the emulated board behind PYNQ's DMA
driver."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from pynq_ia.board.driver import (
    DMATimeout,
    IPOutOfStep,
    NeuralNetworkOverlay,
    OutputLengthError,
)
from pynq_ia.board.sessions import open_emulated


def _bundle(source, folder, wired: bool):
    """A copy of a design's emulation bundle whose block design has (or lacks) the wiring."""
    shutil.copytree(source, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["dma"]["resets_ip"] = wired
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(params=[True, False], ids=["reset wired", "no reset wiring"])
def wired(request) -> bool:
    return request.param


@pytest.fixture
def jet(jet_bundle, tmp_path, wired):
    return open_emulated(_bundle(jet_bundle, tmp_path / "jet", wired), buffer_frames=64,
                         timeout_s=0.3)


def _io(session, **changes):
    d = session.driver
    return {"n_in": d.n_in, "n_out": d.n_out, "input": d.input_format.cpp(),
            "output": d.output_format.cpp(), **changes}


def _stale_output(session, frames: int = 1) -> None:
    """Whole frames sent by hand and never received: their results wait in the IP."""
    d = session.driver
    d.input_format.encode(session.x[:frames], out=d.input_buffer[:frames])
    d.dma.sendchannel.transfer(d.input_buffer[:frames])
    deadline = time.perf_counter() + 1
    while not d.dma.sendchannel.idle and time.perf_counter() < deadline:
        pass
    ip = d.overlay.device.ip  # (the emulated IP computes when a receive asks for results)
    assert ip.input_words + ip.output_words // d.n_out * d.n_in == frames * d.n_in


def _wrong_n_in_fails(session, leftover: int) -> None:
    """A driver told n_in + leftover words per frame sends one frame: the IP completes one frame
    and keeps ``leftover`` words of the next; with no TLAST on its answer, the call times out."""
    d = session.driver
    wrong = NeuralNetworkOverlay.from_overlay(d.overlay, _io(session, n_in=d.n_in + leftover),
                                              buffer_frames=4, timeout_s=0.2)
    x = np.resize(session.x, (1, d.n_in + leftover))
    with pytest.raises(DMATimeout, match=f"longer than n_in = {d.n_in + leftover}"):
        wrong.predict(x)
    assert d.overlay.device.ip.input_words in (0, leftover)  # wired: the reset cleared them


FIRST_FRAMES = slice(0, 40)


def _correct(session, driver, frames=FIRST_FRAMES) -> None:
    np.testing.assert_array_equal(driver.predict(session.x[frames]),
                                  session.reference_scores[frames])


@pytest.mark.parametrize("leftover", range(1, 16))
def test_every_partial_jet_frame_is_recovered_by_the_same_and_a_new_driver(jet, leftover):
    _stale_output(jet, frames=2)
    _wrong_n_in_fails(jet, leftover)
    fresh = NeuralNetworkOverlay.from_overlay(jet.driver.overlay, _io(jet), buffer_frames=64)
    _correct(jet, fresh)  # a new driver: it synchronizes before its first transfer
    _correct(jet, jet.driver, slice(40, 90))  # the session's driver: the fault count moved
    _correct(jet, fresh, slice(90, 130))
    assert jet.driver.overlay.device.ip.input_words == 0


@pytest.mark.parametrize("leftover", [1, 391, 783])
def test_partial_mnist_frames_are_recovered(mnist_float_bundle, tmp_path, wired, leftover):
    session = open_emulated(_bundle(mnist_float_bundle, tmp_path / "mnist", wired),
                            buffer_frames=16, timeout_s=0.3)
    _stale_output(session)
    _wrong_n_in_fails(session, leftover)
    _correct(session, session.driver, slice(0, 20))
    fresh = NeuralNetworkOverlay.from_overlay(session.driver.overlay, _io(session))
    _correct(session, fresh, slice(20, 40))


def test_without_wiring_the_partial_frame_survives_the_dma_reset(jet_bundle, tmp_path):
    """What the synchronization is for: the IP keeps its words across PG021's soft reset."""
    session = open_emulated(_bundle(jet_bundle, tmp_path / "jet", False), timeout_s=0.3)
    _wrong_n_in_fails(session, 7)
    board = session.driver.overlay.device
    assert board.ip.input_words == 7  # the failing driver's reset did not reach the IP
    words = session.driver.synchronize()
    assert words == 16 - 7 and board.ip.input_words == 0  # exactly the rest of the frame
    _correct(session, session.driver)


def test_with_wiring_the_dma_reset_clears_the_ip(jet_bundle, tmp_path):
    session = open_emulated(_bundle(jet_bundle, tmp_path / "jet", True), timeout_s=0.3)
    _wrong_n_in_fails(session, 7)
    assert session.driver.overlay.device.ip.input_words == 0
    assert session.driver.synchronize() == 0  # nothing to realign: a reset and the probe
    _correct(session, session.driver)


@pytest.mark.parametrize("fault", ["timeout", "dma error", "n_out"])
def test_the_next_calls_are_right_after_each_kind_of_fault(jet, fault, monkeypatch):
    driver, board = jet.driver, jet.driver.overlay.device
    if fault == "timeout":  # the IP takes a frame and a half, then stops answering
        _stale_output(jet)
        monkeypatch.setattr(board.ip, "compute", lambda: None)
        with pytest.raises(DMATimeout):
            driver.predict(jet.x[:3])
        monkeypatch.undo()
    elif fault == "dma error":  # a receive too short for the packet
        flat = driver.input_buffer.reshape(-1)
        flat[:24] = driver.input_format.encode(jet.x[:2])[0].reshape(-1)[:24]
        driver.dma.sendchannel.transfer(flat[:24])
        driver.dma.recvchannel.transfer(driver.output_buffer[:1, :2])
    else:  # a driver with one output too many per frame, on the same overlay
        wrong = NeuralNetworkOverlay.from_overlay(driver.overlay, _io(jet, n_out=6),
                                                  buffer_frames=8, timeout_s=0.3)
        with pytest.raises(OutputLengthError, match="n_out = 6"):
            wrong.predict(jet.x[:4])
    _correct(jet, driver)
    _correct(jet, NeuralNetworkOverlay.from_overlay(driver.overlay, _io(jet)))


def test_an_ip_of_another_design_is_refused_not_run(jet):
    """The known-answer probe: the same frame sizes, other answers."""
    driver = jet.driver
    driver.set_reference(jet.x, jet.reference_scores[::-1])  # the answers of other frames
    with pytest.raises(IPOutOfStep, match="differently from their reference"):
        driver.synchronize()


def test_an_n_in_too_short_is_named_when_synchronizing(jet):
    short = NeuralNetworkOverlay.from_overlay(jet.driver.overlay, _io(jet, n_in=10),
                                              timeout_s=0.3)
    with pytest.raises(IPOutOfStep, match="no frame after n_in = 10 single words"):
        short.synchronize()


def test_a_short_packet_names_n_in_when_whole_frames_came_back(jet):
    """Two whole frames answered for three sent: the IP's frames are longer than n_in says."""
    driver = jet.driver
    message = driver._short_output(2 * 5 * 2, 3)
    assert "answered 2 whole frames" in message and "n_in = 16" in message
    assert "no whole number" in driver._short_output(7 * 2, 3)  # then n_out is the suspect


def test_a_buffer_beyond_the_dma_length_register_is_refused_when_built(jet):
    driver = jet.driver
    limit = driver.dma.buffer_max_size
    assert limit == (1 << 26) - 1  # c_sg_length_width 26 (the design's DMA)
    with pytest.raises(ValueError, match=r"length register allows .*use at most 2,097,151"):
        NeuralNetworkOverlay.from_overlay(driver.overlay, _io(jet),
                                          buffer_frames=limit // (16 * 2) + 1)


def test_an_unwired_build_can_be_emulated_from_a_wired_bundle(jet_bundle):
    """``open_emulated(..., ip_reset_by_dma=False)`` (chapter 8 shows it): the emulated board
    and the driver both lose the wiring; the bundle itself is untouched."""
    session = open_emulated(jet_bundle, ip_reset_by_dma=False, timeout_s=0.3)
    board = session.driver.overlay.device
    assert not board.ip_reset_by_dma and not session.driver.ip_reset_by_dma
    _wrong_n_in_fails(session, 5)
    assert board.ip.input_words == 5
    _correct(session, session.driver, slice(0, 8))
    assert session.driver.realigned_words == 16 - 5
