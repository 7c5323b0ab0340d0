"""The figures of the board notebook (chapter 7), drawn with matplotlib.

The one module of the board folder that draws: PYNQ images ship matplotlib, and it is imported
when a figure is drawn, never when the folder is imported. The host's figures
(:mod:`pynq_ia.plotting`) use the same fidelity stamp.
"""

from __future__ import annotations


def stamp(fig, label: str) -> None:
    """Write the figure's fidelity label (e.g. "emulation", "board") in its lower right corner."""
    fig.text(0.995, 0.005, label, ha="right", va="bottom", fontsize=9, color="0.35", style="italic")


def batch_sweep(rows_by_design: dict[str, list[dict]], *, label: str):
    """Throughput and time per frame against the batch size, one line per design."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.9))
    for name, rows in rows_by_design.items():
        batch = [r["batch"] for r in rows]
        left.plot(batch, [r["frames_per_second"] for r in rows], "o-", label=name)
        right.plot(batch, [r["us_per_frame"] for r in rows], "o-", label=name)
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("frames per predict() call")
        ax.legend(frameon=False)
    left.set_ylabel("frames / s")
    left.set_title("throughput")
    right.set_ylabel("µs per frame")
    right.set_title("time per frame (DMA + host encode/decode)")
    stamp(fig, label)
    fig.tight_layout()
    return fig
