"""The figures of the board notebook (chapter 8), drawn with matplotlib.

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


def board_model(fitted, held_out, *, label: str):
    """Published board runs against the board model: time per frame against frames per call.

    ``fitted``: (run, host) pairs, each run drawn with the host fitted on it; ``held_out``:
    (run, host) pairs drawn with a host fitted on the *other* source. Measured points as
    markers, the model as lines; the lower panel is each point's relative error.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from pynq_ia.board import performance

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7.4), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    colours = plt.get_cmap("tab10").colors
    for index, (run, host, style) in enumerate(
        [(r, h, "fit") for r, h in fitted] + [(r, h, "held out") for r, h in held_out]
    ):
        colour = colours[index % len(colours)]
        frames = np.array(run.frames, dtype=float)
        measured = np.array(run.seconds) / frames
        grid = np.unique(np.geomspace(frames.min(), frames.max(), 60).round())
        fabric, driver = performance.run_fabric(run), performance.DRIVERS[run.driver]
        model = [performance.predict(fabric, driver, host, int(n)).total / n for n in grid]
        name = f"{run.name}: {style}"
        top.plot(frames, 1e6 * measured, "o", color=colour, ms=3.5, label=f"{name} (measured)")
        top.plot(grid, 1e6 * np.array(model), "-" if style == "fit" else "--", color=colour,
                 label=f"{name} (model)")
        errors = performance.relative_errors(run, host)
        bottom.plot(frames, 100 * errors, "o" if style == "fit" else "x", color=colour, ms=4)
    top.set_xscale("log")
    top.set_yscale("log")
    top.set_ylabel("µs per frame")
    # below the panels, where it hides no point
    fig.legend(*top.get_legend_handles_labels(), frameon=False, fontsize=7.5, ncol=2,
               loc="lower left", bbox_to_anchor=(0.06, 0.02))
    top.set_title("Published PYNQ-Z2 runs (points) and the board model (lines)", loc="left",
                  fontsize=10.5)
    bottom.axhline(0, color="0.6", lw=0.8)
    for limit in (-15, 15):
        bottom.axhline(limit, color="0.8", lw=0.8, ls=":")
    bottom.set_xscale("log")
    bottom.set_xlabel("frames per predict() call")
    bottom.set_ylabel("model - measured [%]")
    stamp(fig, label)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


def time_split(predictions: dict[str, dict[str, float]], *, label: str):
    """Stacked bars: where one frame's time goes (µs), one bar per design and word format."""
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(predictions)
    parts = list(next(iter(predictions.values())))
    fig, ax = plt.subplots(figsize=(11, 3.6))
    bottom = np.zeros(len(names))
    for part, colour in zip(parts, plt.get_cmap("tab10").colors, strict=False):
        values = np.array([predictions[name][part] for name in names])
        ax.bar(names, values, bottom=bottom, label=part, color=colour)
        bottom += values
    ax.set_ylabel("µs per frame (batches of 100,000)")
    ax.tick_params(axis="x", labelsize=8.5)
    ax.legend(frameon=False, fontsize=8.5)
    ax.set_title("Where a frame's time goes on the board", loc="left", fontsize=10.5)
    stamp(fig, label)
    fig.tight_layout()
    return fig


#: the course's stages in flow order: (key, title, tools, chapter, where it runs)
COURSE_STAGES = (
    ("datasets", "Data", "MNIST, jets", "1", "host"),
    ("training", "Train", "Keras", "2", "host"),
    ("compression", "Compress", "QKeras, pruning", "3", "host"),
    ("conversion", "Convert", "hls4ml, C sim", "4", "host"),
    ("synthesis", "Synthesize", "Vivado HLS", "5", "vivado"),
    ("rtl", "Open RTL", "da4ml, yosys", "6", "host"),
    ("block_design", "Block design", "Vivado", "7", "vivado"),
    ("board", "Run", "PYNQ, DMA", "8", "board"),
    ("results", "Compare", "all numbers", "9", "host"),
)
_WHERE = {
    "host": ("#1d4ed8", "laptop / CI"),
    "vivado": ("#b45309", "needs Vivado"),
    "board": ("#047857", "PYNQ-Z2 (or its emulation)"),
}


def course_flow(stage: str | None = None):
    """The course's flow, one box per chapter, ``stage`` (a key of COURSE_STAGES) highlighted."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch

    keys = [s[0] for s in COURSE_STAGES]
    if stage is not None and stage not in keys:
        raise ValueError(f"unknown stage {stage!r}; the stages are {keys}")
    fig, ax = plt.subplots(figsize=(11, 1.9))
    width, gap = 1.0, 0.32
    for i, (key, title, tools, chapter, where) in enumerate(COURSE_STAGES):
        x = i * (width + gap)
        colour = _WHERE[where][0]
        current = key == stage
        ax.add_patch(FancyBboxPatch(
            (x, 0), width, 1, boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=colour if current else "white", edgecolor=colour,
            linewidth=2.5 if current else 1.2, alpha=1.0 if current or stage is None else 0.55,
        ))
        text = "white" if current else "#111827"
        ax.text(x + width / 2, 0.66, title, ha="center", va="center", fontsize=10.5,
                fontweight="bold", color=text)
        ax.text(x + width / 2, 0.38, tools, ha="center", va="center", fontsize=7.5, color=text)
        ax.text(x + width / 2, 0.12, f"ch. {chapter}", ha="center", va="center", fontsize=7.5,
                color=text)
        if i:
            ax.annotate("", xy=(x - 0.02, 0.5), xytext=(x - gap + 0.02, 0.5),
                        arrowprops={"arrowstyle": "->", "color": "#374151"})
    ax.legend(
        handles=[Line2D([], [], color=c, lw=3, label=label) for c, label in _WHERE.values()],
        loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=3, frameon=False, fontsize=8.5,
    )
    ax.set_xlim(-0.05, len(COURSE_STAGES) * (width + gap) - gap + 0.05)
    ax.set_ylim(-0.05, 1.05)
    ax.axis("off")
    fig.tight_layout()
    return fig


def dma_sequence():
    """What one DMA transfer is: the register writes and reads of both channels, the words on
    the AXI streams with TLAST, and the polling of the status registers (Xilinx PG021)."""
    import matplotlib.pyplot as plt

    lanes = ["Python (PS)", "DMA registers", "DDR buffers", "MM2S", "IP", "S2MM"]
    steps = [
        (0, 1, "write MM2S_DMACR, S2MM_DMACR = RUN (once, when the driver starts)"),
        (0, 2, "flush the input frames from the CPU caches"),
        (0, 1, "write MM2S_SA = input address, then MM2S_LENGTH = bytes: MM2S starts"),
        (0, 1, "write S2MM_DA = output address, then S2MM_LENGTH = room: S2MM waits"),
        (2, 3, "reads the frames"),
        (3, 4, "words; TLAST on the last"),
        (4, 5, "results; TLAST at frame end"),
        (5, 2, "S2MM writes the results, stops at TLAST"),
        (0, 1, "poll MM2S_DMASR, S2MM_DMASR until IDLE (with a deadline; an error halts)"),
        (0, 1, "read S2MM_LENGTH = bytes received; invalidate the output frames"),
    ]
    fig, ax = plt.subplots(figsize=(11, 5.2))
    for x, lane in enumerate(lanes):
        ax.plot([x, x], [0.4, len(steps) + 0.3], color="0.75", lw=1, zorder=0)
        ax.text(x, len(steps) + 0.55, lane, ha="center", va="bottom", fontsize=9.5,
                fontweight="bold")
    for row, (start, end, label) in enumerate(steps):
        y = len(steps) - row
        from_python = start == 0
        colour = "#1d4ed8" if from_python else "#047857"
        ax.annotate("", xy=(end, y), xytext=(start, y),
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.6})
        # the processor's steps are labelled right of their arrow, the data's above it
        x, align = (max(start, end) + 0.1, "left") if from_python else ((start + end) / 2, "center")
        ax.text(x, y + (0 if from_python else 0.12), label, ha=align,
                va="center" if from_python else "bottom", fontsize=8.3, color=colour,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_xlim(-0.4, len(lanes) - 0.6)
    ax.set_ylim(0.2, len(steps) + 1.2)
    ax.axis("off")
    ax.set_title("One DMA transfer, in time order (top to bottom)", fontsize=10.5, loc="left")
    fig.tight_layout()
    return fig
