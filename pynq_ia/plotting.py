"""Every figure of the course, in one place, so chapters only call these functions.

Each figure carries its fidelity label (e.g. "simulated jets", "emulation", "estimate") in its
title or corner, as the book's conventions require; pass it as ``label``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pynq_ia.board.figures import stamp  # one fidelity stamp for the host's and board's figures

CLASS_COLORS = plt.get_cmap("tab10").colors



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
        _class_histograms(ax, np.clip(x[:, index], edges[0], edges[-1]), y, class_names, edges)
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


def _class_histograms(
    ax, values: np.ndarray, y: np.ndarray, class_names: Sequence[str], edges, *, linewidth=1.3
) -> None:
    """One normalized step histogram of ``values`` per class, in the class colours."""
    for c, class_name in enumerate(class_names):
        ax.hist(
            values[y == c],
            bins=edges,
            density=True,
            histtype="step",
            linewidth=linewidth,
            color=CLASS_COLORS[c],
            label=class_name,
        )


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
    _class_histograms(ax, mass, y, class_names, edges, linewidth=1.6)
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


def learning_curves(histories: dict[str, dict[str, list[float]]], *, label: str) -> Figure:
    """Training and validation loss and accuracy per epoch, one column per model."""
    fig, axes = plt.subplots(2, len(histories), figsize=(4.2 * len(histories), 5.2), squeeze=False)
    for column, (name, history) in enumerate(histories.items()):
        epochs = np.arange(1, len(history["loss"]) + 1)
        for row, metric in enumerate(("loss", "accuracy")):
            ax = axes[row, column]
            ax.plot(epochs, history[metric], label="training")
            ax.plot(epochs, history[f"val_{metric}"], label="validation")
            ax.set_xlabel("epoch")
            ax.set_ylabel(metric)
            if row == 0:
                ax.set_title(name)
        axes[0, column].legend(frameon=False)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def roc_curves(
    scores_by_model: dict[str, np.ndarray],
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str,
    label: str,
) -> Figure:
    """One-vs-rest ROC curves per class for one or more models (solid, dashed, dotted, ...).

    ``scores_by_model`` maps a model name to its class scores (n, classes). Signal efficiency is
    on the x axis and background efficiency on a log y axis, as in the hls4ml paper.
    """
    from sklearn.metrics import auc, roc_curve

    styles = ["-", "--", ":", "-."]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for m, (model_name, scores) in enumerate(scores_by_model.items()):
        for c, class_name in enumerate(class_names):
            fpr, tpr, _ = roc_curve(labels == c, scores[:, c])
            ax.plot(
                tpr,
                np.maximum(fpr, 1e-4),
                linestyle=styles[m % len(styles)],
                color=CLASS_COLORS[c],
                label=f"{class_name}, {model_name} (AUC {auc(fpr, tpr):.3f})",
            )
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency (true positive rate)")
    ax.set_ylabel("background efficiency (false positive rate)")
    ax.set_ylim(1e-3, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False, ncol=1 + (len(scores_by_model) > 1))
    stamp(fig, label)
    fig.tight_layout()
    return fig


def confusion_matrix(
    labels: np.ndarray, predicted: np.ndarray, class_names: Sequence[str], *, title: str, label: str
) -> Figure:
    """Row-normalized confusion matrix (each row: where the samples of a true class went)."""
    n = len(class_names)
    matrix = np.zeros((n, n))
    np.add.at(matrix, (labels, predicted), 1)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if matrix[i, j] >= 0.005:
                color = "white" if matrix[i, j] > 0.6 else "black"
                ax.text(
                    j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7, color=color
                )
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def weight_histograms(
    before: dict[str, np.ndarray], after: dict[str, np.ndarray], *, title: str, label: str
) -> Figure:
    """Per layer: the float model's weights and the compressed model's (quantized) weights."""
    names = list(before)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.9), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = np.concatenate([before[name].ravel(), after[name].ravel()])
        edges = np.linspace(values.min(), values.max(), 61)
        ax.hist(before[name].ravel(), bins=edges, alpha=0.6, label="float")
        ax.hist(
            after[name].ravel(),
            bins=edges,
            histtype="step",
            linewidth=1.4,
            color="C3",
            label="quantized + pruned",
        )
        ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=8)
    axes[0, 0].legend(fontsize=8, frameon=False)
    fig.suptitle(title)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def grouped_bars(
    values: dict[str, dict[str, float]],
    *,
    ylabel: str,
    title: str,
    label: str,
    ylim: tuple[float, float] | None = None,
    fmt: str = "{:.3f}",
) -> Figure:
    """Bars grouped by outer key (e.g. model), one bar per inner key (e.g. flavour), labelled."""
    groups = list(values)
    series = list(dict.fromkeys(k for inner in values.values() for k in inner))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.9 * len(groups)), 3.6))
    positions = np.arange(len(groups))
    for i, name in enumerate(series):
        heights = [values[g].get(name, np.nan) for g in groups]
        bars = ax.bar(positions + i * width, heights, width, label=name)
        for bar, height in zip(bars, heights, strict=True):
            if np.isfinite(height):
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    height,
                    fmt.format(height),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    ax.set_xticks(positions + width * (len(series) - 1) / 2, groups)
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def bit_width_sweep(
    bits: Sequence[int], accuracy: Sequence[float], reference: float, *, title: str, label: str,
    others: dict[str, tuple[Sequence[int], Sequence[float]]] | None = None,
) -> Figure:
    """Accuracy against bit width, with the float model's accuracy as a line; ``others``: more
    series (label -> bits, accuracy), e.g. post-training quantization."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(bits, accuracy, "o-", label="QKeras, quantization-aware training")
    for name, (other_bits, other_accuracy) in (others or {}).items():
        ax.plot(other_bits, other_accuracy, "s--", label=name)
    ax.axhline(reference, color="0.4", linestyle=":", label="float model")
    ax.set_xlabel("bits for weights and activations")
    ax.set_ylabel("test accuracy")
    ax.set_xticks(sorted({*bits, *(b for other, _ in (others or {}).values() for b in other)}))
    ax.set_title(title)
    ax.legend(frameon=False)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def reuse_factor_sweep(reports, *, title: str, label: str) -> Figure:
    """Resource shares and latency against the reuse factor (a list of ResourceReport)."""
    reuse = [r.settings["reuse_factor"] for r in reports]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for resource in ("LUT", "FF", "DSP", "BRAM_18K"):
        left.plot(reuse, [r.share()[resource] for r in reports], "o-", label=resource)
    left.set_xscale("log", base=2)
    left.set_xlabel("reuse factor")
    left.set_ylabel("% of the xc7z020")
    left.legend(frameon=False)
    left.set_title("resources")
    right.plot(reuse, [r.latency_cycles for r in reports], "o-", label="latency")
    right.plot(reuse, [r.interval_cycles for r in reports], "s--", label="initiation interval")
    right.set_xscale("log", base=2)
    right.set_xlabel("reuse factor")
    right.set_ylabel("clock cycles (10 ns)")
    right.legend(frameon=False)
    right.set_title("latency")
    fig.suptitle(title)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def strategy_sweep(sweeps: dict[str, list], *, title: str, label: str) -> Figure:
    """DSP and LUT shares, latency and initiation interval against the reuse factor, one line
    per strategy (``sweeps``: strategy -> list of ResourceReport)."""
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.2))
    panels = (  # what, its label, log scale
        (lambda r: r.share()["DSP"], "DSP [% of the xc7z020]", False),
        (lambda r: r.share()["LUT"], "LUT [% of the xc7z020]", False),
        (lambda r: r.latency_cycles, "latency [clock cycles]", True),
        (lambda r: r.interval_cycles, "initiation interval [clock cycles]", True),
    )
    for ax, (value, ylabel, log) in zip(axes.flat, panels, strict=True):
        for (strategy, reports), marker in zip(sweeps.items(), "os", strict=False):
            reuse = [r.settings["reuse_factor"] for r in reports]
            ax.plot(reuse, [value(r) for r in reports], f"{marker}-", label=strategy)
        ax.set_xscale("log", base=2)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("reuse factor")
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def block_diagram(design, *, label: str) -> Figure:
    """The overlay's block design (a :class:`pynq_ia.blockdesign.BlockDesign`) as a figure."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(11, 4.6))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4.6)
    ax.axis("off")

    def box(x, y, w, h, title, lines, color):
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                w,
                h,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=color,
                edgecolor="0.25",
                linewidth=1.4,
            )
        )
        ax.text(
            x + w / 2, y + h - 0.28, title, ha="center", va="top", fontsize=11, fontweight="bold"
        )
        for i, line in enumerate(lines):
            ax.text(x + w / 2, y + h - 0.68 - 0.3 * i, line, ha="center", va="top", fontsize=8.5)

    def arrow(x0, y0, x1, y1, text, color="0.2", offset=0.12):
        ax.add_patch(
            FancyArrowPatch(
                (x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=14, linewidth=1.6, color=color
            )
        )
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2 + offset,
            text,
            ha="center",
            va="bottom",
            fontsize=8,
            color=color,
        )

    dma, ip = design.dma, design.ip
    box(
        0.2,
        0.9,
        2.4,
        3.2,
        "Zynq PS7",
        [
            "ARM Cortex-A9 + DDR",
            f"{design.gp_port} (registers)",
            f"{design.hp_port} (data)",
            f"FCLK_CLK0 {design.fclk0_mhz:g} MHz",
        ],
        "#dbeafe",
    )
    box(
        3.9,
        0.9,
        2.6,
        3.2,
        f"AXI DMA ({dma.name})",
        [
            "simple mode, polled" if not dma.scatter_gather else "scatter-gather",
            f"registers at {dma.base_address:#010x}",
            f"memory side {dma.memory_map_width} bit",
            f"max transfer {dma.max_transfer_bytes / 2**20:.0f} MiB",
        ],
        "#fef3c7",
    )
    box(
        7.8,
        0.9,
        3.0,
        3.2,
        f"{ip.model}_axi ({ip.cell})",
        [
            "hls4ml IP, ap_ctrl_none",
            f"in: {ip.n_in} x {ip.input_width} bit",
            f"out: {ip.n_out} x {ip.output_width} bit",
            f"HLS clock {design.hls_clock_period_ns:g} ns",
        ],
        "#dcfce7",
    )
    arrow(2.6, 3.55, 3.9, 3.55, "AXI-Lite (GP0)")
    # arrows follow the data: DDR -> DMA (MM2S reads memory), DMA -> DDR (S2MM writes it)
    arrow(2.6, 2.45, 3.9, 2.45, "MM2S: frames from DDR (HP0)")
    arrow(3.9, 1.55, 2.6, 1.55, "S2MM: results to DDR (HP0)")
    arrow(6.5, 3.0, 7.8, 3.0, f"AXIS in_r {dma.mm2s_stream_width} bit", color="#15803d")
    arrow(7.8, 1.9, 6.5, 1.9, f"AXIS out_r {dma.s2mm_stream_width} bit", color="#15803d")
    ax.text(
        5.5,
        0.35,
        f"{design.design}: {design.part}, board part {design.board_part}",
        ha="center",
        fontsize=9,
        color="0.3",
    )
    stamp(fig, label)
    return fig


# ------------------------------------------------------------------------------ concept figures


def reuse_factor_concept(products: int = 8, reuse_factors: Sequence[int] = (1, 2, 4)) -> Figure:
    """A layer's ``products`` multiplications on multipliers (rows) over clock cycles (columns).

    With reuse factor R every multiplier computes R products one after the other: R times
    fewer multipliers, R cycles instead of one.
    """
    fig, axes = plt.subplots(1, len(reuse_factors), figsize=(11, 3.2),
                             gridspec_kw={"width_ratios": list(reuse_factors)})
    palette = plt.get_cmap("tab20").colors
    for ax, reuse in zip(axes, reuse_factors, strict=True):
        multipliers = products // reuse
        for product in range(products):
            unit, cycle = product % multipliers, product // multipliers
            ax.add_patch(plt.Rectangle((cycle + 0.05, multipliers - unit - 0.95), 0.9, 0.9,
                                       color=palette[product % len(palette)]))
            ax.text(cycle + 0.5, multipliers - unit - 0.5, f"w{product}·x{product}",
                    ha="center", va="center", fontsize=8)
        ax.set_xlim(0, reuse)
        ax.set_ylim(0, products)
        ax.set_xticks([c + 0.5 for c in range(reuse)], [str(c + 1) for c in range(reuse)])
        ax.set_yticks([])
        ax.set_xlabel("clock cycle")
        cycles = f"{reuse} cycle{'s' if reuse > 1 else ''}"
        ax.set_title(f"reuse factor {reuse}\n{multipliers} multipliers, {cycles}", fontsize=10)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    axes[0].set_ylabel("multipliers")
    fig.suptitle(f"One layer's {products} multiplications, scheduled by hls4ml", fontsize=11)
    fig.tight_layout()
    return fig


def io_types_concept() -> Figure:
    """``io_parallel`` (every value of a layer at once, in registers) against ``io_stream``
    (values one after the other through FIFOs; a convolution keeps a few rows in a buffer)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
    for layer, x in enumerate((0.0, 2.2, 4.4)):
        for i in range(4):
            left.add_patch(plt.Rectangle((x, 3 - i), 0.8, 0.8, facecolor="#dbeafe",
                                         edgecolor="#1d4ed8"))
        if layer < 2:
            for i in range(4):
                for j in range(4):
                    left.plot([x + 0.8, x + 2.2], [3.4 - i, 3.4 - j], color="#93c5fd", lw=0.8)
    left.text(2.6, -0.55, "all values of a layer at once: every product has its own wire",
              ha="center", fontsize=9)
    left.set_title("io_parallel (the dense networks)", fontsize=10)
    for i in range(6):  # pixels in flight
        right.add_patch(plt.Rectangle((0.2 + 0.55 * i, 1.6), 0.45, 0.45, facecolor="#fde68a",
                                      edgecolor="#b45309"))
    right.annotate("", xy=(4.0, 1.82), xytext=(3.55, 1.82),
                   arrowprops={"arrowstyle": "->", "color": "#374151"})
    right.add_patch(plt.Rectangle((4.1, 0.9), 1.6, 1.9, facecolor="white", edgecolor="#b45309"))
    for row in range(3):  # the line buffer: three rows of the image
        right.add_patch(plt.Rectangle((4.2, 1.0 + 0.6 * row), 1.4, 0.45, facecolor="#fef3c7",
                                      edgecolor="#b45309", lw=0.8))
    right.add_patch(plt.Rectangle((4.2, 1.0), 0.45, 1.65, fill=False, edgecolor="#dc2626", lw=2))
    right.text(4.9, 3.0, "line buffer: 3 rows,\n3 x 3 window", ha="center", fontsize=8.5)
    right.annotate("", xy=(6.5, 1.82), xytext=(5.75, 1.82),
                   arrowprops={"arrowstyle": "->", "color": "#374151"})
    right.text(7.1, 1.82, "FIFO to\nthe next\nlayer", ha="center", va="center", fontsize=8.5)
    right.text(1.6, 1.2, "pixels, one per clock", ha="center", fontsize=8.5)
    right.set_title("io_stream (the CNN)", fontsize=10)
    for ax in (left, right):
        ax.set_xlim(-0.3, 7.8)
        ax.set_ylim(-0.9, 4.2)
        ax.axis("off")
    fig.tight_layout()
    return fig


#: the stages the course compares, and what is compared between neighbours
VERIFICATION_CHAIN = (
    ("float\n(Keras)", "accuracy within a tolerance\n(compression changes the model)"),
    ("QKeras\n+ pruning", "argmax agreement >= 99 %\n(softmax tables approximate exp)"),
    ("C simulation\n(hls4ml, g++)", "bit for bit\n(asserted in chapter 8)"),
    ("emulated board\n(PYNQ driver)", "bit for bit\n(test_data.npz on the board)"),
    ("PYNQ-Z2\n(the FPGA)", ""),
)


def verification_chain() -> Figure:
    """What the course compares at each step, and how strictly."""
    fig, ax = plt.subplots(figsize=(11, 2.3))
    width, gap = 1.5, 0.9
    for i, (stage, comparison) in enumerate(VERIFICATION_CHAIN):
        x = i * (width + gap)
        fill, edge = ("#ecfdf5", "#047857") if i >= 2 else ("#eff6ff", "#1d4ed8")  # exact: green
        ax.add_patch(plt.Rectangle((x, 0.9), width, 1.0, facecolor=fill, edgecolor=edge, lw=1.5))
        ax.text(x + width / 2, 1.4, stage, ha="center", va="center", fontsize=9.5)
        if comparison:
            ax.annotate("", xy=(x + width + gap - 0.05, 1.4), xytext=(x + width + 0.05, 1.4),
                        arrowprops={"arrowstyle": "<->", "color": "#374151"})
            ax.text(x + width + gap / 2, 0.75, comparison, ha="center", va="top", fontsize=7.8,
                    color="#047857" if "bit for bit" in comparison else "#374151")
    ax.set_xlim(-0.1, len(VERIFICATION_CHAIN) * (width + gap) - gap + 0.1)
    ax.set_ylim(-0.1, 2.0)
    ax.axis("off")
    fig.tight_layout()
    return fig


def pruning_schedule(sparsity: Sequence[float], *, title: str, label: str) -> Figure:
    """The target sparsity of a pruning schedule at each training step."""
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.plot(np.arange(len(sparsity)), sparsity, color="#1d4ed8")
    ax.set_xlabel("training step (one batch each)")
    ax.set_ylabel("share of weights set to zero")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    stamp(fig, label)
    fig.tight_layout()
    return fig


def timing_diagram(waveform, *, frame_words: int, result_words: int, title: str,
                   label: str) -> Figure:
    """A logic analyser's view of the wrapper's two streams: one row per handshake signal
    (high as a filled band), and each word that crossed (TVALID and TREADY high at a rising
    edge), numbered frame.word. ``waveform``: a :class:`pynq_ia.board.rtl_ip.Waveform`;
    ``frame_words`` and ``result_words``: the words of a frame in and of its result out."""
    rows = [("s_axis_tvalid", "s_axis TVALID"), ("s_axis_tready", "s_axis TREADY"),
            ("s_axis_tlast", "s_axis TLAST"), ("m_axis_tvalid", "m_axis TVALID"),
            ("m_axis_tready", "m_axis TREADY"), ("m_axis_tlast", "m_axis TLAST")]
    signals = waveform.signals
    cycles = len(signals["s_axis_tvalid"])
    t = np.arange(cycles + 1)
    fig, ax = plt.subplots(figsize=(11, 3.8))
    colors = {"s": "tab:blue", "m": "tab:orange"}
    for row, (key, name) in enumerate(rows):
        level = np.append(signals[key], signals[key][-1]).astype(float) * 0.7
        y = len(rows) + 1 - row
        ax.fill_between(t, y, y + level, step="post", color=colors[key[0]], alpha=0.35, lw=0)
        ax.step(t, y + level, where="post", color=colors[key[0]], lw=1)
        ax.text(-0.8, y + 0.3, name, ha="right", va="center", fontsize=8)
    # the words that crossed, as frame.word, on a row of their own per stream
    for stream, y in (("s", 0.9), ("m", 0.1)):
        fired = np.flatnonzero(signals[f"{stream}_axis_tvalid"] & signals[f"{stream}_axis_tready"])
        per_frame = frame_words if stream == "s" else result_words
        for n, cycle in enumerate(fired):
            ax.text(cycle + 0.5, y + 0.35, f"{n // per_frame + 1}.{n % per_frame + 1}",
                    ha="center", va="center", fontsize=5.5, rotation=90, color=colors[stream])
        ax.text(-0.8, y + 0.35, f"{stream}_axis words", ha="right", va="center", fontsize=8)
    for edge in range(0, cycles + 1, frame_words):
        ax.axvline(edge, color="0.85", lw=0.6, zorder=0)
    ax.set_xlim(0, cycles)
    ax.set_ylim(0, len(rows) + 2)
    ax.set_yticks([])
    ax.set_xlabel("FCLK0 cycle")
    ax.set_title(title)
    stamp(fig, label)
    fig.tight_layout()
    return fig

