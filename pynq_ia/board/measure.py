"""What chapter 8 measures on the board: accuracy and AUC, batch sweeps, a cost model.

numpy only, so the same numbers come out on the board and off it. :func:`accuracy_record` and
:func:`latency_record` are the records chapter 8 stores and chapter 9 reads.
"""

from __future__ import annotations

import numpy as np


def batch_sweep(
    driver, x: np.ndarray, sizes: list[int], repeats: int = 5
) -> list[dict[str, float]]:
    """Best-of-``repeats`` time of ``driver.predict`` for each batch size (frames from ``x``)."""
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
        ranks = np.empty(len(values), dtype=np.float64)
        # average ranks over runs of equal scores
        _, first, counts = np.unique(values[order], return_index=True, return_counts=True)
        ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
        positive = labels == c
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            aucs.append(float("nan"))
            continue
        aucs.append(float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)))
    return aucs


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Share of frames whose highest score is their label."""
    return float(np.mean(np.asarray(scores).argmax(axis=1) == labels))


def sweep_sizes(frames: int) -> list[int]:
    """Batch sizes for a sweep: the powers of two up to ``frames``, and ``frames`` itself."""
    return sorted({2**k for k in range(int(np.log2(frames)) + 1)} | {frames})


def single_frame_us(driver, x: np.ndarray, repeats: int = 50) -> float:
    """Median time of ``predict`` on one frame, in microseconds."""
    times = sorted(driver.predict(x[:1], timing=True)[1].total for _ in range(repeats))
    return 1e6 * times[len(times) // 2]


def accuracy_record(session, scores: np.ndarray, timing) -> dict:
    """What one pass over a design's test set through the DMA gives: accuracy, AUC per class,
    whether the scores equal the C simulation's bit for bit, and where the time went."""
    auc = one_vs_rest_auc(scores, session.y)
    return {
        "accuracy": accuracy(scores, session.y),
        "auc_mean": float(np.mean(auc)),
        "auc": dict(zip(session.class_names, auc, strict=False)),
        "identical_to_csim": bool(np.array_equal(scores, session.reference_scores)),
        "frames": timing.frames,
        "chunks": timing.chunks,
        "saturated_inputs": timing.saturated,
        "frames_per_second": timing.frames_per_second,
        "encode_ms": 1e3 * timing.encode,
        "transfer_ms": 1e3 * timing.transfer,
        "decode_ms": 1e3 * timing.decode,
        "fidelity": session.fidelity,
    }


def latency_record(driver, x: np.ndarray, *, repeats: int = 3) -> dict:
    """A batch sweep over ``x``, the cost model fitted to it, and the single-frame latency."""
    sweep = batch_sweep(driver, x, sweep_sizes(len(x)), repeats=repeats)
    return {"sweep": sweep, **fit_cost_model(sweep), "single_frame_us": single_frame_us(driver, x)}
