"""Every figure of the course, in one place, so chapters only call these functions.

Each figure carries its fidelity label (e.g. "simulated jets", "emulation", "estimate") in its
title or corner, as the book's conventions require; pass it as ``label``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

CLASS_COLORS = plt.get_cmap("tab10").colors


def stamp(fig: Figure, label: str) -> None:
    """Write the figure's fidelity label in its lower right corner."""
    fig.text(0.995, 0.005, label, ha="right", va="bottom", fontsize=9, color="0.35", style="italic")


def class_balance(counts: dict[str, dict[str, int]], *, title: str, label: str) -> Figure:
    """Bar chart of samples per class for each split (``{"train": {...}, "test": {...}}``)."""
    splits = list(counts)
    classes = list(next(iter(counts.values())))
    width = 0.8 / len(splits)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    positions = np.arange(len(classes))
    for i, split in enumerate(splits):
        values = [counts[split][c] for c in classes]
        ax.bar(positions + i * width, values, width, label=split)
    ax.set_xticks(positions + width * (len(splits) - 1) / 2, classes)
    ax.set_ylabel("samples")
    ax.set_title(title)
    ax.legend(frameon=False)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def feature_distributions(
    x: np.ndarray,
    y: np.ndarray,
    feature_names: Sequence[str],
    class_names: Sequence[str],
    *,
    label: str,
    bins: int = 40,
    columns: int = 4,
) -> Figure:
    """One panel per feature: normalized histograms per class, shared bins.

    Bins span the 0.5-99.5 % quantiles of each feature so long tails do not squash the bulk.
    """
    rows = int(np.ceil(len(feature_names) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows))
    for index, (ax, name) in enumerate(zip(axes.flat, feature_names, strict=False)):
        low, high = np.quantile(x[:, index], [0.005, 0.995])
        edges = np.linspace(low, high if high > low else low + 1, bins + 1)
        for c, class_name in enumerate(class_names):
            ax.hist(
                np.clip(x[y == c, index], edges[0], edges[-1]),
                bins=edges,
                density=True,
                histtype="step",
                linewidth=1.3,
                color=CLASS_COLORS[c],
                label=class_name,
            )
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(feature_names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, frameon=False)
    fig.suptitle(f"Jet features per class ({label})")
    stamp(fig, label)
    fig.tight_layout()
    return fig


def mass_peaks(
    mass: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str],
    *,
    label: str,
    references: dict[str, float] | None = None,
) -> Figure:
    """The groomed jet mass per class, with the W, Z and top masses marked."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    edges = np.arange(0, 260, 5)
    for c, class_name in enumerate(class_names):
        ax.hist(
            mass[y == c],
            bins=edges,
            density=True,
            histtype="step",
            linewidth=1.6,
            color=CLASS_COLORS[c],
            label=class_name,
        )
    for name, value in (references or {}).items():
        ax.axvline(value, color="0.5", linestyle=":", linewidth=1)
        ax.text(value, ax.get_ylim()[1] * 0.95, f" {name}", fontsize=8, color="0.4", va="top")
    ax.set_xlabel("groomed (mMDT) jet mass [GeV]")
    ax.set_ylabel("density")
    ax.set_title(f"Groomed jet mass ({label})")
    ax.legend(frameon=False)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def image_grid(
    images: np.ndarray, titles: Sequence[str], *, columns: int = 10, label: str
) -> Figure:
    """Grayscale images in a grid, each with a small title."""
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * columns, 1.25 * rows))
    for ax in np.atleast_1d(axes).flat:
        ax.axis("off")
    for ax, image, title in zip(np.atleast_1d(axes).flat, images, titles, strict=False):
        ax.imshow(np.squeeze(image), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
    stamp(fig, label)
    fig.tight_layout()
    return fig
