"""What a design costs on the xc7z020: from a Vivado HLS report when Vivado is installed, else
from the rule4ml estimator, always labelled with where the numbers come from.

- :func:`synthesize` runs HLS synthesis (``vivado_hls``) on an hls4ml project and reads its report
  with hls4ml's own parser (:func:`report_from_project`).
- :func:`estimate` asks rule4ml (its estimators shipped for pynq-z2, trained on hls4ml 1.1.0
  projects synthesized with Vivado 2020.1) for LUT, FF, DSP, BRAM and latency. rule4ml reads the
  architecture, precision, strategy and reuse factor, not the weights: savings from pruning do not
  show in its numbers.
- The resource shares the original PYNQ_IA project published (Vivado 2020.1) are each design's
  ``references`` in the design table (:mod:`pynq_ia.designs`), shown only labelled as such.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pynq_ia.environment import ToolUnavailable

#: the PYNQ-Z2's device, xc7z020clg400-1 (BRAM counted in 18 kb halves: 140 BRAM36 = 280)
DEVICE = {"LUT": 53_200, "FF": 106_400, "DSP": 220, "BRAM_18K": 280}

VIVADO_REPORT = "Vivado HLS report"
RULE4ML_ESTIMATE = "estimate (rule4ml)"
REFERENCE = "reference (original PYNQ_IA project, Vivado 2020.1)"



@dataclass
class ResourceReport:
    """Resources and latency of one design, with the source of the numbers."""

    model: str
    source: str
    LUT: float
    FF: float
    DSP: float
    BRAM_18K: float
    latency_cycles: float | None = None
    interval_cycles: float | None = None
    clock_period_ns: float = 10.0
    settings: dict[str, Any] = field(default_factory=dict)

    def share(self) -> dict[str, float]:
        """Each resource as a percentage of the xc7z020."""
        return {key: 100.0 * getattr(self, key) / total for key, total in DEVICE.items()}

    @property
    def latency_us(self) -> float | None:
        if self.latency_cycles is None:
            return None
        return self.latency_cycles * self.clock_period_ns / 1000.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share_percent": self.share(), "latency_us": self.latency_us}


def ip_timing(report: ResourceReport, design) -> dict[str, Any]:
    """What the board model needs of an IP, for a design's manifest: its cycles per frame behind
    the DMA, its latency and where they come from.

    A Vivado HLS report of the project is the AXI wrapper's own (its top function is
    ``<model>_axi``): its interval is the cycles per frame. Without one:

    - io_parallel: rule4ml estimates the network alone; hls4ml's wrapper adds its input and
      output loops one after the other (:func:`pynq_ia.board.performance.io_parallel_cycles`);
    - io_stream: rule4ml has not learned convolutions (chapter 5), so the cycles are counted
      from hls4ml's templates instead (:func:`stream_cycles`).
    """
    from pynq_ia.board.performance import io_parallel_cycles

    if report.source == VIVADO_REPORT:
        return {"cycles_per_frame": float(report.interval_cycles),
                "latency_cycles": float(report.latency_cycles), "source": report.source}
    if design.hls.io_type == "io_parallel":
        latency = math.ceil(report.latency_cycles)
        return {"cycles_per_frame": float(io_parallel_cycles(design.n_in, design.n_out, latency)),
                "latency_cycles": float(latency), "source": report.source}
    interval, latency = stream_cycles(design)
    return {"cycles_per_frame": float(interval), "latency_cycles": float(latency),
            "source": STREAM_COUNT}


#: where the cycles of an io_stream design come from when no Vivado report is here
STREAM_COUNT = "counted from hls4ml's io_stream templates"


def stream_cycles(design) -> tuple[int, int]:
    """An io_stream network's cycles per frame and latency, from hls4ml's templates: a
    convolution or pooling layer reads one pixel per ``reuse_factor`` cycles
    (``#pragma HLS PIPELINE II=CONFIG_T::reuse_factor`` in ``nnet_conv2d_stream.h``, II=1 in
    ``nnet_pooling_stream.h``), and DATAFLOW overlaps the layers, so the slowest layer's pixels
    set the interval; the latency is at most their sum. Dense and activation layers of the
    stream take one array per cycle (they add no more than their pixels)."""
    model = design.build("float")
    loops = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "QConv2D", "MaxPooling2D", "AveragePooling2D"):
            height, width = layer.input_shape[1:3]
            reuse = design.hls.reuse_factor if "Conv" in kind else 1
            loops.append(int(height) * int(width) * reuse)
    if not loops:
        raise ValueError(f"{design.name}: no streamed image layer to count")
    return max(max(loops), design.n_in, design.n_out), sum(loops)


#: what a zero weight costs in each hls4ml strategy (hls4ml 1.3.0's templates), and the source
ZERO_WEIGHTS = {
    "Latency": (
        "nothing: the weights are constants in a fully unrolled product, hls4ml counts the zeros "
        "out of its multiplier budget and synthesis drops products by a constant zero",
        "nnet_dense_latency.h (function_instantiate, ALLOCATION limit=multiplier_limit); "
        "multiplier_limit = n_in*n_out/R - n_zeros/R in backends/vivado/passes/core_templates.py",
    ),
    "Resource": (
        "a multiplier cycle like any other weight: the weights sit in a ROM and every product is "
        "computed (hls4ml's compressed dense, Compression: True, fails to convert in 1.3.0)",
        "nnet_dense_resource.h (RESOURCE core=ROM_nP_BRAM when R > 1; no test of the weight); "
        "KeyError 'dense_function' for Compression in hls4ml 1.3.0",
    ),
}


def zero_weight_cost(strategy: str) -> tuple[str, str]:
    """What a pruned (zero) weight costs in hardware under an hls4ml strategy, and where that
    is written."""
    key = "Resource" if strategy.lower() == "resource" else "Latency"
    return ZERO_WEIGHTS[key]


def vivado_hls_available() -> bool:
    return shutil.which("vivado_hls") is not None


def report_from_project(project_dir: Path, model: str, clock_period_ns: float = 10.0):
    """Read the C-synthesis report of an hls4ml project with hls4ml's parser."""
    from hls4ml.report import parse_vivado_report

    try:
        report = parse_vivado_report(str(project_dir)) or {}
    except (IndexError, OSError):  # hls4ml's parser fails this way on a project never built
        report = {}
    synth = report.get("CSynthesisReport")
    if not synth:
        raise FileNotFoundError(f"no HLS synthesis report in {project_dir}")
    return ResourceReport(
        model=model,
        source=VIVADO_REPORT,
        LUT=float(synth["LUT"]),
        FF=float(synth["FF"]),
        DSP=float(synth["DSP"]),
        BRAM_18K=float(synth["BRAM_18K"]),
        latency_cycles=float(synth["WorstLatency"]),
        interval_cycles=float(synth["IntervalMax"]),
        clock_period_ns=float(synth.get("TargetClockPeriod", clock_period_ns)),
    )


def synthesize(project) -> ResourceReport:
    """HLS synthesis (and IP export, for the block design) of a :class:`HLSProject`."""
    if not vivado_hls_available():
        raise ToolUnavailable(
            "vivado_hls is not on PATH: HLS synthesis needs Vivado HLS 2019.2 or 2020.1 "
            "(source its settings64.sh first). Without it, use estimate()."
        )
    project.hls_model.build(csim=False, synth=True, export=True)
    report = report_from_project(project.directory, project.name, project.settings.clock_period)
    report.settings = project.settings.as_dict()
    return report


def weight_precision(model) -> str:
    """The ap_fixed type of a QKeras model's weights (ap_fixed<16,6> for a float model)."""
    for layer in model.layers:
        quantizer = getattr(layer, "kernel_quantizer_internal", None)
        if quantizer is not None:
            bits, integer = int(quantizer.bits), int(quantizer.integer)
            return f"ap_fixed<{bits},{integer + 1}>"  # + the sign bit, as hls4ml types it
    return "ap_fixed<16,6>"


_ESTIMATOR = None


def rule4ml_estimator():
    """rule4ml's ``MultiModelWrapper`` with its default (pynq-z2) estimators, loaded once.

    It also sets PyTorch (which only rule4ml uses in the course) to one thread in this process:
    the same estimates, without waiting for a busy core.
    """
    global _ESTIMATOR
    if _ESTIMATOR is None:
        import torch
        from rule4ml.models.wrappers import MultiModelWrapper

        # rule4ml's estimators are graph networks over a few layers: split over threads, each
        # tiny scatter waits for a busy core (measured: ten times slower with the other core
        # loaded, as it is while tests or a synthesis run beside it); same estimates either way
        torch.set_num_threads(1)

        _ESTIMATOR = MultiModelWrapper()
        _ESTIMATOR.load_default_models()
    return _ESTIMATOR


def estimate(
    architecture, name: str, *, strategy: str, reuse_factors: tuple[int, ...], precision: str
) -> list[ResourceReport]:
    """rule4ml's estimates for a model on the pynq-z2, one per reuse factor.

    ``architecture`` is a plain Keras model of the design's topology (rule4ml cannot parse QKeras
    layers, and reads no weights anyway); ``precision`` the design's weight type.
    """
    # one query per configuration: rule4ml's estimates for a configuration shift (by up to ~15 %
    # in LUTs) with the other configurations predicted in the same call
    rows = []
    for rf in reuse_factors:
        config = {
            "board": "pynq-z2",
            "model": {"strategy": strategy, "precision": precision, "reuse_factor": rf},
        }
        table = rule4ml_estimator().predict(
            [architecture],
            hls_configs=[config],
            vivado_versions="2020.1",
            hls4ml_versions="1.1.0",
            round_digits=3,
        )
        rows += table.to_dict("records")
    return [
        ResourceReport(
            model=name,
            source=RULE4ML_ESTIMATE,
            LUT=float(row["LUT"]),
            FF=float(row["FF"]),
            DSP=float(row["DSP"]),
            BRAM_18K=float(row["BRAM"]),
            latency_cycles=float(row["CYCLES"]),
            interval_cycles=float(row["INTERVAL"]),
            settings={
                "strategy": strategy,
                "precision": precision,
                "reuse_factor": int(row["Reuse Factor"]),
            },
        )
        for row in rows
    ]


def _estimate_for(project, model, reuse_factors: tuple[int, ...],
                  strategy: str | None = None) -> list[ResourceReport]:
    from pynq_ia import designs

    return estimate(
        designs.design(project.name).build("float"),
        project.name,
        strategy=strategy or project.settings.strategy,
        reuse_factors=reuse_factors,
        precision=weight_precision(model),
    )


def resources(project, model) -> ResourceReport:
    """The design's resources: synthesized when Vivado HLS is here, else estimated by rule4ml.

    ``model`` is the (QKeras) model the project was converted from.
    """
    if vivado_hls_available():
        return synthesize(project)
    return _estimate_for(project, model, (project.settings.reuse_factor,))[0]


def recorded_resources(project, model, *, profile: str | None = None) -> ResourceReport:
    """The design's resources as chapter 5 recorded them in its metrics, or :func:`resources`
    now (and recorded) when it has not, or recorded them for other settings."""
    from pynq_ia import artifacts

    recorded = artifacts.load_metrics(project.name, profile=profile).get("resources")
    fields = {f for f in ResourceReport.__dataclass_fields__}
    if recorded and recorded.get("settings", {}).get("reuse_factor") in (
        None, project.settings.reuse_factor
    ) and recorded.get("source") == (VIVADO_REPORT if vivado_hls_available()
                                     else RULE4ML_ESTIMATE):
        return ResourceReport(**{k: v for k, v in recorded.items() if k in fields})
    report = resources(project, model)
    artifacts.update_metrics(project.name, "resources", report.as_dict(), profile=profile)
    return report


def reuse_sweep(project, model, reuse_factors: tuple[int, ...],
                strategy: str | None = None) -> list[ResourceReport]:
    """Resources and latency of the design at several reuse factors, in the design's strategy
    or in ``strategy`` ("Latency" or "Resource").

    With Vivado HLS each factor is converted into its own project and synthesized; without it,
    rule4ml estimates them.
    """
    strategy = strategy or project.settings.strategy
    if strategy not in ("Latency", "Resource"):
        raise ValueError(f"strategy must be 'Latency' or 'Resource', not {strategy!r}")
    if not vivado_hls_available():
        return _estimate_for(project, model, reuse_factors, strategy)
    from dataclasses import replace

    from pynq_ia import convert

    reports = []
    for reuse in reuse_factors:
        suffix = "" if strategy == project.settings.strategy else f"_{strategy.lower()}"
        variant = convert.hls_project(
            project.name,
            model,
            settings=replace(project.settings.with_reuse(reuse), strategy=strategy),
            directory=project.directory.with_name(f"{project.directory.name}_rf{reuse}{suffix}"),
        )
        reports.append(synthesize(variant))
    return reports
