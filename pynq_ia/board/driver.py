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
   :class:`DMAError`, and a result shorter than asked (the IP ended its packet with TLAST early:
   a wrong ``n_out``) raises :class:`OutputLengthError`. After any of them the driver resets the
   DMA (PG021 soft reset, then restart) and, before its next transfer, receives and drops what
   the IP may still hold, so the next call works or fails with a reason;
4. decodes the output words into a new float array (the DMA buffer stays the DMA's).

``predict`` is safe to call from several threads: calls run one after the other. It imports
neither TensorFlow nor hls4ml, and works with PYNQ 3.0 and 3.1 (Python 3.10 on the board).
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
    "The DMA was reset; the next call first drains what the IP still holds. If it fails again, "
    "reload the overlay."
)


class DMATimeout(TimeoutError):
    """The DMA did not finish in time (the IP stopped answering, or lost a frame)."""


class DMAError(RuntimeError):
    """The DMA reported an error in its status register (and halted)."""


class OutputLengthError(DMAError):
    """The IP's output packet (up to TLAST) was shorter than the driver expected."""


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
        self._needs_drain = False
        self._lock = threading.Lock()

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
        while not channel.idle:
            if channel.error:
                # an error halts the channel: PYNQ's wait() would only say "not started"
                status = self.dma.mmio.read(status_register)
                message = f"DMA {name}: " + "; ".join(reg.describe_status(status))
                if status & reg.DMASR_INTERNAL_ERROR and status_register == reg.DMA_REGISTERS[
                    "S2MM_DMASR"
                ]:
                    message += (
                        f". Does the IP send more than n_out = {self.n_out} values per frame?"
                    )
                raise DMAError(message)
            if time.perf_counter() > deadline:
                raise DMATimeout(
                    f"DMA {name} did not finish within {self.timeout_s:g} s: the IP is not "
                    "answering (wrong overlay, or a frame was lost)."
                )
        channel.wait()  # idle now: invalidates the receive buffer and records the length

    def _transfer(self, frames: int) -> None:
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        bytes_out = frames * self.n_out * self.output_format.dtype.itemsize
        deadline = time.perf_counter() + self.timeout_s
        # slices of the buffers: PYNQ flushes (send) and invalidates (receive) the CPU caches
        # over the bytes of the array it is given, so only the frames in use are touched
        send.transfer(self.input_buffer[:frames])
        recv.transfer(self.output_buffer[:frames])
        self._wait(send, "send (MM2S)", reg.DMA_REGISTERS["MM2S_DMASR"], deadline)
        self._wait(recv, "receive (S2MM)", reg.DMA_REGISTERS["S2MM_DMASR"], deadline)
        if recv.transferred != bytes_out:
            raise OutputLengthError(
                f"received {recv.transferred} bytes, expected {bytes_out} ({frames} frames of "
                f"{self.n_out} {self.output_format.dtype.itemsize}-byte words): the IP ended its "
                f"output (TLAST) early. Does the driver's n_out = {self.n_out} match the IP?"
            )

    def reset_dma(self) -> None:
        """Soft-reset the DMA (PG021: either channel's reset bit resets both), then restart it."""
        mmio = self.dma.mmio
        mmio.write(reg.DMA_REGISTERS["MM2S_DMACR"], reg.DMACR_RESET)
        deadline = time.perf_counter() + self.timeout_s
        while mmio.read(reg.DMA_REGISTERS["MM2S_DMACR"]) & reg.DMACR_RESET:
            if time.perf_counter() > deadline:
                raise DMATimeout("the DMA did not come out of its reset: reload the overlay")
        self.dma.sendchannel.start()
        self.dma.recvchannel.start()
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

    def _transfer_or_recover(self, frames: int) -> None:
        try:
            self._transfer(frames)
        except (DMATimeout, DMAError) as fault:
            self.reset_dma()
            self._needs_drain = True
            fault.args = (f"{fault.args[0]} {RECOVERY_NOTE}",)
            raise

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
            if self._needs_drain:
                self._drain()
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
