"""What one ``predict`` call costs on a PYNQ-Z2: a model, each parameter cited or fitted to
published board runs (:mod:`pynq_ia.board.board_runs`).

A driver encodes, transfers and decodes one after another (:mod:`pynq_ia.board.driver`: the
processor waits for the DMA), so for N frames sent in chunks of B::

    time(N) = per call + ceil(N / B) x per transfer + N x (host per frame + PL per frame)

- **PL per frame** (cited): the fabric's steady-state time for one frame,
  ``max(IP cycles, DMA beats) / FCLK0``. hls4ml's io_parallel AXI wrapper reads the N_IN input
  words in a pipelined loop (one word per clock), then calls the network, then writes the N_OUT
  output words, one after the other (``hls4ml/writer/vivado_accelerator_writer.py``; DATAFLOW is
  added for io_stream only), so the IP takes about N_IN + latency + N_OUT cycles per frame, plus
  the loops' pipeline depths: the Vivado HLS report of the hls4ml tutorial's jet tagger shows
  23 + 55 + 13 cycles and an interval of 95 (:data:`WRAPPER_OVERHEAD_CYCLES` is what the report
  adds to 16 + 55 + 5). The AXI DMA moves one beat of its memory-map width per clock (Xilinx
  PG021: 32 bits here) and the stream one word per clock; whichever is slowest sets the pace.
  The first frame of a transfer also waits the IP's latency (once per transfer).
- **Host per frame** (fitted): the Cortex-A9's work on the frame's bytes: copying the frame into
  the DMA buffer (or encoding it there), flushing those bytes from the caches, invalidating the
  result's, decoding or copying it out. What a driver does per frame is a :class:`Driver`; each
  byte of each pass costs ``per_byte_s``, fitted to the board runs. A numpy encode to ``ap_fixed``
  words makes :data:`ENCODE_PASSES` passes over float32 values, a decode :data:`DECODE_PASSES`
  (counted in :mod:`pynq_ia.board.words`).
- **Per transfer and per call** (fitted): Python, PYNQ's DMA register writes, polling and the
  cache system calls of one send + receive, and whatever the driver does once per call (a
  driver that allocates its buffers on every call pays for that here).

:func:`fit` finds the host parameters that make the model reproduce a set of runs;
:func:`predict` uses them for any design, word format, clock and chunk size; :func:`knee`
chooses the chunk size beyond which larger transfers gain little. Every result says it is a
**model**, not a measurement. numpy and the standard library only: it runs on the board too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from pynq_ia.board.board_runs import BoardRun
from pynq_ia.board.dma_registers import MEMORY_MAP_BITS

#: cycles hls4ml's io_parallel wrapper adds to N_IN + latency + N_OUT: the report of the
#: tutorial's jet tagger shows an interval of 95 = 16 + 55 + 5 + 19 (its loops' pipeline depths
#: and the wrapper's states)
WRAPPER_OVERHEAD_CYCLES = 19
#: the AXI DMA's memory-map data width (bytes per beat, one beat per clock: Xilinx PG021)
DMA_BYTES_PER_CYCLE = MEMORY_MAP_BITS // 8
#: element-wise numpy passes of the course driver's encode to ap_fixed words (scale, round,
#: two range tests, clip, cast; pynq_ia/board/words.py FixedPoint.encode) and of its decode
ENCODE_PASSES = 6
DECODE_PASSES = 1
#: the chunk size is where the per-transfer cost falls below this share of a frame's cost
KNEE_SHARE = 0.05


@dataclass(frozen=True)
class Driver:
    """What a driver does with each frame: bytes it handles per input and per output value
    (each pass over a buffer counts its bytes), and whether it allocates buffers per call."""

    name: str
    #: bytes handled per input value: copy or encode into the DMA buffer, cache flush, ...
    input_bytes: float
    #: bytes handled per output value: cache invalidate, copy or decode out
    output_bytes: float
    #: True: the driver allocates its DMA buffers on every call (hls4ml's driver before 2021-11)
    allocates_per_call: bool = False

    def bytes_per_frame(self, n_in: int, n_out: int) -> float:
        return self.input_bytes * n_in + self.output_bytes * n_out


#: the drivers of the published runs, with 32-bit float words
DRIVERS = {
    # copy in (4 B), flush (4 B); invalidate (4 B), the buffer itself is returned
    "hls4ml": Driver("hls4ml's PYNQ driver", input_bytes=8, output_bytes=4),
    # copy in, flush, and a second flush of the input after the call; invalidate and copy out
    "allocates per call": Driver("the original project's driver", input_bytes=12,
                                 output_bytes=8, allocates_per_call=True),
}


def course_driver(in_word_bytes: int, out_word_bytes: int, fixed_point: bool) -> Driver:
    """The course driver (pynq_ia.board.driver) for its words: encode into the buffer, flush the
    bytes in use, invalidate them, decode into a new array. An ap_fixed encode makes
    :data:`ENCODE_PASSES` passes over float32 values (4 bytes each) before it writes the word; a
    float encode is one copy."""
    if fixed_point:
        encode = ENCODE_PASSES * 4 + in_word_bytes
        decode = DECODE_PASSES * (out_word_bytes + 4)
    else:
        encode, decode = in_word_bytes, out_word_bytes
    return Driver("course driver", input_bytes=encode + in_word_bytes,
                  output_bytes=out_word_bytes + decode)


@dataclass(frozen=True)
class Fabric:
    """The PL side of one design: frame sizes, words, the IP's cycles and FCLK0."""

    n_in: int
    n_out: int
    in_word_bytes: int
    out_word_bytes: int
    #: the IP's cycles per frame in steady state (its interval)
    ip_cycles: float
    fclk0_mhz: float
    #: the IP's latency (cycles), waited once per transfer; default: one interval
    ip_latency: float | None = None

    @property
    def in_bytes(self) -> int:
        return self.n_in * self.in_word_bytes

    @property
    def out_bytes(self) -> int:
        return self.n_out * self.out_word_bytes

    @property
    def cycles_per_frame(self) -> float:
        """The slowest of the IP, the DMA's memory side and the streams, per frame."""
        dma = max(math.ceil(self.in_bytes / DMA_BYTES_PER_CYCLE),
                  math.ceil(self.out_bytes / DMA_BYTES_PER_CYCLE))
        return max(self.ip_cycles, dma, self.n_in, self.n_out)

    @property
    def seconds_per_frame(self) -> float:
        return self.cycles_per_frame / (self.fclk0_mhz * 1e6)

    @property
    def fill_seconds(self) -> float:
        latency = self.ip_cycles if self.ip_latency is None else self.ip_latency
        return latency / (self.fclk0_mhz * 1e6)


def io_parallel_cycles(n_in: int, n_out: int, latency: float) -> float:
    """hls4ml's io_parallel wrapper: read N_IN words, run the network, write N_OUT words."""
    return n_in + latency + n_out + WRAPPER_OVERHEAD_CYCLES


@dataclass(frozen=True)
class Host:
    """The processor's costs (Cortex-A9, PYNQ): fitted to board runs."""

    per_byte_s: float
    per_transfer_s: float
    #: once per call, besides the transfers (e.g. allocating buffers), for drivers that do so
    per_call_s: float = 0.0
    fitted_on: str = ""


@dataclass(frozen=True)
class Prediction:
    """The model's time of one call, and where it goes (seconds); every number is a model."""

    frames: int
    chunks: int
    per_call: float
    transfers: float
    host: float
    pl: float

    @property
    def total(self) -> float:
        return self.per_call + self.transfers + self.host + self.pl

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.total

    @property
    def us_per_frame(self) -> float:
        return 1e6 * self.total / self.frames


def predict(fabric: Fabric, driver: Driver, host: Host, frames: int,
            chunk: int | None = None) -> Prediction:
    """The model's time for one call of ``frames`` frames in chunks of ``chunk`` (all at once
    when None)."""
    if frames < 1:
        raise ValueError("frames must be at least 1")
    chunk = frames if chunk is None else max(1, min(chunk, frames))
    chunks = math.ceil(frames / chunk)
    per_call = host.per_call_s if driver.allocates_per_call else 0.0
    bytes_per_frame = driver.bytes_per_frame(fabric.n_in, fabric.n_out)
    return Prediction(
        frames=frames,
        chunks=chunks,
        per_call=per_call,
        transfers=chunks * (host.per_transfer_s + fabric.fill_seconds),
        host=frames * bytes_per_frame * host.per_byte_s,
        pl=frames * fabric.seconds_per_frame,
    )


def run_fabric(run: BoardRun, ip_cycles: float | None = None) -> Fabric:
    """The fabric of a published run (its IP's cycles from its report, or as given)."""
    cycles = run.ip_cycles if ip_cycles is None else ip_cycles
    if cycles is None:
        raise ValueError(f"{run.name}: no published IP cycles; give them")
    return Fabric(run.n_in, run.n_out, run.word_bytes, run.word_bytes, cycles, run.fclk0_mhz)


def predict_run(run: BoardRun, host: Host, ip_cycles: float | None = None) -> np.ndarray:
    """The model's seconds for each call of a published run (one transfer per call)."""
    fabric, driver = run_fabric(run, ip_cycles), DRIVERS[run.driver]
    return np.array([predict(fabric, driver, host, frames).total for frames in run.frames])


def relative_errors(run: BoardRun, host: Host, ip_cycles: float | None = None) -> np.ndarray:
    """(model - measured) / measured for each call of a run."""
    measured = np.array(run.seconds)
    return (predict_run(run, host, ip_cycles) - measured) / measured


def fit(runs: tuple[BoardRun, ...], *, label: str) -> Host:
    """The host parameters that reproduce ``runs`` best (least squares on relative errors).

    The model is linear in them, given each run's IP cycles: per byte, per transfer and (for a
    driver that allocates per call) per call. A run without published IP cycles cannot be fitted
    on: its PL share would be one more unknown per design.
    """
    rows, targets = [], []
    allocates = any(DRIVERS[run.driver].allocates_per_call for run in runs)
    for run in runs:
        fabric, driver = run_fabric(run), DRIVERS[run.driver]
        per_frame_bytes = driver.bytes_per_frame(fabric.n_in, fabric.n_out)
        for frames, seconds in run.points:
            known = frames * fabric.seconds_per_frame + fabric.fill_seconds
            row = [frames * per_frame_bytes, 1.0]
            if allocates:
                row.append(1.0 if driver.allocates_per_call else 0.0)
            # relative: small and large calls count alike
            rows.append([value / seconds for value in row])
            targets.append((seconds - known) / seconds)
    if len(rows) < len(rows[0]):
        raise ValueError(f"{len(rows)} points cannot fix {len(rows[0])} parameters")
    solution, *_ = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)
    per_byte, per_transfer = float(solution[0]), float(solution[1])
    per_call = float(solution[2]) if allocates else 0.0
    if per_byte <= 0 or per_transfer < 0:
        raise ValueError(f"no physical fit on {label}: {solution}")
    if allocates and len(runs) == sum(DRIVERS[r.driver].allocates_per_call for r in runs):
        # a per-call cost and a per-transfer cost cannot be told apart with one transfer per call
        per_call, per_transfer = per_call + per_transfer, 0.0
    return Host(per_byte, per_transfer, per_call, fitted_on=label)


def implied_ip_cycles(run: BoardRun, host: Host) -> float:
    """The IP cycles per frame that make the model meet a run's large calls: what the run says
    about an IP whose report is not published (its slope minus the host's share)."""
    driver = DRIVERS[run.driver]
    frames, seconds = np.array(run.frames, dtype=float), np.array(run.seconds)
    slope = np.polyfit(frames, seconds, 1, w=1.0 / seconds)[0]
    host_share = driver.bytes_per_frame(run.n_in, run.n_out) * host.per_byte_s
    return float((slope - host_share) * run.fclk0_mhz * 1e6)


def knee(fabric: Fabric, driver: Driver, host: Host, *, share: float = KNEE_SHARE,
         max_bytes: int | None = None) -> int:
    """The chunk size (a power of two) from which the per-transfer cost is at most ``share`` of
    a chunk's time: larger transfers would gain less than that. ``max_bytes``: the DMA's length
    register limit for one transfer."""
    per_frame = predict(fabric, driver, host, 1).host + fabric.seconds_per_frame
    per_transfer = host.per_transfer_s + fabric.fill_seconds
    frames = per_transfer * (1 - share) / (share * per_frame)
    chunk = 2 ** max(0, math.ceil(math.log2(max(frames, 1.0))))
    if max_bytes is not None:
        largest = max(1, max_bytes // max(fabric.in_bytes, fabric.out_bytes))
        while chunk > largest:
            chunk //= 2
    return chunk


def with_clock(fabric: Fabric, fclk0_mhz: float) -> Fabric:
    return replace(fabric, fclk0_mhz=fclk0_mhz)


def reference_host() -> Host:
    """The host costs the model predicts the course's designs with: fitted on the hls4ml re-run
    (PYNQ 3.1, buffers allocated once: the course driver's situation; the original project's
    runs used PYNQ 2.x and allocated per call)."""
    from pynq_ia.board.board_runs import HLS4ML_JET

    return fit((HLS4ML_JET,), label=HLS4ML_JET.source)


def fabric_from_manifest(manifest: dict) -> Fabric:
    """A design's fabric from its manifest: frame sizes and words (``io``), FCLK0 and the IP's
    cycles per frame (``ip``: from a Vivado HLS report, or an estimate, as it says)."""
    from pynq_ia.board.words import word_format

    io, ip = manifest["io"], manifest.get("ip")
    if not ip:
        raise ValueError(f"{manifest.get('design')}: the manifest records no IP cycles")
    return Fabric(io["n_in"], io["n_out"], word_format(io["input"]).dtype.itemsize,
                  word_format(io["output"]).dtype.itemsize, float(ip["cycles_per_frame"]),
                  float(manifest.get("fclk0_mhz", 100.0)),
                  ip_latency=float(ip.get("latency_cycles") or ip["cycles_per_frame"]))


def manifest_driver(manifest: dict) -> Driver:
    """The course driver for a manifest's words."""
    from pynq_ia.board.words import FixedPoint, word_format

    io = manifest["io"]
    in_format, out_format = word_format(io["input"]), word_format(io["output"])
    return course_driver(in_format.dtype.itemsize, out_format.dtype.itemsize,
                         isinstance(in_format, FixedPoint))


def chunk_frames(manifest: dict, max_transfer_bytes: int) -> int:
    """The frames per DMA transfer for a design: the model's knee (larger transfers would save
    less than :data:`KNEE_SHARE` of the time), within the DMA's length register."""
    return knee(fabric_from_manifest(manifest), manifest_driver(manifest), reference_host(),
                max_bytes=max_transfer_bytes)


def per_frame_seconds(run: BoardRun) -> float:
    """A run's measured time per frame in large calls: the slope of its calls (weighted by
    their relative error), or its largest call's time per frame when it has two calls."""
    frames, seconds = np.array(run.frames, dtype=float), np.array(run.seconds)
    if len(frames) > 2:
        return float(np.polyfit(frames, seconds, 1, w=1.0 / seconds)[0])
    return float(seconds[-1] / frames[-1])


def model_per_frame_seconds(run: BoardRun, host: Host) -> float:
    """The model's time per frame in large calls for a run: host share + fabric share."""
    fabric = run_fabric(run)
    return predict(fabric, DRIVERS[run.driver], host, 1).host + fabric.seconds_per_frame


def float_words(manifest: dict) -> dict:
    """The same design with 32-bit float words on both streams (hls4ml's default): twice the
    bytes of 16-bit words, no encoding on the host; the IP converts (its cycles per frame stay
    those of its loops, one word per clock)."""
    io = {**manifest["io"], "input": "float", "output": "float"}
    # its own transfer size: the knee moves with the bytes per frame
    return {**{k: v for k, v in manifest.items() if k != "driver"}, "io": io}


#: the parts of a frame's time the chapter shows
PARTS = ("host: encode, cache, decode", "fabric: IP (or DMA)", "per transfer, shared")


def manifest_prediction(manifest: dict, host: Host, frames: int) -> Prediction:
    """The model's call of ``frames`` frames for a design, chunked as its manifest's driver
    section says (or at the model's knee)."""
    fabric, driver = fabric_from_manifest(manifest), manifest_driver(manifest)
    chunk = manifest.get("driver", {}).get("buffer_frames") or knee(fabric, driver, host)
    return predict(fabric, driver, host, frames, chunk)


def frame_split(manifest: dict, host: Host, frames: int = 100_000) -> dict[str, float]:
    """Where a frame's time goes (µs) in calls of ``frames`` frames."""
    call = manifest_prediction(manifest, host, frames)
    return {PARTS[0]: 1e6 * call.host / frames, PARTS[1]: 1e6 * call.pl / frames,
            PARTS[2]: 1e6 * (call.transfers + call.per_call) / frames}


def text_table(rows: dict[str, dict[str, str]]) -> str:
    """Rows of named cells as an aligned text table (the board image has no pandas)."""
    columns = list(dict.fromkeys(key for row in rows.values() for key in row))
    widths = [max(len(column), *(len(str(row.get(column, ""))) for row in rows.values()))
              for column in columns]
    first = max(len(name) for name in rows)
    lines = [" " * first + "  " + "  ".join(c.rjust(w) for c, w in zip(columns, widths,
                                                                       strict=True))]
    for name, row in rows.items():
        cells = [str(row.get(c, "")).rjust(w) for c, w in zip(columns, widths, strict=True)]
        lines.append(name.ljust(first) + "  " + "  ".join(cells))
    return "\n".join(lines)


def held_out_row(run: BoardRun, host: Host) -> dict[str, str]:
    """A run's measured time per frame against the model fitted on another source."""
    measured, model = per_frame_seconds(run), model_per_frame_seconds(run, host)
    return {"measured µs/frame": f"{1e6 * measured:.2f}",
            "model µs/frame": f"{1e6 * model:.2f}",
            "error": f"{100 * (model / measured - 1):+.1f} %"}


BATCHES = (1, 1000, 100_000)


#: what :func:`design_row`'s columns are, for a line above its table
DESIGN_ROW_COLUMNS = (f"frames/s (model) in calls of {', '.join(f'{n:,}' for n in BATCHES)} "
                      "frames;\nthe driver's chunk; the IP's cycles per frame")


def design_row(manifest: dict, host: Host) -> dict[str, str]:
    """The model's frames/s of a design for a few call sizes (columns named by the call's
    frames), its chunk, its IP's cycles per frame (:data:`DESIGN_ROW_COLUMNS`)."""
    row = {f"{n:,}": f"{manifest_prediction(manifest, host, n).frames_per_second:,.0f}"
           for n in BATCHES}
    fabric, driver = fabric_from_manifest(manifest), manifest_driver(manifest)
    chunk = manifest.get("driver", {}).get("buffer_frames") or knee(fabric, driver, host)
    row["chunk"] = f"{chunk:,}"
    row["IP cycles"] = f"{manifest['ip']['cycles_per_frame']:,.0f}"
    return row


def recommended_words(manifest: dict, host: Host, frames: int = BATCHES[-1]) -> tuple[str, dict]:
    """The word format the model finds faster for large calls: "float" or the built one; and
    the frames/s of each."""
    rates = {manifest["io"]["input"]: manifest_prediction(manifest, host, frames),
             "float": manifest_prediction(float_words(manifest), host, frames)}
    rates = {words: call.frames_per_second for words, call in rates.items()}
    return max(rates, key=rates.get), rates


def ceiling_row(fabric: Fabric, *, source: str) -> dict[str, str]:
    """The fabric's limit per frame for a design: the IP's cycles, the DMA's beats with the
    design's words and with float words, and the frames/s the slowest of them allows."""
    float_fabric = replace(fabric, in_word_bytes=4, out_word_bytes=4)
    beats = {f: max(math.ceil(f.in_bytes / DMA_BYTES_PER_CYCLE),
                    math.ceil(f.out_bytes / DMA_BYTES_PER_CYCLE)) for f in (fabric, float_fabric)}
    return {
        "IP cycles/frame": f"{fabric.ip_cycles:,.0f}",
        "from": source,
        f"DMA beats/frame ({fabric.in_word_bytes * 8}-bit words)": f"{beats[fabric]:,}",
        "DMA beats/frame (float words)": f"{beats[float_fabric]:,}",
        f"ceiling frames/s at {fabric.fclk0_mhz:g} MHz": f"{1 / fabric.seconds_per_frame:,.0f}",
        "same with float words": f"{1 / float_fabric.seconds_per_frame:,.0f}",
    }
