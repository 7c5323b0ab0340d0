"""The board-side driver: DMA inference on a course overlay with PYNQ (numpy + pynq only).

The same code runs on a PYNQ-Z2 (``pynq.Overlay`` of a design's ``.bit``) and on the emulated
board of :mod:`pynq_ia.board.emulation`; it talks to PYNQ's own ``pynq.lib.dma.DMA``, found by
its type in the overlay, wherever the block design's hierarchy put it.

What :meth:`NeuralNetworkOverlay.predict` does for a batch of any size:

1. validates the input (shape, numeric dtype, no NaN/inf);
2. encodes it to the IP's words (``ap_fixed`` rounded and saturated as the IP's type does, or
   float) in vectorized numpy, straight into the DMA input buffer, counting out-of-range values;
3. transfers it in chunks that fit the buffers (allocated once, reused, never replaced). Only
   the bytes in use are flushed from and invalidated in the CPU's caches. Every wait has a
   timeout: a stuck DMA raises :class:`DMATimeout` instead of hanging; a DMA error raises
   :class:`DMAError`, and a result shorter than asked (the IP ended its packet with TLAST early)
   raises :class:`OutputLengthError`. After any of them the driver resets the DMA (PG021 soft
   reset, then restart) and, before its next transfer, receives and drops what the IP may still
   hold and **synchronizes** with the IP (:meth:`NeuralNetworkOverlay.synchronize`), so the next
   call works or fails with a reason, never returns re-cut frames;
4. decodes the output words into a new float array (the DMA buffer stays the DMA's).

``predict`` is safe to call from several threads: calls run one after the other. It imports
neither TensorFlow nor hls4ml, and works with PYNQ 3.0 and 3.1 (Python 3.10 on the board).

**Why synchronize.** hls4ml's AXI wrapper reads N_IN words per frame and ORs their TLAST bits:
a transfer cut short (a timeout, a driver with the wrong ``n_in``) leaves it holding the first
words of a frame, and the DMA's soft reset does not reach the IP unless the block design wires
the DMA's stream-side reset outputs (``mm2s_prmry_reset_out_n``, ``s2mm_prmry_reset_out_n``,
PG021) to the IP's ``ap_rst_n``, as the course's do. Without that wiring every later frame
would be cut across two frames, each with the right length: wrong scores, no error. So after
every fault, on any driver of the same DMA, and when a driver starts, the driver either resets
the IP through the DMA (wired designs) or sends single words, each with TLAST, until the IP
answers a frame (at most N_IN words: then it holds nothing), and checks a known-answer probe
(the design's test frames and their reference scores) when it has one.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia.board import dma_registers as reg
from pynq_ia.board.overlays import OverlayError, verify_overlay
from pynq_ia.board.words import word_format

DEFAULT_TIMEOUT_S = 2.0
#: after a fault, how long a receive waits for output the IP may still hold
DRAIN_WAIT_S = 0.02
#: at most this many leftover packets are drained before giving up
MAX_DRAINED_PACKETS = 16
RECOVERY_NOTE = (
    "The DMA was reset; the next call first drains what the IP still holds and brings it back "
    "in step. If it fails again, reload the overlay."
)


class DMATimeout(TimeoutError):
    """The DMA did not finish in time (the IP stopped answering, or lost a frame)."""


class DMAError(RuntimeError):
    """The DMA reported an error in its status register (and halted)."""


class OutputLengthError(DMAError):
    """The IP's output packet (up to TLAST) was shorter than the driver expected."""


class IPOutOfStep(RuntimeError):
    """The IP does not answer as its design says: it could not be brought back in step with the
    driver (frames of another size), or it answers a known frame differently."""


#: after each single word of a synchronization, how long to look for the IP's answer: 50,000
#: cycles at 100 MHz, 28 times the latency of the course's slowest design (the MNIST CNN, 1,775
#: cycles by ``pynq_ia.estimate.stream_cycles``). An IP slower than that would be sent a word
#: too many, and the known-answer probe that follows would say so (IPOutOfStep). Every word
#: that completes no frame waits this long: up to n_in - 1 of them (0.4 s for MNIST's 784).
SYNC_WAIT_S = 0.0005
#: test frames a known-answer probe sends, and how long it waits for their answer
PROBE_FRAMES = 4
PROBE_WAIT_S = 0.1


def find_dma(overlay):
    """The PYNQ driver of the overlay's one AXI DMA, found by type, flat or in a hierarchy."""
    found = [
        name
        for name, ip in overlay.ip_dict.items()
        if str(ip.get("type", "")).startswith(reg.AXI_DMA_TYPE)
    ]
    if len(found) != 1:
        holds = ", ".join(f"{name} ({ip.get('type')})" for name, ip in overlay.ip_dict.items())
        raise OverlayError(
            f"the overlay should hold exactly one AXI DMA ({reg.AXI_DMA_TYPE}*), it holds "
            f"{len(found)}; its IP: {holds or 'none'}"
        )
    # "hier_0/axi_dma_0" is overlay.hier_0.axi_dma_0
    return functools.reduce(getattr, found[0].split("/"), overlay)


@dataclass
class Timing:
    """Where the time of one ``predict`` call went (seconds), and the resulting rate."""

    frames: int = 0
    chunks: int = 0
    encode: float = 0.0
    transfer: float = 0.0
    decode: float = 0.0
    total: float = 0.0
    saturated: int = 0
    chunk_seconds: list[float] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.total if self.total > 0 else float("inf")

    @property
    def latency_us_per_frame(self) -> float:
        return 1e6 * self.total / self.frames if self.frames else float("nan")


class NeuralNetworkOverlay:
    """An hls4ml network behind an AXI DMA, driven through PYNQ.

    ``dma`` is a ``pynq.lib.dma.DMA`` (see :func:`find_dma`); ``device`` the PYNQ device that
    owns the memory (``overlay.device``). ``n_in``/``n_out`` are the values per frame and
    ``input_type``/``output_type`` the AXI word types, e.g.
    ``"ap_fixed<16,6,AP_RND_CONV,AP_SAT>"`` or ``"float"``. Buffers hold ``buffer_frames`` frames.
    """

    def __init__(
        self,
        dma,
        device,
        *,
        n_in: int,
        n_out: int,
        input_type: str,
        output_type: str,
        buffer_frames: int = 1024,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ip_reset_by_dma: bool = False,
        reference: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        import pynq

        if buffer_frames < 1:
            raise ValueError("buffer_frames must be at least 1")
        if n_in < 1 or n_out < 1:
            raise ValueError(f"n_in and n_out must be positive, not {n_in} and {n_out}")
        self.dma = dma
        self.device = device
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.input_format = word_format(input_type)
        self.output_format = word_format(output_type)
        self.buffer_frames = int(buffer_frames)
        self.timeout_s = float(timeout_s)
        self._check_transfer_size()
        #: the DMA's soft reset also resets the IP (the block design wires it so)
        self.ip_reset_by_dma = bool(ip_reset_by_dma)
        #: (frames, the scores the design must give for them): a known-answer probe
        self.reference = None
        if reference is not None:
            self.set_reference(*reference)
        self.input_buffer = pynq.allocate(
            shape=(self.buffer_frames, self.n_in), dtype=self.input_format.dtype, target=device
        )
        self.output_buffer = pynq.allocate(
            shape=(self.buffer_frames, self.n_out), dtype=self.output_format.dtype, target=device
        )
        self.saturated_total = 0
        #: the overlay the DMA belongs to, when the driver was made from one
        self.overlay = None
        #: DMA resets after faults, over the driver's life
        self.resets = 0
        #: words sent by synchronizations to complete a frame the IP held, over the driver's life
        self.realigned_words = 0
        self._needs_drain = False
        self._synced_at = None  # the DMA's fault count when this driver last synchronized
        self._lock = threading.Lock()

    def _check_transfer_size(self) -> None:
        """A buffer larger than one DMA transfer can move is refused here, not at predict time."""
        limit = getattr(self.dma, "buffer_max_size", None)
        frame = max(self.n_in * self.input_format.dtype.itemsize,
                    self.n_out * self.output_format.dtype.itemsize)
        largest = self.buffer_frames * frame
        if limit is not None and largest > limit:
            raise ValueError(
                f"buffer_frames = {self.buffer_frames} frames of {frame} bytes is {largest:,} "
                f"bytes per transfer, more than the DMA's length register allows ({limit:,} "
                f"bytes, c_sg_length_width in the overlay): use at most {limit // frame:,} frames"
            )

    def set_reference(self, x: np.ndarray, scores: np.ndarray) -> None:
        """The known-answer probe: test frames and the scores the design gives for them (its
        C simulation's), checked whenever the driver synchronizes with the IP."""
        x = self._validate(x)[:PROBE_FRAMES]
        scores = np.asarray(scores)[:PROBE_FRAMES]
        if scores.shape != (len(x), self.n_out):
            raise ValueError(f"reference scores {scores.shape} do not fit {len(x)} frames of "
                             f"{self.n_out} values")
        self.reference = (x, scores)

    @classmethod
    def from_overlay(cls, overlay, io: Mapping[str, Any], **kwargs) -> NeuralNetworkOverlay:
        """Driver for a loaded overlay; ``io`` is its manifest's ``io`` section."""
        driver = cls(
            find_dma(overlay),
            overlay.device,
            n_in=io["n_in"],
            n_out=io["n_out"],
            input_type=io["input"],
            output_type=io["output"],
            **kwargs,
        )
        driver.overlay = overlay
        return driver

    @classmethod
    def load(cls, bitfile: str | Path, **kwargs) -> NeuralNetworkOverlay:
        """Download ``<design>.bit`` to the board, after checking it against its manifest."""
        import pynq

        manifest = verify_overlay(bitfile)
        return cls.from_overlay(pynq.Overlay(str(bitfile)), manifest["io"], **kwargs)

    # ------------------------------------------------------------------------------ validation

    def _validate(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind not in "fiu":
            raise TypeError(f"inputs must be numeric, not {x.dtype}")
        if x.ndim == 1 and x.size == self.n_in:
            x = x[None, :]
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != self.n_in:
            raise ValueError(
                f"inputs must have shape (frames, {self.n_in}) or (frames, ...) with "
                f"{self.n_in} values per frame, not {x.shape}"
            )
        x = x.reshape(len(x), self.n_in)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = int(np.count_nonzero(~np.isfinite(x)))
            raise ValueError(f"inputs contain {bad} NaN or infinite values")
        return x

    # -------------------------------------------------------------------------------- transfer

    def _wait(self, channel, name: str, status_register: int, deadline: float) -> None:
        """Poll a channel until idle; raise on a DMA error or when the deadline passes."""
        receiving = status_register == reg.DMA_REGISTERS["S2MM_DMASR"]
        while not channel.idle:
            if channel.error:
                # an error halts the channel: PYNQ's wait() would only say "not started"
                status = self.dma.mmio.read(status_register)
                message = f"DMA {name}: " + "; ".join(reg.describe_status(status))
                if status & reg.DMASR_INTERNAL_ERROR and receiving:
                    message += (
                        f". The IP sent more than the driver has room for: its output frames "
                        f"are longer than n_out = {self.n_out} values, or its input frames "
                        f"shorter than n_in = {self.n_in} words (it then answers more frames "
                        "than it is sent)."
                    )
                raise DMAError(message)
            if time.perf_counter() > deadline:
                hint = (f"its input frames may be longer than n_in = {self.n_in} words (it then "
                        "waits for the rest of the last one), or it stopped answering"
                        if receiving else "it takes no more input")
                raise DMATimeout(
                    f"DMA {name} did not finish within {self.timeout_s:g} s: the IP ended no "
                    f"frame it was sent: {hint} (wrong overlay, or a frame lost)."
                )
        channel.wait()  # idle now: invalidates the receive buffer and records the length

    def _short_output(self, received: int, frames: int) -> str:
        """Why a packet ended early, with the numbers that tell n_in from n_out."""
        size = self.output_format.dtype.itemsize
        expected = frames * self.n_out * size
        head = (f"received {received} bytes, expected {expected} ({frames} frames of "
                f"{self.n_out} {size}-byte words): the IP ended its output (TLAST) early. ")
        words = received // size
        if received % size == 0 and words % self.n_out == 0:
            return head + (
                f"It answered {words // self.n_out} whole frames of n_out = {self.n_out} values "
                f"for the {frames} it was sent: does it take more than n_in = {self.n_in} words "
                "per frame? (It then completes fewer frames than it is sent.)"
            )
        return head + (f"{words} words are no whole number of frames of n_out = {self.n_out} "
                       "values: does the driver's n_out match the IP?")

    def _transfer(self, frames: int, wait_s: float | None = None) -> None:
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        bytes_out = frames * self.n_out * self.output_format.dtype.itemsize
        deadline = time.perf_counter() + (self.timeout_s if wait_s is None else wait_s)
        # slices of the buffers: PYNQ flushes (send) and invalidates (receive) the CPU caches
        # over the bytes of the array it is given, so only the frames in use are touched
        send.transfer(self.input_buffer[:frames])
        recv.transfer(self.output_buffer[:frames])
        self._wait(send, "send (MM2S)", reg.DMA_REGISTERS["MM2S_DMASR"], deadline)
        self._wait(recv, "receive (S2MM)", reg.DMA_REGISTERS["S2MM_DMASR"], deadline)
        if recv.transferred != bytes_out:
            raise OutputLengthError(self._short_output(recv.transferred, frames))

    def _soft_reset(self) -> None:
        """PG021's soft reset (either channel's reset bit resets both), then restart the channels.
        Where the block design wires the DMA's stream-side reset outputs to the IP, it resets the
        IP too."""
        mmio = self.dma.mmio
        mmio.write(reg.DMA_REGISTERS["MM2S_DMACR"], reg.DMACR_RESET)
        deadline = time.perf_counter() + self.timeout_s
        while mmio.read(reg.DMA_REGISTERS["MM2S_DMACR"]) & reg.DMACR_RESET:
            if time.perf_counter() > deadline:
                raise DMATimeout("the DMA did not come out of its reset: reload the overlay")
        self.dma.sendchannel.start()
        self.dma.recvchannel.start()

    def reset_dma(self) -> None:
        """Soft-reset the DMA after a fault (counted in :attr:`resets`), then restart it."""
        self._soft_reset()
        self.resets += 1

    def _drain(self) -> None:
        """Receive and drop whatever output the IP still holds from a failed call."""
        recv = self.dma.recvchannel
        status = reg.DMA_REGISTERS["S2MM_DMASR"]
        for _ in range(MAX_DRAINED_PACKETS):
            recv.transfer(self.output_buffer)
            try:
                self._wait(recv, "drain", status, time.perf_counter() + DRAIN_WAIT_S)
            except DMATimeout:
                break  # nothing more is coming
            except DMAError:
                self.reset_dma()  # a packet longer than the buffer: drop it and go on
        self.reset_dma()  # ends the receive that is still waiting
        self._needs_drain = False

    def _dma_ready(self) -> bool:
        """Both channels running and free of errors."""
        channels = (self.dma.sendchannel, self.dma.recvchannel)
        return all(channel.running and not channel.error for channel in channels)

    def _faults(self) -> int:
        """Faults on this DMA, by any driver of it (the count lives on PYNQ's DMA object, which
        every driver made from the same overlay shares)."""
        return getattr(self.dma, "_pynq_ia_faults", 0)

    def _transfer_or_recover(self, frames: int) -> None:
        try:
            self._transfer(frames)
        except (DMATimeout, DMAError) as fault:
            self.reset_dma()
            self._needs_drain = True
            self.dma._pynq_ia_faults = self._faults() + 1  # every driver of it resynchronizes
            fault.args = (f"{fault.args[0]} {RECOVERY_NOTE}",)
            raise

    # ------------------------------------------------------------------------ synchronization

    def synchronize(self) -> int:
        """Bring the IP in step with this driver and check that it answers as its design says.

        Wired designs (the DMA's soft reset resets the IP) are reset; otherwise, unless the
        known-answer probe already passes, single words, each with TLAST, are sent until the IP
        answers a frame: it then holds no partial frame. The probe (when the driver has a
        reference) must then pass. Returns the words sent; raises :class:`IPOutOfStep`.
        """
        with self._lock:
            return self._synchronize()

    def _synchronize(self) -> int:
        if not self._dma_ready():
            self.reset_dma()
        words = 0
        if self.ip_reset_by_dma:
            self._soft_reset()  # the IP's partial frame and unread results go with the DMA's
        else:
            self._drain()  # unread results first: they would be taken for answers
            if self.reference is None or not self._probe_passes():
                words = self._realign()
        self._needs_drain = False
        if self.reference is not None and not self._probe_passes():
            raise IPOutOfStep(
                f"the IP answers its design's test frames differently from their reference "
                f"scores{' after ' + str(words) + ' words realigned it' if words else ''}: it is "
                "not the design of this driver (another overlay, or other word types). Reload "
                "the overlay of this design."
            )
        self._synced_at = self._faults()
        return words

    def _probe_passes(self) -> bool:
        """The known-answer probe: the reference frames give exactly the reference scores."""
        x, expected = self.reference
        count = len(x)
        self.input_format.encode(x, out=self.input_buffer[:count])
        try:
            self._transfer(count, wait_s=min(self.timeout_s, PROBE_WAIT_S))
        except (DMATimeout, DMAError):  # out of step: its answer came cut or not at all
            self.reset_dma()
            self._drain()
            return False
        got = self.output_format.decode(self.output_buffer[:count])
        return bool(np.array_equal(got, expected))

    def _realign(self) -> int:
        """Send single words (each with TLAST) until the IP answers a frame; the words sent."""
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        word = self.input_buffer[0, :1]
        word[:] = 0
        recv.transfer(self.output_buffer[:1])  # room for the one frame it will answer
        for sent in range(1, self.n_in + 1):
            send.transfer(word)
            self._wait(send, "synchronize (MM2S)", reg.DMA_REGISTERS["MM2S_DMASR"],
                       time.perf_counter() + self.timeout_s)
            deadline = time.perf_counter() + SYNC_WAIT_S
            while not recv.idle and not recv.error and time.perf_counter() < deadline:
                pass
            if recv.idle or recv.error:
                if recv.error:  # more than one frame of n_out values came back
                    self.reset_dma()
                    raise IPOutOfStep(
                        f"synchronizing: the IP answered more than n_out = {self.n_out} values "
                        "for one frame: does n_out match the IP?"
                    )
                recv.wait()
                self.realigned_words += sent
                return sent
        self.reset_dma()
        raise IPOutOfStep(
            f"synchronizing: the IP answered no frame after n_in = {self.n_in} single words: its "
            "frames take more input words than this driver's n_in (another design?)"
        )

    # --------------------------------------------------------------------------------- predict

    def predict(self, x: np.ndarray, *, timing: bool = False):
        """Class scores (frames, n_out) for inputs (frames, n_in); with ``timing`` also a Timing."""
        start = time.perf_counter()
        x = self._validate(x)
        frames = len(x)
        out = np.empty((frames, self.n_out), dtype=self.output_format.float_dtype)
        stats = Timing(frames=frames)
        with self._lock:  # one call at a time: the buffers and the DMA are shared
            if not self._dma_ready():  # halted or in error: e.g. a raw transfer went wrong
                self.reset_dma()
                self._needs_drain = True
            if self._needs_drain or self._synced_at != self._faults():
                self._synchronize()  # a fault here or on another driver of this DMA, or new
            for first in range(0, frames, self.buffer_frames):
                count = min(self.buffer_frames, frames - first)
                t0 = time.perf_counter()
                _, saturated = self.input_format.encode(
                    x[first : first + count], out=self.input_buffer[:count]
                )
                t1 = time.perf_counter()
                self._transfer_or_recover(count)
                t2 = time.perf_counter()
                self.output_format.decode(
                    self.output_buffer[:count], out=out[first : first + count]
                )
                t3 = time.perf_counter()
                stats.encode += t1 - t0
                stats.transfer += t2 - t1
                stats.decode += t3 - t2
                stats.saturated += saturated
                stats.chunks += 1
                stats.chunk_seconds.append(t3 - t0)
            self.saturated_total += stats.saturated
        stats.total = time.perf_counter() - start
        return (out, stats) if timing else out

    @property
    def buffer_addresses(self) -> tuple[int, int]:
        """Physical addresses of the input and output buffers (stable for the driver's life)."""
        return self.input_buffer.physical_address, self.output_buffer.physical_address
