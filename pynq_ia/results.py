"""What chapter 9 gathers: every model's metrics along the flow, as tables.

Each chapter records its section of a design's metrics (:mod:`pynq_ia.artifacts`):
``float`` and ``qkeras`` (chapters 2-3), ``hls4ml`` (4), ``resources`` (5), ``board`` or
``emulation`` (8). :func:`model_metrics` computes, with the same package functions, any section
an earlier chapter has not recorded yet, so chapter 9 runs on its own from an empty cache.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pynq_ia import artifacts, convert, designs, estimate, training
from pynq_ia.board import measure

HARDWARE_SECTIONS = ("board", "emulation")
#: what chapter 8 records for each design (an older or partial record is measured again)
DMA_RECORD_KEYS = {"accuracy", "auc", "auc_mean", "identical_to_csim", "sweep", "fixed_us",
                   "per_frame_us", "single_frame_us"}


def hardware_section(metrics: dict[str, Any]) -> str:
    """Which DMA measurements a model has: ``board`` when a board run was stored."""
    return "board" if "board" in metrics else "emulation"


def model_metrics(name: str, dataset) -> dict[str, Any]:
    """All sections of a model's metrics; those not recorded yet are computed now."""
    for flavour in designs.FLAVOURS:
        training.trained_model(name, flavour, dataset)
    metrics = artifacts.load_metrics(name)
    if "hls4ml" not in metrics or "resources" not in metrics:
        model = training.trained_model(name, "qkeras", dataset)
        project = convert.hls_project(name, model)
        artifacts.update_metrics(name, "hls4ml", convert.project_metrics(project, model, dataset))
        estimate.recorded_resources(project, model)
    recorded = metrics.get("board") or metrics.get("emulation") or {}
    if not set(recorded) >= DMA_RECORD_KEYS:
        from pynq_ia.emulation_bundles import open_emulated_design

        session = open_emulated_design(name)
        scores, timing = session.driver.predict(session.x, timing=True)
        record = {
            **measure.accuracy_record(session, scores, timing),
            **measure.latency_record(session.driver, session.x),
        }
        artifacts.update_metrics(name, "emulation", record)
    return artifacts.load_metrics(name)


def design_manifest(name: str) -> dict[str, Any]:
    """The manifest the board would run the design from: its verified overlay's when one is built
    here, else its emulation bundle's (the same frame sizes, words, clock and IP cycles)."""
    from pynq_ia import hwbuild
    from pynq_ia.board.overlays import MANIFEST, OverlayError, read_manifest
    from pynq_ia.emulation_bundles import emulation_bundle

    try:
        return hwbuild.verify_overlay(name)
    except OverlayError:
        return read_manifest(emulation_bundle(name) / MANIFEST)


def accuracy_table(metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Test accuracy and mean AUC at each stage of the flow, one column per model."""
    rows = {}
    for name, m in metrics.items():
        hw = hardware_section(m)
        rows[name] = {
            "float": m["float"]["accuracy"],
            "QKeras": m["qkeras"]["accuracy"],
            "C sim": m["hls4ml"]["accuracy"],
            "DMA": m[hw]["accuracy"],
            "AUC float": m["float"]["auc_mean"],
            "AUC C sim": m["hls4ml"]["auc_mean"],
            "AUC DMA": m[hw]["auc_mean"],
        }
    return pd.DataFrame(rows).round(4)


def _short(source: str) -> str:
    """A figure's source in a table cell: "estimate", "Vivado report", "reference", ..."""
    from pynq_ia.board import board_runs

    if source in (estimate.REFERENCE, board_runs.ORIGINAL_PROJECT):
        return "reference"
    if source == board_runs.HLS4ML_RERUN:
        return "reference, hls4ml re-run"
    return {estimate.RULE4ML_ESTIMATE: "estimate", estimate.VIVADO_REPORT: "Vivado report"}.get(
        source, source
    )


def auc_by_stage(metrics: dict[str, Any], classes: list[str] | None = None) -> dict:
    """AUC per class (or the mean, without ``classes``) at each stage, for a grouped bar plot."""
    hw = hardware_section(metrics)
    stages = {"float": "float", "QKeras": "qkeras", "hls4ml": "hls4ml", f"DMA ({hw})": hw}
    if classes is None:
        return {label: metrics[section]["auc_mean"] for label, section in stages.items()}
    return {c: {label: metrics[section]["auc"][c] for label, section in stages.items()}
            for c in classes}


def resource_table(metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Resource shares of the xc7z020 (%) of this course's designs, beside the references; with
    an overlay built here, Vivado's post-route figures of it too (BRAM as 36 kb tiles of 140)."""
    from pynq_ia import hwbuild

    rows = {}
    for name, m in metrics.items():
        r = m["resources"]
        rows[f"{name} (this course)"] = {
            **{f"{k} [%]": round(v, 1) for k, v in r["share_percent"].items()},
            "latency [µs]": round(r["latency_us"], 2) if r["latency_us"] else "",
            "source": _short(r["source"]),
        }
        post_route = hwbuild.post_route(name)
        if post_route:  # the whole overlay (IP, DMA, interconnect), after place and route
            used = post_route["utilization"]
            rows[f"{name} (overlay)"] = {
                **{f"{k} [%]": round(100 * used[key]["used"] / used[key]["available"], 1)
                   for k, key in (("BRAM_18K", "BRAM_36K"), ("DSP", "DSP"), ("FF", "FF"),
                                  ("LUT", "LUT"))},
                "source": f"{post_route['source']}, f_max "
                          f"{post_route['timing']['fmax_mhz']:.0f} MHz",
            }
        for stage, shares in designs.design(name).references.items():
            rows[f"{name} ({stage})"] = {
                **{f"{k} [%]": "" if v is None else v for k, v in shares.items()},
                "source": "reference",
            }
    return _blank_missing(pd.DataFrame(rows).T)


def timing_table(metrics: dict[str, dict[str, Any]],
                 manifests: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Latency and throughput per design, each column saying where it comes from: this machine
    running the C simulation behind the emulated DMA ("emulation"), the board model of chapter 8
    ("board (model)", calls of 100,000 frames), a board run when one was recorded ("board"),
    and the published board runs the model was fitted to (references)."""
    from pynq_ia.board import board_runs, performance

    host, batch = performance.reference_host(), performance.BATCHES[-1]
    rows = {}
    for name, m in metrics.items():
        manifest = manifests[name]
        one, many = (performance.manifest_prediction(manifest, host, n) for n in (1, batch))
        row = {("board (model)", "1 frame [µs]"): round(one.us_per_frame),
               ("board (model)", "frames/s"): round(many.frames_per_second),
               ("IP", "cycles/frame"): round(manifest["ip"]["cycles_per_frame"]),
               ("IP", "from"): _short(manifest["ip"]["source"])}
        for section in HARDWARE_SECTIONS:
            if section in m:
                best = max(m[section]["sweep"], key=lambda r: r["frames_per_second"])
                row[(section, "1 frame [µs]")] = round(m[section]["single_frame_us"])
                row[(section, "frames/s")] = round(best["frames_per_second"])
        rows[name] = row
    for run in board_runs.RUNS:
        frames, seconds = run.points[-1]
        rows[f"{run.name} ({_short(run.source)})"] = {
            ("board", "frames/s"): round(frames / seconds),
            ("IP", "cycles/frame"): run.ip_cycles or "",
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    order = [c for c in [("emulation", "1 frame [µs]"), ("emulation", "frames/s"),
                         ("board (model)", "1 frame [µs]"), ("board (model)", "frames/s"),
                         ("board", "1 frame [µs]"), ("board", "frames/s"),
                         ("IP", "cycles/frame"), ("IP", "from")] if c in table.columns]
    table = table[order]
    table.columns = pd.MultiIndex.from_tuples(order)
    return _blank_missing(table)


def _blank_missing(table: pd.DataFrame) -> pd.DataFrame:
    """Empty cells where a row has no value (a reference without that figure)."""
    return table.astype(object).where(table.notna(), "")
