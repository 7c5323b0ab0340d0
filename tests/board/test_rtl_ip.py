"""The jet tagger's RTL behind PYNQ's DMA driver, clock cycle by clock cycle.

The RTL overlay's emulation bundle (``make_fixtures.py`` writes it with the RTL venv): its IP
is the Verilated ``nn_axis.v`` around da4ml's core, a plain C library loaded with ctypes, which
the emulated board clocks at FCLK0. Untrained weights (seed 3), pruned at random: the bits are
compared, not the accuracy. These tests run with PYNQ 3.0.1 (course venv) and 3.1.2 (board
venv); the last one, which reads the overlay's Tcl, needs the course's host side.
"""

from __future__ import annotations

import json

import numpy as np
import pynq
import pytest

from make_fixtures import RTL_DESIGN
from pynq_ia.board.driver import DMATimeout, NeuralNetworkOverlay
from pynq_ia.board.rtl_ip import DmaModel
from pynq_ia.board.rtl_stream import StreamRun
from pynq_ia.board.sessions import open_emulated


@pytest.fixture(scope="module")
def rtl_bundle(fixtures_dir):
    folder = fixtures_dir / RTL_DESIGN
    if not (folder / "manifest.json").is_file():
        pytest.skip(f"no {RTL_DESIGN} fixture: make_fixtures.py ran without the RTL venv "
                    "(`make rtl-venv` creates it)")
    return folder


def test_the_dma_model_times_a_transfer_and_refuses_a_stream_it_cannot_keep_up_with():
    """PG021's figures: 16-bit words are slower than either channel, 32-bit ones are not."""
    pg021 = DmaModel()
    assert pg021.words_per_cycle(16) == pytest.approx({"MM2S": 1.9952, "S2MM": 1.4928})
    pg021.check_stream(16)
    with pytest.raises(ValueError, match="MM2S channel carries 0.9976 words of 32 bits"):
        pg021.check_stream(32)
    with pytest.raises(ValueError, match="S2MM channel carries 0.7464 words of 32 bits"):
        pg021.check_stream(16, 32)
    DmaModel.ideal().check_stream(32)
    # one frame: 16 words in from cycle 6, its first result 23 cycles after the first word,
    # the last 4 cycles later; the S2MM's write address (39 cycles) ends the transfer
    one = StreamRun(16, 5, 28, start=6, first_result=23)
    assert pg021.transfer_cycles(one) == 6 + 23 + 39
    assert DmaModel.ideal().transfer_cycles(StreamRun(16, 5, 28, first_result=23)) == 28
    # many frames: the cycle after the last result word ends it; 3 frames still end at the
    # write address; no result (a partial frame): the last word in does
    assert pg021.transfer_cycles(StreamRun(160, 50, 172, start=6, first_result=23)) == 178
    assert pg021.transfer_cycles(StreamRun(48, 15, 60, start=6, first_result=23)) == 68
    assert pg021.transfer_cycles(StreamRun(9, 0, 9, start=6)) == 15


def test_the_rtl_ip_returns_the_logits_bit_for_bit_through_pynqs_dma_driver(rtl_bundle):
    """The C simulation's logits and da4ml's, bit for bit, and the wrapper's timing, through
    the course driver and PYNQ's DMA driver."""
    session = open_emulated(rtl_bundle, buffer_frames=37, timeout_s=1.0)
    driver, manifest = session.driver, session.manifest
    ip = driver.overlay.device.ip
    described, io = ip.description, manifest["io"]
    assert io["values"] == described["values"] == "logits" and described["csim_mismatches"] == 0
    logits = driver.predict(session.x)
    np.testing.assert_array_equal(logits, session.reference_scores)  # the C simulation's logits
    np.testing.assert_array_equal(logits, np.load(rtl_bundle / "da4ml_logits.npy"))
    assert len(np.unique(logits)) > 100  # the logits vary: the comparison has teeth
    # a frame every N_IN cycles: k frames in one transfer leave CORE_LATENCY + N_OUT cycles
    # after the last word came in (nn_axis.v's comment), and nothing else takes a cycle
    parameters = described["parameters"]
    n_in, n_out, latency = parameters["N_IN"], parameters["N_OUT"], parameters["CORE_LATENCY"]
    full = [run for run in ip.runs if run.words_out == 37 * n_out]
    assert len(full) >= len(session.x) // 37
    assert {run.cycles for run in full} == {37 * n_in + latency + n_out}
    # the DMA model (PG021's figures): the first word 6 cycles after the read address; with
    # many frames the last result word sets the end, with one the S2MM's write address does
    dma = ip.dma
    assert (dma.mm2s_first_word, dma.s2mm_write_address) == (6, 39)
    assert {run.pl_cycles for run in full} == {6 + 37 * n_in + latency + n_out}
    driver.predict(session.x[:1])
    assert (ip.runs[-1].cycles, ip.runs[-1].first_result) == (n_in + latency + n_out,
                                                               n_in + latency)
    assert ip.runs[-1].pl_cycles == 6 + n_in + latency + 39
    assert ip.stream.timing() == manifest["ip"] == {  # the bundle's timing, from the RTL
        "cycles_per_frame": n_in, "latency_cycles": latency + n_out,
        "source": "RTL simulation (Verilator)"}
    # the cycles are FCLK0's: board code that sets the clock changes the PL time, not the cycles
    assert {run.fclk0_mhz for run in ip.runs} == {100.0}
    pynq.ps.Clocks.fclk0_mhz = 200
    try:
        driver.predict(session.x[:37])
        assert (ip.runs[-1].pl_cycles, ip.runs[-1].fclk0_mhz) == (full[0].pl_cycles, 200.0)
        assert ip.runs[-1].seconds == pytest.approx(full[0].seconds / 2)
        assert ip.runs[-1].ip_seconds == pytest.approx(full[0].ip_seconds / 2)
    finally:
        pynq.ps.Clocks.fclk0_mhz = 100
    # the waveform of three frames in one transfer: TLAST after the last word in and out, and
    # the words that left are the logits' words
    ip.record(90)
    driver.predict(session.x[:3])
    wave = ip.stream.waveform
    assert np.flatnonzero(wave.signals["s_axis_tvalid"]).tolist() == list(range(6, 6 + 3 * n_in))
    wave = type(wave)({name: bits[6:] for name, bits in wave.signals.items()},  # from the
                      wave.s_axis_tdata[6:], wave.m_axis_tdata[6:])  # first word offered
    left = np.flatnonzero(wave.signals["m_axis_tvalid"] & wave.signals["m_axis_tready"])
    assert np.flatnonzero(wave.signals["s_axis_tlast"]).tolist() == [3 * n_in - 1]
    assert np.flatnonzero(wave.signals["m_axis_tlast"]).tolist() == [left[-1]]
    assert left.size == 3 * n_out
    expected_words, _ = ip.output_format.encode(logits[:3].reshape(-1))
    np.testing.assert_array_equal(wave.m_axis_tdata[left].view(np.int16), expected_words)
    # the first frame's last word enters at the end of cycle n_in - 1; CORE_LATENCY edges later
    # its result is in the output buffer, whose first word crosses in the cycle after
    assert left[0] == n_in + latency
    # a frame cut short: the DMA's soft reset reaches the RTL's aresetn, which drops the
    # partial frame, and the next call gives the same bits again
    too_long = NeuralNetworkOverlay.from_overlay(
        driver.overlay, {**io, "n_in": io["n_in"] + 7}, ip_reset_by_dma=True, timeout_s=0.2)
    with pytest.raises(DMATimeout):
        too_long.predict(np.resize(session.x, (1, io["n_in"] + 7)))
    np.testing.assert_array_equal(driver.predict(session.x[:50]), logits[:50])


def test_the_rtl_overlays_tcl_is_checked_against_the_verilog_verilator_ran(rtl_bundle,
                                                                         tmp_path):
    """The RTL overlay's tracked Tcl against the very Verilog the bundle's library was
    Verilated from (the folder the overlay's build hands to Vivado): widths and frame."""
    pytest.importorskip("hls4ml", reason="the block design is the course's host side")
    from pynq_ia import blockdesign, hwbuild
    from pynq_ia.board.overlays import read_manifest

    manifest = read_manifest(rtl_bundle / "manifest.json")
    stream = json.loads((rtl_bundle / manifest["stream_ip"]).read_text())
    design = hwbuild.block_design(RTL_DESIGN, stream)
    assert {**design.io(), "values": "logits"} == manifest["io"]
    tcl = hwbuild.tcl_path(RTL_DESIGN).read_text()
    checks = blockdesign.check_tcl(tcl, design, rtl_sources=rtl_bundle / "sources")
    assert [c for c in checks if not c.ok] == []
    assert {c.what for c in checks} >= {"IP output word width", "IP frame (words in, words out)",
                                        "its AXI-stream interfaces", "their clock and reset"}
    # a top for other words, another interface name, another clock, a clash of names: caught
    top = rtl_bundle / "sources" / f"{design.ip.module}.v"
    for edit, what in [
        ((".OUT_WORD_BITS(16)", ".OUT_WORD_BITS(32)"), "IP output word width"),
        ((":1.0 m_axis TVALID", ":1.0 m_axis_0 TVALID"), "its AXI-stream interfaces"),
        (("ASSOCIATED_RESET aresetn", "ASSOCIATED_RESET rst"), "their clock and reset"),
        (("FREQ_HZ 100000000", "FREQ_HZ 200000000"), "their clock's frequency [Hz] = FCLK0's"),
        ((f"module {design.ip.module} (", f"module {design.ip.module}_v2 ("),
         "RTL module's top in the Verilog folder"),
    ]:
        assert edit[0] in top.read_text(), edit
        tmp_path.joinpath(top.name).write_text(top.read_text().replace(*edit))
        bad = {c.what for c in blockdesign.check_tcl(tcl, design, rtl_sources=tmp_path)
               if not c.ok}
        assert bad == {what}, (edit, bad)
    tmp_path.joinpath(top.name).write_text(top.read_text())
    tmp_path.joinpath("clash.v").write_text("module jet_dnn_rtl_wrapper; endmodule\n")
    bad = {c.what for c in blockdesign.check_tcl(tcl, design, rtl_sources=tmp_path) if not c.ok}
    assert bad == {"no Verilog module named like the block design's"}
