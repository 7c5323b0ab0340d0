"""The RTL IP of the emulated board: the course's Verilog, Verilated, counted in clock cycles.

The hls4ml C simulation behind the emulated DMA (:class:`pynq_ia.board.emulation.EmulatedIP`) is
exact in values but has no clock. :class:`CycleAccurateIP` puts the RTL there instead: da4ml's
pipelined core of the network inside the course's AXI-stream wrapper (``nn_axis.v``), as a C
library (:class:`pynq_ia.board.rtl_stream.VerilatedStream`). Every word crosses the streams at
a rising clock edge, with TVALID, TREADY and TLAST as the RTL drives them, and the IP counts
the cycles each transfer took.

The DMA side stays a model, and an ideal one: the stream offers a word on every cycle and takes
every result at once, with no DMA start-up, memory latency, burst gaps or write responses; the
RTL is clocked when the emulated S2MM is running, and results beyond its buffer wait outside
the RTL instead of back-pressuring it ("cycle-exact IP behind an ideal DMA"). The cycles are
the IP's share of a transfer, a lower bound on its time in the PL. They are FCLK0's, read
from the emulated board's clock registers at every run (board code may set them with
``pynq.ps.Clocks``): each :class:`ClockedRun` says how long it took. What the words are comes from
``stream_ip.json``: for the course's designs, the logits (da4ml's core stops before the
softmax). numpy, ctypes, pynq and the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pynq_ia.board.emulation import EmulatedIP
from pynq_ia.board.rtl_stream import StreamRun, VerilatedStream


@dataclass(frozen=True)
class ClockedRun(StreamRun):
    """A stretch of cycles and FCLK0 while it ran."""

    fclk0_mhz: float = 100.0

    @property
    def seconds(self) -> float:
        """The stretch's time in the PL at its clock."""
        return self.cycles / (self.fclk0_mhz * 1e6)


class CycleAccurateIP(EmulatedIP):
    """The Verilated wrapper and core between the emulated DMA's streams.

    ``folder`` holds ``libnn_axis.so`` and ``stream_ip.json`` (:func:`pynq_ia.rtl.stream_ip`
    builds them). A partial frame waits inside the RTL, as in the hardware.
    """

    def __init__(self, folder: str | Path):
        self.stream = VerilatedStream(folder)
        self.description = self.stream.description
        self.input_format, self.output_format = self.stream.input_format, self.stream.output_format
        self.n_in, self.n_out = self.stream.n_in, self.stream.n_out
        self._empty_streams(self.input_format.dtype, self.output_format.dtype)
        self.frames_computed = 0
        self.responds = True
        #: the stretches of cycles run, one per compute with input, with their clock
        self.runs: list[ClockedRun] = []
        #: FCLK0 in MHz, read at every run (the emulated board points it at its registers)
        self.clock_mhz: Callable[[], float] = lambda: 100.0

    @property
    def input_words(self) -> int:
        """Words of a partial frame: waiting to enter the RTL, or inside it."""
        return self._in_words.size + self.stream.held_words

    def record(self, cycles: int) -> None:
        """Record the first ``cycles`` cycles of the next run (``self.stream.waveform``)."""
        self.stream.record(cycles)

    def compute(self) -> None:
        """Clock the RTL until every waiting word is in and every result it gives is out."""
        if not self.responds or self.input_words == 0:
            return
        out, out_last = self.stream.run(self._in_words, self._in_last)
        self._in_words, self._in_last = self._in_words[:0], self._in_last[:0]
        self._out_words = np.concatenate([self._out_words, out])
        self._out_last = np.concatenate([self._out_last, out_last])
        self.frames_computed += out.size // self.n_out
        run = self.stream.runs[-1]
        self.runs.append(ClockedRun(run.words_in, run.words_out, run.cycles,
                                    float(self.clock_mhz())))

    def reset(self) -> None:
        """aresetn: the RTL's partial frame and pipeline, and unread results, are gone."""
        super().reset()
        self.stream.reset()
