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
        artifacts.update_metrics(name, "resources", estimate.resources(project, model).as_dict())
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
    if source == estimate.REFERENCE:
        return "reference"
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
    """Resource shares of the xc7z020 (%) of this course's designs, beside the references."""
    rows = {}
    for name, m in metrics.items():
        r = m["resources"]
        rows[f"{name} (this course)"] = {
            **{f"{k} [%]": round(v, 1) for k, v in r["share_percent"].items()},
            "latency [µs]": round(r["latency_us"], 2) if r["latency_us"] else "",
            "source": _short(r["source"]),
        }
        for stage, shares in designs.design(name).references.items():
            rows[f"{name} ({stage})"] = {
                **{f"{k} [%]": "" if v is None else v for k, v in shares.items()},
                "source": "reference",
            }
    return _blank_missing(pd.DataFrame(rows).T)


def timing_table(metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """DMA latency and throughput per model, the IP's own latency, and the reference."""
    rows = {}
    for name, m in metrics.items():
        hw = hardware_section(m)
        record = m[hw]
        best = max(record["sweep"], key=lambda row: row["frames_per_second"])
        rows[name] = {
            "one frame [µs]": round(record["single_frame_us"], 1),
            "per call [µs]": round(record["fixed_us"], 1),
            "per frame [µs]": round(record["per_frame_us"], 2),
            "best frames/s": round(best["frames_per_second"]),
            "at batch": best["batch"],
            "IP latency [µs]": round(m["resources"]["latency_us"], 2),
            "DMA from": hw,
            "IP from": _short(m["resources"]["source"]),
        }
    rows["original project"] = {
        "per frame [µs]": estimate.ORIGINAL_LATENCY_US_PER_FRAME,
        "DMA from": "reference (board)",
    }
    return _blank_missing(pd.DataFrame(rows).T)


def _blank_missing(table: pd.DataFrame) -> pd.DataFrame:
    """Empty cells where a row has no value (a reference without that figure)."""
    return table.astype(object).where(table.notna(), "")
