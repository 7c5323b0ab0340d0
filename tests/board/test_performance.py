"""The board model: it reproduces the published board runs within its stated errors, predicts one
source from the other, and moves the way its parts say when a clock or a word width changes."""

from __future__ import annotations

import numpy as np
import pytest

from pynq_ia.board import board_runs, performance
from pynq_ia.board.performance import Fabric, course_driver, predict

JET, CNN, DNN = board_runs.HLS4ML_JET, board_runs.ORIGINAL_CNN, board_runs.ORIGINAL_DNN
#: the errors the chapter states, and this test holds the model to
FIT_LARGE_BATCH = 0.15  # the fitted source's calls of 2,000 frames and more
HELD_OUT_PER_FRAME = 0.25  # a source's time per frame, predicted from the other source's fit


def test_the_wrapper_cycles_of_the_published_report():
    """hls4ml's io_parallel wrapper: 16 words in, the network's 55 cycles, 5 words out, plus its
    loops' depths: the report's 95 cycles, 1.05 M frames/s at 100 MHz."""
    assert performance.io_parallel_cycles(16, 5, 55) == 95 == JET.ip_cycles
    fabric = performance.run_fabric(JET)
    assert 1 / fabric.seconds_per_frame == pytest.approx(1_052_631.6, rel=1e-6)


def test_fitted_on_the_hls4ml_rerun_it_meets_both_of_its_calls():
    host = performance.fit((JET,), label="rerun")
    assert np.abs(performance.relative_errors(JET, host)).max() < 1e-9
    assert 2e-9 < host.per_byte_s < 5e-9 and 0.8e-3 < host.per_transfer_s < 1.1e-3


def test_fitted_on_the_original_cnn_its_large_calls_are_within_the_stated_error():
    host = performance.fit((CNN,), label="original")
    errors = performance.relative_errors(CNN, host)
    large = np.array(CNN.frames) >= 2000
    assert np.abs(errors[large]).max() < FIT_LARGE_BATCH
    assert np.abs(errors).max() < 0.25  # the first, smallest calls included


def test_each_source_predicts_the_others_time_per_frame():
    """Held out: the per-byte host cost fitted on one source, the other's IP cycles from its
    report, against the other's large calls. The per-call costs are the drivers' own (the
    original driver allocates its buffers on every call) and are not carried across."""
    from_original = performance.fit((CNN,), label="original")
    from_rerun = performance.fit((JET,), label="rerun")
    jet_fabric, cnn_fabric = performance.run_fabric(JET), performance.run_fabric(CNN)
    jet_driver = performance.DRIVERS[JET.driver]
    cnn_driver = performance.DRIVERS[CNN.driver]

    def per_frame(fabric, driver, host):
        frame = predict(fabric, driver, host, 1)
        return frame.host + fabric.seconds_per_frame

    measured_jet = JET.points[-1][1] / JET.points[-1][0]
    predicted_jet = per_frame(jet_fabric, jet_driver, from_original)
    assert abs(predicted_jet / measured_jet - 1) < HELD_OUT_PER_FRAME
    frames, seconds = np.array(CNN.frames, dtype=float), np.array(CNN.seconds)
    measured_cnn = np.polyfit(frames, seconds, 1, w=1 / seconds)[0]
    predicted_cnn = per_frame(cnn_fabric, cnn_driver, from_rerun)
    assert abs(predicted_cnn / measured_cnn - 1) < HELD_OUT_PER_FRAME


def test_a_faster_clock_shortens_only_the_fabrics_share():
    host = performance.reference_host()
    fabric = Fabric(16, 5, 2, 2, performance.io_parallel_cycles(16, 5, 12), 100.0)
    driver = course_driver(2, 2, fixed_point=True)
    slow, fast = (predict(f, driver, host, 10_000, 1024) for f in
                  (fabric, performance.with_clock(fabric, 200.0)))
    assert fast.pl == pytest.approx(slow.pl / 2) and fast.host == slow.host
    assert fast.total < slow.total


def test_wider_words_move_bytes_and_encoding_as_the_model_says():
    host = performance.reference_host()
    fixed = Fabric(784, 10, 2, 2, 900, 100.0)
    floats = Fabric(784, 10, 4, 4, 900, 100.0)
    fixed_driver, float_driver = course_driver(2, 2, True), course_driver(4, 4, False)
    assert floats.in_bytes == 2 * fixed.in_bytes
    # float words: twice the bytes to move, but no numpy passes to encode them
    assert float_driver.bytes_per_frame(784, 10) == 784 * 8 + 10 * 8
    assert fixed_driver.bytes_per_frame(784, 10) == 784 * (24 + 2 + 2) + 10 * (2 + 6)
    assert predict(floats, float_driver, host, 1000).host < predict(fixed, fixed_driver, host,
                                                                    1000).host
    # the DMA's memory side is not what limits either: 784 words take 784 cycles on the stream
    assert fixed.cycles_per_frame == floats.cycles_per_frame == 900


def test_the_dma_limits_a_fast_ip():
    fabric = Fabric(784, 10, 8, 8, 10, 100.0)  # 8-byte words: two beats each on a 32-bit side
    assert fabric.cycles_per_frame == 784 * 2


def test_the_knee_is_a_power_of_two_that_grows_with_the_per_transfer_cost():
    host = performance.reference_host()
    fabric = Fabric(16, 5, 2, 2, 50, 100.0)
    driver = course_driver(2, 2, True)
    chunk = performance.knee(fabric, driver, host)
    assert chunk & (chunk - 1) == 0
    cheaper = performance.Host(host.per_byte_s, host.per_transfer_s / 8)
    assert performance.knee(fabric, driver, cheaper) < chunk
    assert performance.knee(fabric, driver, host, max_bytes=1000) * 32 <= 1000
    # at the knee, one more doubling saves less than the knee's share of the time per frame
    at, doubled = (predict(fabric, driver, host, 8 * chunk, size).us_per_frame
                   for size in (chunk, 2 * chunk))
    assert (at - doubled) / at < performance.KNEE_SHARE


def test_the_original_dnn_implies_its_ip_cycles():
    """No report of the original DNN is published: its calls, less the host's share, say how
    many cycles per frame its IP took (more than its 794 words of input and output)."""
    cycles = performance.implied_ip_cycles(DNN, performance.reference_host())
    assert DNN.n_in + DNN.n_out < cycles < 20_000


def test_a_manifest_gives_the_fabric_and_the_driver():
    manifest = {"design": "x", "fclk0_mhz": 125.0,
                "io": {"n_in": 16, "n_out": 5, "input": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
                       "output": "float"},
                "ip": {"cycles_per_frame": 60, "latency_cycles": 40}}
    fabric = performance.fabric_from_manifest(manifest)
    assert (fabric.in_word_bytes, fabric.out_word_bytes, fabric.fclk0_mhz) == (2, 4, 125.0)
    assert fabric.fill_seconds == pytest.approx(40 / 125e6)
    chunk = performance.chunk_frames(manifest, (1 << 26) - 1)
    assert chunk & (chunk - 1) == 0
    with pytest.raises(ValueError, match="no IP cycles"):
        performance.fabric_from_manifest({**manifest, "ip": {}})
