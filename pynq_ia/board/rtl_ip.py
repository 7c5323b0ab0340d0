"""The RTL IP of the emulated board: the course's Verilog, Verilated, counted in clock cycles.

The hls4ml C simulation behind the emulated DMA (:class:`pynq_ia.board.emulation.EmulatedIP`) is
exact in values but has no clock. :class:`CycleAccurateIP` puts the RTL there instead: da4ml's
pipelined core of the network inside the course's AXI-stream wrapper (``nn_axis.v``), as a C
library (:class:`pynq_ia.board.rtl_stream.VerilatedStream`). Every word crosses the streams at
a rising clock edge, with TVALID, TREADY and TLAST as the RTL drives them, and the IP counts
the cycles each transfer took.

The DMA around it is a model, :class:`DmaModel`, from the AXI DMA's own figures (Xilinx PG021):
the MM2S channel's first word comes a few cycles after its read address, then one word per
cycle (its memory side carries more than the 16-bit stream can take); the S2MM channel takes
every result word at once, and the last one can be written no earlier than the channel's
write address, a fixed latency after the first: "cycle-exact IP, modelled DMA". The RTL is
clocked when the emulated S2MM is running, and results beyond its buffer wait outside the RTL
instead of back-pressuring it. Each :class:`ClockedRun` has the IP's cycles and the
transfer's in the PL with the DMA model, in cycles of FCLK0, whose frequency it reads from the
emulated board's clock registers at every run (board code may set them with
``pynq.ps.Clocks``). What the words are comes from ``stream_ip.json``: for the course's
designs, the logits (da4ml's core stops before the softmax). numpy, ctypes, pynq and the
standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pynq_ia.board.dma_registers import MEMORY_MAP_BITS
from pynq_ia.board.emulation import EmulatedIP
from pynq_ia.board.rtl_stream import StreamRun, VerilatedStream

#: where :class:`DmaModel`'s default figures come from
PG021_PERFORMANCE = ("Xilinx PG021 (AXI DMA v7.1), Performance, Latency and Throughput: "
                     "Tables 1 and 2, default configuration")


@dataclass(frozen=True)
class DmaModel:
    """The AXI DMA's share of a transfer, in FCLK0 cycles, around a cycle-exact IP.

    The defaults are Xilinx's figures (:data:`PG021_PERFORMANCE`): ``m_axi_mm2s_arvalid`` to
    ``m_axis_mm2s_tvalid`` 6 clocks, ``s_axis_s2mm_tvalid`` to ``m_axi_s2mm_awvalid`` 39, and
    throughputs of 99.76 % (MM2S) and 74.64 % (S2MM) of the memory side's theoretical rate.
    A transfer starts at the MM2S read address (cycle 0), with the S2MM channel running: the
    IP's first word is offered at cycle ``mm2s_first_word``, then one word per cycle, and every
    result word is taken at once (TVALID and TREADY held high). Its time in the PL
    (:meth:`transfer_cycles`) ends when the S2MM channel can write its last result: at its write
    address, ``s2mm_write_address`` cycles after the first result word, or in the cycle after
    the last result word, whichever is later.

    A model, and a lower bound: PG021 measured its own default configuration (scatter-gather,
    32-bit streams), not the course's (register direct, 16-bit streams, 256-beat bursts). In no
    table: the time from a LENGTH register's write to the read address; the course driver
    writes S2MM's LENGTH after MM2S's (``pynq_ia.board.driver``), and results that come before
    S2MM runs wait; the DDR's latency behind the PS's HP port and the AXI interconnect before
    it; the write beats after the address (the last one packs 16-bit words into 32 bits), the
    write response and the status update. The throughputs, averages over PG021's 10,000-byte
    test, decide only whether the stream or the DMA sets the pace (:meth:`words_per_cycle`):
    the model refuses a stream faster than the DMA's average, and otherwise assumes the DMA
    never stalls it. ``DmaModel.ideal()`` adds nothing to the IP's cycles.
    """

    name: str = "AXI DMA model (PG021)"
    mm2s_first_word: int = 6
    s2mm_write_address: int = 39
    mm2s_throughput: float = 0.9976
    s2mm_throughput: float = 0.7464
    #: the DMA's memory-map data width (the course's block designs')
    memory_bits: int = MEMORY_MAP_BITS

    @classmethod
    def ideal(cls) -> DmaModel:
        """Both channels running, no start-up and no latency: the IP's cycles alone."""
        return cls("ideal DMA", 0, 0, 1.0, 1.0)

    def words_per_cycle(self, stream_bits: int) -> dict[str, float]:
        """Stream words per cycle each channel's memory side carries, on average."""
        return {channel: throughput * self.memory_bits / stream_bits
                for channel, throughput in (("MM2S", self.mm2s_throughput),
                                            ("S2MM", self.s2mm_throughput))}

    def check_stream(self, mm2s_bits: int, s2mm_bits: int | None = None) -> None:
        """Refuse streams faster than the DMA: the model never throttles TVALID or TREADY."""
        widths = {"MM2S": mm2s_bits, "S2MM": mm2s_bits if s2mm_bits is None else s2mm_bits}
        for channel, bits in widths.items():
            rate = self.words_per_cycle(bits)[channel]
            if rate < 1:
                raise ValueError(
                    f"{self.name}: the {channel} channel carries {rate:.4g} words of "
                    f"{bits} bits per cycle, fewer than the stream's one, and this model does "
                    "not throttle the stream; use a narrower stream or DmaModel.ideal() for "
                    "the IP's cycles alone")

    def transfer_cycles(self, run: StreamRun) -> int:
        """The cycle, counted from the MM2S read address's (0), in which the S2MM
        channel can write the run's last result: a transfer's cycles in the PL, by the
        model. A run that gave no result ends with its last word in."""
        after_last = run.start + run.cycles  # after the last word that crossed
        if run.first_result is None:
            return after_last
        write_address = run.start + run.first_result + self.s2mm_write_address
        return max(write_address, after_last)


@dataclass(frozen=True)
class ClockedRun(StreamRun):
    """A stretch of cycles with the DMA model's cycles for it, and FCLK0 while it ran."""

    pl_cycles: int = 0
    fclk0_mhz: float = 100.0

    @property
    def seconds(self) -> float:
        """The transfer's time in the PL at its clock, DMA model included."""
        return self.pl_cycles / (self.fclk0_mhz * 1e6)

    @property
    def ip_seconds(self) -> float:
        """The IP's share of it: first word offered to the last word that crossed."""
        return self.cycles / (self.fclk0_mhz * 1e6)


class CycleAccurateIP(EmulatedIP):
    """The Verilated wrapper and core between the emulated DMA's streams.

    ``folder`` holds ``libnn_axis.so`` and ``stream_ip.json`` (:func:`pynq_ia.rtl.stream_ip`
    builds them); ``dma`` drives the streams and times the transfers (PG021's figures unless
    told). A partial frame waits inside the RTL, as in the hardware.
    """

    def __init__(self, folder: str | Path, dma: DmaModel | None = None):
        self.stream = VerilatedStream(folder)
        self.description = self.stream.description
        self.input_format, self.output_format = self.stream.input_format, self.stream.output_format
        self.dma = DmaModel() if dma is None else dma
        self.dma.check_stream(8 * self.input_format.dtype.itemsize,
                              8 * self.output_format.dtype.itemsize)
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
        out, out_last = self.stream.run(self._in_words, self._in_last,
                                        offer_after=self.dma.mm2s_first_word)
        self._in_words, self._in_last = self._in_words[:0], self._in_last[:0]
        self._out_words = np.concatenate([self._out_words, out])
        self._out_last = np.concatenate([self._out_last, out_last])
        self.frames_computed += out.size // self.n_out
        run = self.stream.runs[-1]
        self.runs.append(ClockedRun(**asdict(run), pl_cycles=self.dma.transfer_cycles(run),
                                    fclk0_mhz=float(self.clock_mhz())))

    def reset(self) -> None:
        """aresetn: the RTL's partial frame and pipeline, and unread results, are gone."""
        super().reset()
        self.stream.reset()
