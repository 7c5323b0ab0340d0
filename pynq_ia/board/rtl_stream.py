"""The course's Verilog IP as a C library: words in, words out, one clock cycle at a time.

Chapter 6's RTL of a network (da4ml's pipelined core) sits inside the course's AXI-stream
wrapper, ``nn_axis.v``; the RTL venv Verilates both into ``libnn_axis.so`` with a small C
interface (``nn_axis_sim.cpp``: reset, run cycles with words in and out, record a waveform) and
describes it in ``stream_ip.json`` (:func:`pynq_ia.rtl.stream_ip` builds both).
:class:`VerilatedStream` loads the library with ctypes, so any venv can clock it: chapter 6's
RTL kernel, to look at its waveform and count its cycles, and the emulated board
(:class:`pynq_ia.board.rtl_ip.CycleAccurateIP`), behind PYNQ's DMA driver.

On each cycle the stream offers the next word (TVALID high while words remain) and takes every
result word while there is room (TREADY high): an ideal DMA, both channels already running,
with no DMA start-up, memory latency, burst gaps or write responses. A run may hold TVALID low
for its first cycles (``offer_after``: a DMA's start-up, :class:`pynq_ia.board.rtl_ip.DmaModel`);
the IP's cycles are counted from its first word offered, the IP's share of a transfer, a lower
bound on its time in the PL. Every word crosses at a rising edge with TVALID and TREADY high, as
AXI4-Stream defines a transfer. numpy, ctypes and the standard library only: it also runs on
the board.
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pynq_ia.board.words import word_format

DESCRIPTION = "stream_ip.json"
#: the bits of one cycle in a recorded :class:`Waveform` (``nn_axis_sim.cpp``)
WAVE_BITS = ("s_axis_tvalid", "s_axis_tready", "s_axis_tlast",
             "m_axis_tvalid", "m_axis_tready", "m_axis_tlast")
_I64P = ctypes.POINTER(ctypes.c_int64)


@dataclass(frozen=True)
class StreamRun:
    """One stretch of clock cycles: the words in and out, and the cycles from the first word
    offered to the last word that crossed, in or out (for a whole transfer, its last result
    word: the IP's share of the transfer, in cycles). ``start`` cycles with TVALID low came
    before the first word was offered; ``first_result`` is the cycle, counted from the first
    word offered, in which the first result word crossed (None: no result)."""

    words_in: int
    words_out: int
    cycles: int
    start: int = 0
    first_result: int | None = None


@dataclass(frozen=True)
class Waveform:
    """The wrapper's stream signals, cycle by cycle: each of :data:`WAVE_BITS` as 0/1, and the
    TDATA of both streams (as the words' bits)."""

    signals: dict[str, np.ndarray]
    s_axis_tdata: np.ndarray
    m_axis_tdata: np.ndarray


def _bind(path: Path) -> ctypes.CDLL:
    """``libnn_axis.so`` with its functions' argument types."""
    lib = ctypes.CDLL(str(path))
    lib.nn_axis_create.restype = ctypes.c_void_p
    lib.nn_axis_destroy.argtypes = [ctypes.c_void_p]
    lib.nn_axis_reset.argtypes = [ctypes.c_void_p, ctypes.c_int]
    words, flags = (np.ctypeslib.ndpointer(dtype, flags="C_CONTIGUOUS")
                    for dtype in (np.uint16, np.uint8))
    lib.nn_axis_run.argtypes = [ctypes.c_void_p, words, flags, ctypes.c_int64, ctypes.c_int64,
                                _I64P, words, flags, ctypes.c_int64, _I64P, ctypes.c_int64,
                                ctypes.c_int64, _I64P, _I64P, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_int64]
    lib.nn_axis_run.restype = ctypes.c_int64
    return lib


#: where the stream IP's cycle counts come from
RTL_SIMULATION = "RTL simulation (Verilator)"


class VerilatedStream:
    """The Verilated wrapper and core of a ``stream_ip.json`` folder, ready to clock."""

    #: cycles of reset (aresetn low) after loading and at every reset
    RESET_CYCLES = 2

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        try:
            self.description = json.loads((folder / DESCRIPTION).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{folder}: no {DESCRIPTION}; build the stream IP with pynq_ia.rtl.stream_ip "
                "(in the course's venv it asks the RTL venv)"
            ) from None
        self.input_format = word_format(self.description["input"])
        self.output_format = word_format(self.description["output"])
        for side, form in (("input", self.input_format), ("output", self.output_format)):
            if form.dtype.itemsize != 2:
                raise ValueError(f"{folder}: the stream IP's {side} words must be 16 bits")
        self.parameters = self.description["parameters"]
        self.n_in, self.n_out = int(self.parameters["N_IN"]), int(self.parameters["N_OUT"])
        #: after the last input word, every result has left within this many cycles
        self.drain_cycles = int(self.parameters["CORE_LATENCY"]) + self.n_out + 2
        self._lib = _bind(folder / self.description["library"])
        self._sim = self._lib.nn_axis_create()
        #: the stretches of cycles run
        self.runs: list[StreamRun] = []
        #: words taken since the last reset: the RTL holds a partial frame of the last of them
        self.words_taken = 0
        self._wave_cycles = 0
        #: what :meth:`record` asked for, once the next run has recorded it
        self.waveform: Waveform | None = None
        self.reset()

    def __del__(self):
        sim, lib = getattr(self, "_sim", None), getattr(self, "_lib", None)
        if sim is not None and lib is not None:
            lib.nn_axis_destroy(sim)

    def reset(self) -> None:
        """aresetn low for :data:`RESET_CYCLES` edges: partial frame and pipeline are gone."""
        self._lib.nn_axis_reset(self._sim, self.RESET_CYCLES)
        self.words_taken = 0

    @property
    def held_words(self) -> int:
        """Words of a partial frame inside the RTL, waiting for the rest of their frame."""
        return self.words_taken % self.n_in

    def record(self, cycles: int) -> None:
        """Record the first ``cycles`` cycles of the next run as :attr:`waveform`."""
        self._wave_cycles, self.waveform = int(cycles), None

    def run(self, words: np.ndarray, last: np.ndarray | None = None,
            offer_after: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Stream ``words`` (16-bit) in, with TLAST bits ``last`` (default: on the last word),
        from cycle ``offer_after`` on (TVALID low before), until every result they give is out:
        the result words and their TLAST bits. A partial frame held from an earlier run
        completes with the first of these words."""
        offer_after = int(offer_after)
        if offer_after < 0:
            raise ValueError(f"offer_after is a number of cycles, not {offer_after}")
        words = np.asarray(words)
        if words.dtype.itemsize != 2:
            raise TypeError(f"the stream takes 16-bit words, not {words.dtype}")
        words = np.ascontiguousarray(words.view(np.uint16).reshape(-1))
        if last is None:
            last = np.zeros(words.size, np.uint8)
            last[-1:] = 1
        last = np.ascontiguousarray(last, dtype=np.uint8)
        if last.shape != words.shape:
            raise ValueError(f"{words.size} words but {last.size} TLAST bits")
        room = ((self.held_words + words.size) // self.n_in + 1) * self.n_out
        out, out_last = np.zeros(room, np.uint16), np.zeros(room, np.uint8)
        taken, given = ctypes.c_int64(0), ctypes.c_int64(0)
        first_out, last_word = ctypes.c_int64(0), ctypes.c_int64(0)
        wave = np.zeros(self._wave_cycles, np.uint8)
        wave_data = np.zeros((self._wave_cycles, 2), np.uint16)
        recording = (wave.ctypes.data, wave_data.ctypes.data) if wave.size else (None, None)
        ran = self._lib.nn_axis_run(self._sim, words, last, words.size, offer_after,
                                    ctypes.byref(taken), out, out_last, room, ctypes.byref(given),
                                    offer_after + 4 * (words.size + self.drain_cycles) + 64,
                                    self.drain_cycles, ctypes.byref(first_out),
                                    ctypes.byref(last_word), *recording, wave.size)
        self.words_taken += taken.value
        if taken.value != words.size:
            raise RuntimeError(f"the RTL took {taken.value} of {words.size} words in {ran} "
                               "cycles: it stopped accepting input")
        if wave.size:
            kept = min(wave.size, int(ran))
            self.waveform = Waveform(
                {name: (wave[:kept] >> bit) & 1 for bit, name in enumerate(WAVE_BITS)},
                wave_data[:kept, 0].copy(), wave_data[:kept, 1].copy())
            self._wave_cycles = 0
        count = given.value
        first = int(first_out.value) - offer_after if first_out.value >= 0 else None
        if first is not None and first < 0:  # a result before any input: an earlier run's
            raise RuntimeError("the RTL gave a result before this run's first word")
        self.runs.append(StreamRun(int(words.size), count,
                                   max(int(last_word.value) + 1 - offer_after, 0), offer_after,
                                   first))
        return out[:count].view(self.output_format.dtype), out_last[:count]

    def timing(self, frames: int = 100) -> dict[str, float | str]:
        """The IP's timing as the board model takes it (a manifest's ``ip``), from two runs
        from reset, of one frame and of ``frames`` back to back: the cycles per frame, and
        the fill each run adds (the core's latency and the result's words). It resets the RTL:
        call it between transfers, not in the middle of one."""
        counts = []
        for n in (1, frames):
            self.reset()
            self.run(np.zeros(n * self.n_in, np.int16))
            counts.append(self.runs[-1].cycles)
        self.reset()
        per_frame = (counts[1] - counts[0]) / (frames - 1)
        return {"cycles_per_frame": per_frame, "latency_cycles": counts[0] - per_frame,
                "source": RTL_SIMULATION}

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The RTL's outputs (decoded words) for frames ``x`` (frames, n_in) of input values,
        streamed back to back in one run."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.n_in)
        words, _ = self.input_format.encode(x)
        out, _ = self.run(words.reshape(-1))
        return self.output_format.decode(out).reshape(len(x), self.n_out)
