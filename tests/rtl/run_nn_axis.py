"""Protocol tests of nn_axis.v, in the RTL venv: a small da4ml core, cocotb, Verilator.

    python tests/rtl/run_nn_axis.py WORK_FOLDER [FRAMES]

da4ml writes a pipelined core (16 inputs of ap_fixed<16,6> -> 5 outputs of ap_fixed<16,4>, the
jet tagger's I/O, through 8 ReLU-like units, random weights); nn_axis.v wraps it; cocotb's
Verilator runner builds both and runs tests/rtl/nn_axis_bench.py against the core's expected
words, computed by da4ml's own ``predict``. Prints a JSON summary on its last line; exits
non-zero on a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from pynq_ia import rtl_da4ml  # noqa: E402  (after the checkout is on the path)

N_IN, HIDDEN, N_OUT, SEED = 16, 8, 5, 20261206
INPUT_TYPE = {"width": 16, "integer": 6, "signed": True, "rounding": "TRN", "overflow": "WRAP"}
OUTPUT_TYPE = {"width": 16, "integer": 4, "signed": True, "rounding": "TRN", "overflow": "WRAP"}


def core(folder: Path):
    """A small network as da4ml's pipelined RTL: the traced logic and its metadata.

    Its output fields are narrower than the output words and end 5 bits above the words'
    last fraction bit (the jet tagger's: 14 bits, 1 bit above), so the wrapper's sign
    extension and shift are exercised."""
    from da4ml.codegen import RTLModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize

    rng = np.random.default_rng(SEED)
    hidden_weights = rng.integers(-8, 8, size=(N_IN, HIDDEN)) / 8
    weights = rng.integers(-4, 4, size=(HIDDEN, N_OUT)) / 2  # one fraction bit
    bias = rng.integers(-4, 4, size=N_OUT) / 2
    inputs = FixedVariableArrayInput((N_IN,))
    x = quantize(inputs, *rtl_da4ml.kif(INPUT_TYPE))
    hidden = quantize(x @ hidden_weights, 0, 0, 6, "SAT", "TRN")  # a ReLU to 6 fraction bits
    logits = quantize(hidden @ weights + bias, *rtl_da4ml.kif(OUTPUT_TYPE), "WRAP", "TRN")
    logic = comb_trace(inputs, logits)
    model = RTLModel(logic, "nn_core_test", folder, flavor="verilog", latency_cutoff=2,
                     print_latency=False)
    model.write()
    return logic, json.loads((folder / "metadata.json").read_text())


def transfers(n_words: int, rng) -> np.ndarray:
    """Where DMA transfers end: random lengths, most not a whole number of frames (TLAST in
    the middle of a frame, a short last frame completed by the next transfer)."""
    ends, at = [], 0
    while at < n_words:
        at = min(n_words, at + int(rng.integers(1, 12 * N_IN)))
        ends.append(at)
    return np.array(ends)


def main(work: Path, n_frames: int) -> dict:
    from cocotb_tools.runner import get_runner

    work.mkdir(parents=True, exist_ok=True)
    logic, metadata = core(work / "core")
    parameters = rtl_da4ml.nn_axis_parameters(logic, int(metadata["latency"]), INPUT_TYPE,
                                              OUTPUT_TYPE)
    rng = np.random.default_rng(SEED + 1)
    words = rng.integers(-(2**15), 2**15, size=(n_frames, N_IN))  # ap_fixed<16,6> bits
    expected = logic.predict(words / 2.0**10)  # da4ml's own model of the RTL
    output_words = np.round(expected * 2.0**12).astype(np.int64) & 0xFFFF
    ends = transfers(words.size, rng)
    # a frame carries TLAST when a transfer ends inside it; its last output word then has it
    tlast_frames = np.unique((ends - 1) // N_IN)
    case = work / "case.npz"
    np.savez(case, input_words=(words.ravel() & 0xFFFF), output_words=output_words,
             transfer_ends=ends, tlast_after_words=(tlast_frames + 1) * N_OUT, seed=SEED,
             n_in=N_IN, n_out=N_OUT)

    core_sources = sorted((work / "core" / "src").glob("*.v"))
    blocks = [p for p in sorted((work / "core" / "src" / "static").glob("*.v"))
              if p.stem != "lookup_table"]
    env = rtl_da4ml.verilator_environment()
    os.environ.update({"PATH": env["PATH"], "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"})
    runner = get_runner("verilator")
    runner.build(sources=[rtl_da4ml.NN_AXIS_VERILOG, *core_sources, *blocks],
                 hdl_toplevel="nn_axis", parameters=parameters,
                 defines={"NN_CORE": "nn_core_test_wrapper"}, build_dir=work / "sim_build",
                 build_args=["-Wno-fatal"], always=True)
    # the bench runs from the work folder: cocotb's pytest machinery would otherwise load the
    # course's conftest.py files above tests/rtl, which need the course's venv
    shutil.copy(HERE / "nn_axis_bench.py", work / "nn_axis_bench.py")
    results = runner.test(hdl_toplevel="nn_axis", test_module="nn_axis_bench",
                          test_dir=work, build_dir=work / "sim_build",
                          results_xml=str(work / "results.xml"),
                          extra_env={"NN_AXIS_CASE": str(case),
                                     "COCOTB_LOG_LEVEL": "WARNING"})  # not every frame
    from cocotb_tools.check_results import get_results

    tests, failed = get_results(results)
    return {"frames": n_frames, "transfers": int(ends.size),
            "frames_with_tlast": int(tlast_frames.size),
            "tlast_mid_frame": int(np.count_nonzero(ends % N_IN)),
            "parameters": parameters, "tests": tests, "failed": failed}


if __name__ == "__main__":
    summary = main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
    print(json.dumps(summary))
    sys.exit(1 if summary["failed"] or not summary["tests"] else 0)
