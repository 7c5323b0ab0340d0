"""The hls4ml IP's C simulation as a library: AXI words and TLAST bits in, words and TLAST out.

:func:`pynq_ia.convert.build_word_runner` compiles the IP's AXI wrapper (``<model>_axi``, the
very function Vivado HLS turns into the IP) with g++ into a shared library with one entry point,
``pynq_ia_run_words``, that feeds it frame after frame. :class:`WordRunner` calls it through
ctypes. The emulated board (:mod:`pynq_ia.board.emulation`) uses it as the IP behind its DMA, and
the host side as the fastest bit-accurate C simulation of a project.

The wrapper reads the TLAST bit of every input word and raises TLAST on the last word of every
frame whose input carried one, as hls4ml's wrapper does in hardware; the runner hands both
through. This module needs only numpy and the standard library (ctypes): the board package ships
it with the emulation bundles.
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pynq_ia.board.words import WordFormat


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class WordRunner:
    """The compiled IP wrapper of an hls4ml project, fed with raw AXI words.

    This is the network exactly as the FPGA runs it behind the DMA: words in, words out, no
    float conversion. :meth:`run` takes (frames, N_IN) input words and returns (frames, N_OUT)
    output words; :meth:`run_stream` also takes and returns the TLAST bits; :meth:`predict`
    converts floats with the word formats on the way.

    With ``workers`` > 1, large batches are split into one contiguous slice per worker thread,
    each calling its own copy of the library (loaded from a copied file, so with its own static
    state: io_stream layers keep line buffers in static variables). Frames are independent, so
    the result is the same as one call over all of them; ctypes releases the GIL during a call.
    """

    #: below this many frames per worker, threads cost more than they save
    MIN_FRAMES_PER_WORKER = 16

    def __init__(
        self,
        library: str | Path,
        input_format: WordFormat,
        output_format: WordFormat,
        *,
        weights: str | Path,
        workers: int | None = None,
    ):
        library, weights = Path(library), Path(weights).resolve()
        if not library.is_file():
            raise FileNotFoundError(f"no C-simulation library at {library}")
        # hls4ml's C simulation reads its weights on the first call and ends the whole process
        # (exit(1)) when a file is missing: check before it can
        if not weights.is_dir() or not any(weights.glob("*.txt")):
            raise FileNotFoundError(f"{library.name}: no weights (*.txt) in {weights}")
        self.library_path = library
        self.weights = weights
        # kept alive: the libraries hold a pointer to these bytes
        self._weights_path = str(weights).encode()
        self.input_format = input_format
        self.output_format = output_format
        self.workers = max(1, workers if workers is not None else available_cores())
        first = ctypes.CDLL(str(library))
        self.n_in = int(first.pynq_ia_n_in())
        self.n_out = int(first.pynq_ia_n_out())
        self._functions = [self._entry_point(first)]
        for copy in self._library_copies(library, self.workers - 1):
            self._functions.append(self._entry_point(ctypes.CDLL(str(copy))))
        self._pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self._lock = threading.Lock()  # one run at a time: a library copy is not reentrant

    @staticmethod
    def _library_copies(library: Path, count: int) -> list[Path]:
        """``count`` copies of the library file, one per extra worker, named by its content.

        dlopen loads a path once per process, so each worker needs a file of its own; next to
        the library when that folder is writable, else in the temporary folder.
        """
        if count == 0:
            return []
        digest = hashlib.sha256(library.read_bytes()).hexdigest()[:12]
        copies = []
        for folder in (library.parent, Path(tempfile.gettempdir()) / "pynq_ia_csim"):
            try:
                folder.mkdir(exist_ok=True)
                for n in range(1, count + 1):
                    copy = folder / f"{library.stem}.{digest}.copy{n}{library.suffix}"
                    if not copy.exists():
                        partial = copy.with_name(f".{copy.name}.{os.getpid()}.partial")
                        shutil.copyfile(library, partial)
                        os.replace(partial, copy)
                    copies.append(copy)
                return copies
            except OSError:
                copies = []  # not writable: try the next folder
        raise OSError(f"cannot write copies of {library} for {count} more workers")

    def _entry_point(self, lib: ctypes.CDLL):
        lib.pynq_ia_set_weights_dir.argtypes = [ctypes.c_char_p]
        lib.pynq_ia_set_weights_dir(self._weights_path)
        function = lib.pynq_ia_run_words
        function.restype = ctypes.c_long
        function.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_long]
        return function

    def run_stream(
        self, words: np.ndarray, last: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Output words and their TLAST bits for whole frames of input words and TLAST bits.

        ``last`` (one bit per input word) defaults to what one DMA transfer of all the frames
        sends: TLAST on the very last word only.
        """
        words = np.ascontiguousarray(words, dtype=self.input_format.dtype).reshape(-1)
        frames = words.size // self.n_in
        if words.size != frames * self.n_in:
            raise ValueError(
                f"{words.size} input words are not a whole number of {self.n_in}-word frames"
            )
        if last is None:
            last = np.zeros(words.size, dtype=np.uint8)
            last[-1:] = 1
        last = np.ascontiguousarray(last, dtype=np.uint8).reshape(-1)
        if last.size != words.size:
            raise ValueError(f"{last.size} TLAST bits for {words.size} words")
        out = np.empty((frames, self.n_out), dtype=self.output_format.dtype)
        out_last = np.empty((frames, self.n_out), dtype=np.uint8)
        words, last = words.reshape(frames, self.n_in), last.reshape(frames, self.n_in)
        with self._lock:
            if self._pool is None or frames < self.workers * self.MIN_FRAMES_PER_WORKER:
                self._call(self._functions[0], words, last, out, out_last)
            else:
                bounds = np.linspace(0, frames, self.workers + 1).astype(int)
                slices = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
                jobs = [
                    self._pool.submit(self._call, function, words[s], last[s], out[s], out_last[s])
                    for function, s in zip(self._functions, slices, strict=True)
                ]
                for job in jobs:
                    job.result()
        return out, out_last

    @staticmethod
    def _call(function, words, last, out, out_last) -> None:
        addresses = (a.ctypes.data for a in (words, last, out, out_last))
        function(*addresses, len(words))

    def run(self, words: np.ndarray) -> np.ndarray:
        """Output words (frames, N_OUT) for input words (frames, N_IN): one transfer's worth."""
        return self.run_stream(words)[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's outputs for float inputs (frames, ...), through the AXI words."""
        x = np.asarray(x).reshape(len(x), -1)
        words, _ = self.input_format.encode(x)
        return self.output_format.decode(self.run(words))
