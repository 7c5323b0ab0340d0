"""cocotb tests of nn_axis.v (the course's AXI-stream wrapper) around a da4ml core.

Run by tests/rtl/run_nn_axis.py in the RTL venv, under Verilator. The frames, the core's
expected output words and the transfers come from the file named by $NN_AXIS_CASE (written by
the runner from da4ml's own ``predict``); cocotbext-axi drives and reads the two streams.
"""

from __future__ import annotations

import itertools
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

#: simulated time a packet may take: far longer than the longest stall (300 cycles) and a
#: transfer's frames (at most 12) need, so only a lost or stuck word runs into it
PACKET_TIMEOUT_US = 100


def _case():
    case = np.load(os.environ["NN_AXIS_CASE"])
    return {name: case[name] for name in case.files}


def _back_pressure(rng):
    """TREADY pauses: random single cycles, and stalls of 50 to 300 cycles (1 in 500)."""
    while True:
        if rng.random() < 0.002:
            yield from [True] * int(rng.integers(50, 300))
        yield bool(rng.random() < 0.33)


async def _start(dut, *, pauses: bool, seed: int):
    """Clock, reset, and the two cocotbext-axi ends (with random pauses on both sides)."""
    cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk, dut.aresetn,
                             reset_active_level=False, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk, dut.aresetn,
                         reset_active_level=False, byte_lanes=1)
    if pauses:
        rng = np.random.default_rng(seed)
        # TVALID gaps on the input, a third of the cycles; TREADY low on the output a third of
        # the cycles, and now and then for long enough that frames pile up inside the IP
        source.set_pause_generator(iter(lambda: bool(rng.random() < 0.3), None))
        sink.set_pause_generator(_back_pressure(rng))
    dut.aresetn.value = 0
    await ClockCycles(dut.aclk, 4)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 2)
    return source, sink


async def _send_and_receive(dut, case, *, pauses: bool, seed: int):
    source, sink = await _start(dut, pauses=pauses, seed=seed)
    words, cuts = case["input_words"], case["transfer_ends"]
    starts = np.concatenate([[0], cuts[:-1]])
    for start, end in zip(starts, cuts, strict=True):  # one DMA transfer each, TLAST at its end
        await source.send(AxiStreamFrame([int(w) for w in words[start:end]]))
    received, packets = [], []
    while len(received) < case["output_words"].size:
        # the words up to and including a TLAST; a lost word would leave this waiting: fail
        packet = await with_timeout(sink.recv(), PACKET_TIMEOUT_US, "us")
        received += list(packet.tdata)
        packets.append(len(received))
    await ClockCycles(dut.aclk, 50)
    assert sink.empty(), "words after the last expected one"
    return np.array(received, dtype=np.uint16), np.array(packets)


@cocotb.test()
async def frames_survive_gaps_and_back_pressure(dut):
    """Random TVALID gaps and TREADY back-pressure, TLAST in the middle of frames and short
    last frames: every frame's words come out once, in order, with TLAST where stated."""
    case = _case()
    received, packets = await _send_and_receive(dut, case, pauses=True, seed=int(case["seed"]))
    expected = case["output_words"].astype(np.uint16).ravel()
    assert received.size == expected.size, (received.size, expected.size)
    wrong = np.flatnonzero(received != expected)
    assert wrong.size == 0, f"{wrong.size} words differ, the first at word {wrong[:5]}"
    np.testing.assert_array_equal(packets, case["tlast_after_words"])


@cocotb.test()
async def a_new_frame_every_n_in_cycles(dut):
    """With no pauses on either side the IP takes a word every cycle: one frame per N_IN
    cycles, the input stream's own limit."""
    case = _case()
    source, sink = await _start(dut, pauses=False, seed=0)
    n_frames = 64
    words = case["input_words"][: n_frames * int(case["n_in"])]
    handshakes = []

    async def watch():
        for cycle in itertools.count():
            await RisingEdge(dut.aclk)
            await ReadOnly()  # the settled values of the cycle that ends at the next edge
            if dut.s_axis_tvalid.value and dut.s_axis_tready.value:
                handshakes.append(cycle)

    cocotb.start_soon(watch())
    await source.send(AxiStreamFrame([int(w) for w in words]))
    packet = await with_timeout(sink.recv(), PACKET_TIMEOUT_US, "us")
    assert len(packet.tdata) == n_frames * int(case["n_out"])
    assert len(handshakes) == words.size
    gaps = np.diff(handshakes)
    assert np.all(gaps == 1), f"TREADY dropped: gaps {sorted(set(gaps.tolist()))}"
    np.testing.assert_array_equal(np.array(packet.tdata, dtype=np.uint16),
                                  case["output_words"][:n_frames].astype(np.uint16).ravel())
