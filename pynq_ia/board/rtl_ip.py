"""The RTL IP of the emulated board: the course's Verilog, Verilated, counted in clock cycles.

The hls4ml C simulation behind the emulated DMA (:class:`pynq_ia.board.emulation.EmulatedIP`) is
exact in values but has no clock. :class:`CycleAccurateIP` puts the RTL there instead: da4ml's
pipelined core of the network inside the course's AXI-stream wrapper (``nn_axis.v``),
Verilated in the RTL venv into ``libnn_axis.so`` with a small C interface
(``nn_axis_sim.cpp``: reset, run cycles with words in and out), which this module loads with
ctypes. Every word crosses the streams at a rising clock edge, with TVALID, TREADY and TLAST
as the RTL drives them, and the IP counts the cycles each transfer took.

The DMA side stays a model: the emulated DMA offers one word per cycle while its transfer lasts
and takes every result at once while its receive buffer has room, with no memory latency
("cycle-exact IP, modelled DMA"). The cycles are FCLK0's: divide by the emulated board's
``fclk0_mhz`` for the PL time. What the words are comes from ``stream_ip.json``: for the course's
designs, the logits (da4ml's core stops before the softmax). numpy, ctypes and the standard
library: it runs in the course's and in the board's venv.
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pynq_ia.board.emulation import EmulatedIP
from pynq_ia.board.words import word_format

DESCRIPTION = "stream_ip.json"
_I64P = ctypes.POINTER(ctypes.c_int64)


@dataclass(frozen=True)
class StreamRun:
    """One stretch of clock cycles the IP ran: the words in and out, and the cycles from the
    first word offered to the last result word taken (the transfer's PL time in cycles)."""

    words_in: int
    words_out: int
    cycles: int


class _Library:
    """The C interface of ``libnn_axis.so`` (``nn_axis_sim.cpp``), with its argument types."""

    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        lib.nn_axis_create.restype = ctypes.c_void_p
        lib.nn_axis_destroy.argtypes = [ctypes.c_void_p]
        lib.nn_axis_reset.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.nn_axis_cycles.argtypes = [ctypes.c_void_p]
        lib.nn_axis_cycles.restype = ctypes.c_uint64
        words, flags = (np.ctypeslib.ndpointer(dtype, flags="C_CONTIGUOUS")
                        for dtype in (np.uint16, np.uint8))
        lib.nn_axis_run.argtypes = [ctypes.c_void_p, words, flags, ctypes.c_int64, _I64P, words,
                                    flags, ctypes.c_int64, _I64P, ctypes.c_int64, ctypes.c_int64,
                                    _I64P]
        lib.nn_axis_run.restype = ctypes.c_int64
        self.lib = lib


class CycleAccurateIP(EmulatedIP):
    """The Verilated wrapper and core between the emulated DMA's streams.

    ``folder`` holds ``libnn_axis.so`` and ``stream_ip.json`` (:func:`pynq_ia.rtl.stream_ip`
    builds them). The words in and out are the description's word types (16-bit
    ``ap_fixed``); a partial frame waits inside the RTL, as in the hardware.
    """

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
        parameters = self.description["parameters"]
        self.n_in, self.n_out = int(parameters["N_IN"]), int(parameters["N_OUT"])
        # after the last input word, every result has left within this many cycles
        self._drain = int(parameters["CORE_LATENCY"]) + self.n_out + 2
        self._lib = _Library(folder / self.description["library"]).lib
        self._sim = self._lib.nn_axis_create()
        self._empty_streams(self.input_format.dtype, self.output_format.dtype)
        self.frames_computed = 0
        self.responds = True
        #: the stretches of cycles run, one per compute with input
        self.runs: list[StreamRun] = []
        self._words_taken = 0  # since the last reset: the RTL holds a partial frame of these
        self._lib.nn_axis_reset(self._sim, self.RESET_CYCLES)

    def __del__(self):
        sim, lib = getattr(self, "_sim", None), getattr(self, "_lib", None)
        if sim is not None and lib is not None:
            lib.nn_axis_destroy(sim)

    @property
    def cycles(self) -> int:
        """Clock cycles the RTL ran since it was loaded (reset cycles included)."""
        return int(self._lib.nn_axis_cycles(self._sim))

    @property
    def input_words(self) -> int:
        """Words of a partial frame: waiting to enter the RTL, or inside it."""
        return self._in_words.size + self._words_taken % self.n_in

    def compute(self) -> None:
        """Clock the RTL until every waiting word is in and every result it gives is out."""
        if not self.responds or (self._in_words.size == 0 and self.input_words == 0):
            return
        words = np.ascontiguousarray(self._in_words.view(np.uint16))
        last = np.ascontiguousarray(self._in_last, dtype=np.uint8)
        frames_out = (self._words_taken % self.n_in + words.size) // self.n_in
        room = (frames_out + 1) * self.n_out
        out = np.zeros(room, np.uint16)
        out_last = np.zeros(room, np.uint8)
        taken, given, last_result = ctypes.c_int64(0), ctypes.c_int64(0), ctypes.c_int64(0)
        limit = 4 * (words.size + self._drain) + 64
        ran = self._lib.nn_axis_run(self._sim, words, last, words.size, ctypes.byref(taken), out,
                                    out_last, room, ctypes.byref(given), limit, self._drain,
                                    ctypes.byref(last_result))
        if taken.value != words.size:
            raise RuntimeError(f"the RTL took {taken.value} of {words.size} words in {ran} "
                               "cycles: it stopped accepting input")
        self._words_taken += taken.value
        self._in_words, self._in_last = self._in_words[:0], self._in_last[:0]
        count = given.value
        self._out_words = np.concatenate([self._out_words,
                                          out[:count].view(self.output_format.dtype)])
        self._out_last = np.concatenate([self._out_last, out_last[:count]])
        self.frames_computed += count // self.n_out
        self.runs.append(StreamRun(int(words.size), count, int(last_result.value) + 1))

    def reset(self) -> None:
        """aresetn: the RTL's partial frame and pipeline, and unread results, are gone."""
        super().reset()
        self._words_taken = 0
        self._lib.nn_axis_reset(self._sim, self.RESET_CYCLES)
