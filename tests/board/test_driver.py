"""The board driver on the emulated board: PYNQ's real DMA driver, the C-simulated IP, TLAST."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from pynq.buffer import PynqBuffer

from pynq_ia.board import dma_registers as reg
from pynq_ia.board.driver import (
    DMAError,
    DMATimeout,
    IPOutOfStep,
    NeuralNetworkOverlay,
    OutputLengthError,
)
from pynq_ia.board.emulation import EmulatedBoard
from pynq_ia.board.sessions import open_emulated

N_IN, N_OUT = 16, 5


@pytest.fixture
def session(jet_bundle):
    return open_emulated(jet_bundle, buffer_frames=64, timeout_s=0.5)


@pytest.fixture
def driver(session):
    return session.driver


@pytest.fixture
def board(driver) -> EmulatedBoard:
    return driver.overlay.device


def _words(session, frames: int) -> np.ndarray:
    """The first ``frames`` test frames as the IP's input words."""
    return session.driver.input_format.encode(session.x[:frames])[0]


def _wait(driver, channel, seconds: float = 1.0) -> None:
    """Wait for a raw transfer with a deadline (PYNQ's own wait() would never give up)."""
    status = "MM2S_DMASR" if channel is driver.dma.sendchannel else "S2MM_DMASR"
    deadline = time.perf_counter() + seconds
    driver._wait(channel, status.lower(), reg.DMA_REGISTERS[status], deadline)


@pytest.mark.parametrize("frames", [1, 64, 65, 300])
def test_outputs_are_bit_identical_to_hls4ml_predict(session, frames):
    y, timing = session.driver.predict(session.x[:frames], timing=True)
    np.testing.assert_array_equal(y, session.reference_scores[:frames])
    assert timing.chunks == -(-frames // 64) and timing.frames == frames
    assert timing.saturated == len(range(0, frames, 5))  # the fixture's out-of-range inputs
    assert timing.encode > 0 and timing.transfer > 0 and timing.decode > 0


def test_single_frame_as_a_vector(session):
    y = session.driver.predict(session.x[0])
    np.testing.assert_array_equal(y, session.reference_scores[:1])


def test_buffers_keep_their_physical_address(session, driver):
    before = driver.buffer_addresses
    input_buffer, output_buffer = driver.input_buffer, driver.output_buffer
    for n in (1, 64, 130):
        driver.predict(session.x[:n])
    assert driver.buffer_addresses == before
    assert driver.input_buffer is input_buffer and driver.output_buffer is output_buffer


def test_outputs_are_copies_not_the_dma_buffer(session, driver):
    y = driver.predict(session.x[:10])
    assert not np.shares_memory(y, driver.output_buffer)
    y[:] = -1
    assert not np.array_equal(driver.predict(session.x[:10]), y)


def test_cache_maintenance_covers_only_the_frames_in_use(session, driver, board):
    driver.predict(session.x[:3])
    assert board.flushed_bytes[-1] == 3 * N_IN * 2  # not the 64-frame buffer
    assert board.invalidated_bytes[-1] == 3 * N_OUT * 2
    driver.predict(session.x[:64])
    assert board.flushed_bytes[-1] == driver.input_buffer.nbytes


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


# ------------------------------------------------------------------------------------- TLAST


def test_receive_stops_at_tlast_and_reports_the_bytes(session, driver):
    dma, words = driver.dma, _words(session, 3)
    driver.input_buffer[:3] = words
    dma.sendchannel.transfer(driver.input_buffer[:3])
    dma.recvchannel.transfer(driver.output_buffer)  # room for 64 frames, 3 come
    _wait(driver, dma.sendchannel)
    _wait(driver, dma.recvchannel)
    assert dma.recvchannel.transferred == 3 * N_OUT * 2
    np.testing.assert_array_equal(
        driver.output_format.decode(driver.output_buffer[:3]), session.reference_scores[:3]
    )


def test_output_past_tlast_waits_for_the_next_receive(session, driver, board):
    dma, words = driver.dma, _words(session, 5)
    driver.input_buffer[:5] = words
    for frames in (slice(0, 2), slice(2, 5)):  # two transfers: two packets
        dma.sendchannel.transfer(driver.input_buffer[frames])
        _wait(driver, dma.sendchannel)
    received = []
    for _ in range(2):
        dma.recvchannel.transfer(driver.output_buffer)
        _wait(driver, dma.recvchannel)
        received.append(dma.recvchannel.transferred // (N_OUT * 2))
    assert received == [2, 3]
    assert board.ip.output_words == 0
    np.testing.assert_array_equal(
        driver.output_format.decode(driver.output_buffer[:3]), session.reference_scores[2:5]
    )


def test_a_partial_frame_waits_for_its_rest(session, driver):
    dma, words = driver.dma, _words(session, 2).reshape(-1)
    driver.input_buffer.reshape(-1)[:32] = words
    flat = driver.input_buffer.reshape(-1)
    dma.sendchannel.transfer(flat[:24])  # one and a half frames, TLAST on word 24
    _wait(driver, dma.sendchannel)
    dma.recvchannel.transfer(driver.output_buffer)
    with pytest.raises(DMATimeout):  # the IP waits for the rest of frame 2
        _wait(driver, dma.recvchannel, 0.0)
    dma.sendchannel.transfer(flat[24:32])
    _wait(driver, dma.sendchannel)
    _wait(driver, dma.recvchannel)
    # frame 2 carried TLAST: both frames end the packet
    assert dma.recvchannel.transferred == 2 * N_OUT * 2


def test_a_receive_shorter_than_the_packet_is_an_internal_error(session, driver, board):
    dma = driver.dma
    driver.input_buffer[:3] = _words(session, 3)
    dma.sendchannel.transfer(driver.input_buffer[:3])
    dma.recvchannel.transfer(driver.output_buffer[:2])
    with pytest.raises(DMAError, match="Internal Error"):
        _wait(driver, dma.recvchannel)
    assert board.ip.output_words == N_OUT  # the third frame stays in the IP
    # the driver resets the DMA and drains the IP before its next call
    np.testing.assert_array_equal(driver.predict(session.x[:4]), session.reference_scores[:4])
    assert driver.resets >= 1 and board.ip.output_words == 0


@pytest.mark.parametrize(
    ("n_out", "error", "match"),
    # too small an n_out: the first synchronization (the IP answers 5 values) already says so
    [(4, IPOutOfStep, "more than n_out = 4 values"), (6, OutputLengthError, "TLAST\\) early")],
)
def test_a_driver_with_the_wrong_n_out_fails_every_call(session, n_out, error, match):
    overlay = session.driver.overlay
    io = {"n_in": N_IN, "n_out": n_out, "input": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
          "output": "ap_fixed<16,1,AP_RND_CONV,AP_SAT>"}
    wrong = NeuralNetworkOverlay.from_overlay(overlay, io, buffer_frames=64, timeout_s=0.5)
    for _ in range(3):  # never re-cut rows: every call fails with the reason
        with pytest.raises(error, match=match):
            wrong.predict(session.x[:10])


# ---------------------------------------------------------------------------------- recovery


def test_a_stuck_ip_times_out_and_the_driver_recovers(session, driver, board):
    board.ip.responds = False
    with pytest.raises(DMATimeout, match=r"within 0.5 s.*The DMA was reset"):
        driver.predict(session.x[:3])
    board.ip.responds = True
    np.testing.assert_array_equal(driver.predict(session.x[:3]), session.reference_scores[:3])
    # one counted reset after the timeout; the resynchronization before the next call is the
    # (uncounted) soft reset that also clears the IP, as the block design wires it
    assert driver.ip_reset_by_dma and driver.resets == 1


def test_output_left_in_the_ip_is_drained_not_returned(session, driver, board, monkeypatch):
    # the IP takes the frames but produces nothing in time (hung mid-computation)
    monkeypatch.setattr(board.ip, "compute", lambda: None)
    with pytest.raises(DMATimeout):
        driver.predict(session.x[:3])
    monkeypatch.undo()  # it comes back: its old results come first in the stream
    y = driver.predict(session.x[3:6])  # as many frames as the stale ones
    np.testing.assert_array_equal(y, session.reference_scores[3:6])


def test_a_decode_error_during_predict_is_reported_and_recovered(session, driver, board):
    good = driver.output_buffer
    driver.output_buffer = PynqBuffer(
        good.shape, good.dtype, buffer=bytearray(good.nbytes), device=board,
        device_address=0x7FFF_0000, bo=0,
    )
    with pytest.raises(DMAError, match="Decode Error.*The DMA was reset"):
        driver.predict(session.x[:3])
    driver.output_buffer = good
    np.testing.assert_array_equal(driver.predict(session.x[:3]), session.reference_scores[:3])


def test_a_raw_transfer_gone_wrong_does_not_block_the_driver(session, driver):
    dma = driver.dma
    dma.sendchannel._mmio.write(0x18, driver.input_buffer.physical_address)
    dma.sendchannel._mmio.write(0x28, 0)  # zero length: DMA Internal Error, channel halted
    assert dma.sendchannel.error
    with pytest.raises(DMAError, match="Internal Error"):
        _wait(driver, dma.sendchannel)
    np.testing.assert_array_equal(driver.predict(session.x[:2]), session.reference_scores[:2])


def test_two_threads_on_one_driver_get_correct_results(session, driver):
    failures = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(200):
            first = int(rng.integers(0, 250))
            count = int(rng.integers(1, 50))
            try:
                y = driver.predict(session.x[first : first + count])
            except Exception as error:  # a thread's exception would not fail the test
                failures.append((seed, first, count, repr(error)))
                continue
            if not np.array_equal(y, session.reference_scores[first : first + count]):
                failures.append((seed, first, count, "wrong scores"))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [], f"{len(failures)} of 400 calls failed, e.g. {failures[:3]}"


def test_workers_give_the_same_bits(session, jet_bundle, ip_runner):
    x = session.driver.input_format.encode(session.x)[0]
    one = ip_runner(jet_bundle, workers=1).run(x)
    np.testing.assert_array_equal(ip_runner(jet_bundle, workers=3).run(x), one)


def test_emulated_board_is_registered_with_pynq():
    import pynq

    assert issubclass(EmulatedBoard, pynq.Device)
    assert EmulatedBoard in pynq.pl_server.device.DeviceMeta._subclasses.values()
