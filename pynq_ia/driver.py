"""The board-side driver: DMA inference on a course overlay with PYNQ (numpy + pynq only).

The same code runs on a PYNQ-Z2 (``pynq.Overlay`` of ``hw_builds/<design>/<design>.bit``) and on
the emulated board of :mod:`pynq_ia.emulation`; it talks to PYNQ's own ``pynq.lib.dma.DMA``.

What :meth:`NeuralNetworkOverlay.predict` does for a batch of any size:

1. validates the input (shape, numeric dtype, no NaN/inf);
2. encodes it to the IP's ``ap_fixed`` words in vectorized numpy, straight into the DMA input
   buffer, rounding and saturating as the IP's type does, and counts saturated values;
3. transfers it in chunks that fit the buffers (allocated once, reused, never replaced), with a
   timeout on every wait: a stuck DMA raises :class:`DMATimeout` instead of hanging;
4. decodes the output words into a new float array (the DMA buffer stays the DMA's).

It imports neither TensorFlow nor hls4ml, and works with PYNQ 3.0 and 3.1.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia.dma_registers import DMA_REGISTERS, describe_status
from pynq_ia.fixed_point import FixedPoint

DEFAULT_TIMEOUT_S = 2.0
DEVICE_TREE_COMPATIBLE = Path("/proc/device-tree/compatible")


def running_on_board(compatible: Path = DEVICE_TREE_COMPATIBLE) -> bool:
    """True on a Zynq-7000 board (where a PYNQ image can load bitstreams with ``pynq.Overlay``).

    The board's device tree names the SoC family; x86 machines have no device tree at all.
    """
    try:
        return b"xlnx,zynq-7000" in Path(compatible).read_bytes()
    except OSError:
        return False


class DMATimeout(TimeoutError):
    """The DMA did not finish in time (the IP stopped answering, or lost a frame)."""


class DMAError(RuntimeError):
    """The DMA reported an error in its status register (and halted)."""


class OverlayError(RuntimeError):
    """An overlay is incomplete, unverified or does not match its manifest."""


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks (here so the board package has it too)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_overlay(bitfile: str | Path) -> dict[str, Any]:
    """The manifest of ``<design>.bit``, after checking it and its ``.hwh`` against it.

    Both files and ``manifest.json`` must sit together, and each file's sha256 must be the
    manifest's: a stale or corrupted overlay is refused rather than run.
    """
    bit = Path(bitfile)
    hwh = bit.with_suffix(".hwh")
    present = [p for p in (bit, hwh) if p.is_file()]
    if len(present) != 2:
        found = present[0].name if present else "neither file"
        raise OverlayError(f"{bit.stem}: found {found} but not its partner (.bit + .hwh)")
    manifest_file = bit.parent / "manifest.json"
    if not manifest_file.is_file():
        raise OverlayError(f"{bit.stem}: overlay files without manifest.json, cannot verify them")
    manifest = json.loads(manifest_file.read_text())
    for path in (bit, hwh):
        expected = manifest.get("sha256", {}).get(path.name)
        actual = sha256_file(path)
        if expected != actual:
            raise OverlayError(
                f"{path} does not match its manifest: sha256 {actual[:16]}..., "
                f"manifest {str(expected)[:16]}... (rebuild it or restore the right file)"
            )
    return manifest


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

    ``dma`` is a ``pynq.lib.dma.DMA`` (``overlay.axi_dma`` on the board); ``device`` the PYNQ
    device that owns the memory (``overlay.device``). ``n_in``/``n_out`` are the values per
    frame and ``input_type``/``output_type`` the AXI word types, e.g.
    ``"ap_fixed<16,6,AP_RND_CONV,AP_SAT>"``. Buffers hold ``buffer_frames`` frames.
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
        self.dma = dma
        self.device = device
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.input_format = FixedPoint.parse(input_type)
        self.output_format = FixedPoint.parse(output_type)
        self.buffer_frames = int(buffer_frames)
        self.timeout_s = float(timeout_s)
        self.input_buffer = pynq.allocate(
            shape=(self.buffer_frames, self.n_in), dtype=self.input_format.dtype, target=device
        )
        self.output_buffer = pynq.allocate(
            shape=(self.buffer_frames, self.n_out), dtype=self.output_format.dtype, target=device
        )
        self.saturated_total = 0

    @classmethod
    def from_overlay(cls, overlay, manifest: dict[str, Any], **kwargs) -> NeuralNetworkOverlay:
        """Driver for a loaded ``pynq.Overlay`` described by its ``manifest.json``."""
        io = manifest["io"]
        return cls(
            overlay.axi_dma,
            overlay.device,
            n_in=io["n_in"],
            n_out=io["n_out"],
            input_type=io["input"],
            output_type=io["output"],
            **kwargs,
        )

    @classmethod
    def load(cls, bitfile: str | Path, **kwargs) -> NeuralNetworkOverlay:
        """Download ``<design>.bit`` to the board, after checking it against its manifest."""
        import pynq

        manifest = verify_overlay(bitfile)
        return cls.from_overlay(pynq.Overlay(str(bitfile)), manifest, **kwargs)

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
                raise DMAError(f"DMA {name}: " + "; ".join(describe_status(status)))
            if time.perf_counter() > deadline:
                raise DMATimeout(
                    f"DMA {name} did not finish within {self.timeout_s:g} s: the IP is not "
                    "answering (wrong overlay, or a frame was lost). Reload the overlay."
                )
        channel.wait()  # idle now: invalidates the receive buffer and records the length

    def _transfer(self, frames: int) -> None:
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        bytes_in = frames * self.n_in * self.input_format.dtype.itemsize
        bytes_out = frames * self.n_out * self.output_format.dtype.itemsize
        deadline = time.perf_counter() + self.timeout_s
        send.transfer(self.input_buffer, nbytes=bytes_in)
        recv.transfer(self.output_buffer, nbytes=bytes_out)
        self._wait(send, "send (MM2S)", DMA_REGISTERS["MM2S_DMASR"], deadline)
        self._wait(recv, "receive (S2MM)", DMA_REGISTERS["S2MM_DMASR"], deadline)
        if recv.transferred != bytes_out:
            raise RuntimeError(f"received {recv.transferred} bytes, expected {bytes_out}")

    # --------------------------------------------------------------------------------- predict

    def predict(self, x: np.ndarray, *, timing: bool = False):
        """Class scores (frames, n_out) for inputs (frames, n_in); with ``timing`` also a Timing."""
        start = time.perf_counter()
        x = self._validate(x)
        frames = len(x)
        out = np.empty((frames, self.n_out), dtype=self.output_format.float_dtype)
        stats = Timing(frames=frames)
        for first in range(0, frames, self.buffer_frames):
            count = min(self.buffer_frames, frames - first)
            t0 = time.perf_counter()
            _, saturated = self.input_format.encode(
                x[first : first + count], out=self.input_buffer[:count]
            )
            t1 = time.perf_counter()
            self._transfer(count)
            t2 = time.perf_counter()
            self.output_format.decode(self.output_buffer[:count], out=out[first : first + count])
            t3 = time.perf_counter()
            stats.encode += t1 - t0
            stats.transfer += t2 - t1
            stats.decode += t3 - t2
            stats.saturated += saturated
            stats.chunks += 1
            stats.chunk_seconds.append(t3 - t0)
        stats.total = time.perf_counter() - start
        self.saturated_total += stats.saturated
        return (out, stats) if timing else out

    @property
    def buffer_addresses(self) -> tuple[int, int]:
        """Physical addresses of the input and output buffers (stable for the driver's life)."""
        return self.input_buffer.physical_address, self.output_buffer.physical_address


@dataclass
class DesignSession:
    """A driver ready to run, with the test frames and the expected (C-simulation) scores."""

    name: str
    driver: NeuralNetworkOverlay
    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    reference_scores: np.ndarray
    fidelity: str  # "board" or "emulation"


def open_board_design(name: str, folder: str | Path = ".", **kwargs) -> DesignSession:
    """On the PYNQ-Z2: the overlay and test data of a board package (``hw_builds`` package)."""
    folder = Path(folder)
    driver = NeuralNetworkOverlay.load(folder / f"{name}.bit", **kwargs)
    with np.load(folder / "test_data.npz") as data:
        return DesignSession(
            name,
            driver,
            data["x"],
            data["y"],
            tuple(str(c) for c in data["class_names"]),
            data["hls4ml_scores"],
            "board",
        )


def batch_sweep(
    driver: NeuralNetworkOverlay, x: np.ndarray, sizes: list[int], repeats: int = 5
) -> list[dict[str, float]]:
    """Best-of-``repeats`` wall time of ``predict`` for each batch size (frames from ``x``)."""
    rows = []
    for size in sizes:
        batch = np.resize(x, (size, *x.shape[1:]))
        best = min(
            (driver.predict(batch, timing=True)[1] for _ in range(repeats)), key=lambda t: t.total
        )
        rows.append(
            {
                "batch": size,
                "seconds": best.total,
                "frames_per_second": best.frames_per_second,
                "us_per_frame": best.latency_us_per_frame,
                "encode_s": best.encode,
                "transfer_s": best.transfer,
                "decode_s": best.decode,
            }
        )
    return rows


def fit_cost_model(rows: list[dict[str, float]]) -> dict[str, float]:
    """Fit seconds = fixed + per_frame * batch over a :func:`batch_sweep`.

    Residuals are weighted relative to each time, so that the small batches (which carry the
    fixed cost) count as much as the large ones (which carry the per-frame cost).
    """
    batch = np.array([r["batch"] for r in rows], dtype=float)
    seconds = np.array([r["seconds"] for r in rows])
    per_frame, fixed = np.polyfit(batch, seconds, 1, w=1.0 / seconds)
    return {"fixed_us": 1e6 * fixed, "per_frame_us": 1e6 * per_frame}


def one_vs_rest_auc(scores: np.ndarray, labels: np.ndarray) -> list[float]:
    """ROC AUC of each class against the rest, with numpy only (ties count one half).

    The AUC is the probability that a random frame of the class scores higher than a random
    frame of another class (Mann-Whitney U), computed from average ranks.
    """
    aucs = []
    for c in range(scores.shape[1]):
        values = scores[:, c]
        order = np.argsort(values, kind="mergesort")
        sorted_values = values[order]
        ranks = np.empty(len(values), dtype=np.float64)
        # average ranks over runs of equal scores
        _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
        average = first + (counts + 1) / 2.0
        ranks[order] = np.repeat(average, counts)
        positive = labels == c
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            aucs.append(float("nan"))
            continue
        aucs.append(float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)))
    return aucs
