"""hls4ml conversion: the configuration, the compiled project, the word runner, agreement."""

from types import SimpleNamespace

import numpy as np
import pytest

from pynq_ia import convert, designs, training, word_runner
from pynq_ia.board.csim import WordRunner
from pynq_ia.compress import Quantization


def test_explicit_precisions_in_the_config():
    model = designs.jet_dnn(Quantization(bits=6))
    settings = designs.design("jet_dnn").hls
    config = convert.hls_config(model, settings)
    layers = config["LayerName"]
    assert layers["inputs"]["Precision"]["result"] == settings.input_precision
    expected = settings.softmax_input_precision
    assert layers["output"]["Precision"]["result"] == expected == "ap_fixed<16,4>"
    # the trap: hls4ml inserts a linear layer after the QKeras output whose type is 'auto'
    assert layers["output_linear"]["Precision"]["result"] == expected
    softmax = layers["softmax"]
    assert softmax["Precision"]["result"] == settings.output_precision
    assert softmax["Precision"]["exp_table"] == settings.softmax_table_precision
    assert softmax["TableSize"] == settings.softmax_table_size == 4096
    assert "auto" not in str(softmax["Precision"])


def test_the_post_training_configuration_types_weights_and_relus_only():
    model = designs.jet_dnn(None)  # float
    settings = designs.design("jet_dnn").hls
    peaks = {"relu1": 9.4, "relu2": 1.0, "relu3": 0.3}
    assert {name: convert.integer_bits(p) for name, p in peaks.items()} == {
        "relu1": 4, "relu2": 1, "relu3": 0}  # [0, 16) holds 9.4, [0, 2) holds 1.0
    config = convert.ptq_config(model, settings, 8, peaks)
    design_config = convert.hls_config(model, settings)
    layers = config["LayerName"]
    for dense in ("fc1", "fc2", "fc3", "output"):
        assert layers[dense]["Precision"]["weight"] == "ap_fixed<8,1,AP_RND_CONV,AP_SAT>"
        assert layers[dense]["Precision"]["bias"] == "ap_fixed<8,1,AP_RND_CONV,AP_SAT>"
    assert layers["relu1"]["Precision"]["result"] == "ap_ufixed<8,4,AP_RND_CONV,AP_SAT>"
    assert layers["relu3"]["Precision"]["result"] == "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"
    for kept in ("inputs", "output_linear", "softmax"):  # the design's word, logits, softmax
        assert layers[kept] == design_config["LayerName"][kept]
    assert layers["fc2"]["Precision"]["result"] == design_config["LayerName"]["fc2"][
        "Precision"]["result"]  # the sums keep hls4ml's types


@pytest.mark.slow
def test_project_targets_the_pynq_z2_at_100_mhz(compiled_jet_dnn):
    project, _ = compiled_jet_dnn
    config = project.hls_model.config
    assert config.get_config_value("Part") == "xc7z020clg400-1"
    assert float(config.get_config_value("ClockPeriod")) == 10.0
    assert config.get_config_value("AcceleratorConfig")["Board"] == "pynq-z2"
    header = (project.directory / "firmware" / "jet_dnn_axi.h").read_text()
    assert "typedef ap_fixed<16,6,AP_RND_CONV,AP_SAT,0> T_in;" in header
    assert "typedef ap_fixed<16,1,AP_RND_CONV,AP_SAT,0> T_out;" in header
    assert "fixed<16" not in header.replace("ap_fixed<16", "")
    # the softmax's input really is the type we set (not the model default)
    softmax_input = project.hls_model.graph["softmax"].get_input_variable().type.precision
    assert (softmax_input.width, softmax_input.integer) == (16, 4)


def _random_inputs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(0, 3, size=shape).astype(np.float32)
    flat = x.reshape(len(x), -1)
    flat[::7, 3] = 55.0  # out of range: saturates
    flat[::11, 5] = -80.0
    return x


@pytest.mark.slow
def test_word_runner_is_bit_identical_to_hls4ml_predict(compiled_jet_dnn):
    project, _ = compiled_jet_dnn
    x = _random_inputs((300, 16), seed=0)
    np.testing.assert_array_equal(project.predict(x), project.hls4ml_predict(x))
    words, saturated = project.settings.input_format.encode(x)
    assert saturated == len(range(0, 300, 7)) + len(range(0, 300, 11))
    out = project.words.run(words)
    assert out.shape == (300, 5) and out.dtype == np.int16


@pytest.mark.slow
def test_word_runner_validates_its_input(compiled_jet_dnn):
    project, _ = compiled_jet_dnn
    with pytest.raises(ValueError, match="whole number"):
        project.words.run(np.zeros(17, dtype=np.int16))
    with pytest.raises(ValueError, match="3 TLAST bits for 32 words"):
        project.words.run_stream(np.zeros(32, dtype=np.int16), np.zeros(3, dtype=np.uint8))


@pytest.mark.slow
def test_the_ip_raises_tlast_at_the_end_of_frames_that_carried_it(compiled_jet_dnn):
    project, _ = compiled_jet_dnn
    words, _ = project.settings.input_format.encode(_random_inputs((4, 16), seed=1))
    out, last = project.words.run_stream(words)  # one transfer: TLAST on the very last word
    assert last.reshape(-1).tolist() == [0] * 19 + [1]
    tlast = np.zeros((4, 16), dtype=np.uint8)
    tlast[1, 3] = tlast[3, 15] = 1  # a TLAST inside frame 2, and at the end of frame 4
    _, last = project.words.run_stream(words, tlast)
    assert np.flatnonzero(last.reshape(-1)).tolist() == [9, 19]  # last words of frames 2 and 4
    np.testing.assert_array_equal(project.words.run_stream(words, tlast)[0], out)


@pytest.mark.slow
def test_c_simulation_follows_qkeras(compiled_jet_dnn):
    project, model = compiled_jet_dnn
    x = np.random.default_rng(1).normal(0, 1, size=(500, 16)).astype(np.float32)
    result = convert.compare(training.predict(model, x), project.predict(x))
    # an untrained network has many near-equal scores, where the table softmax may flip the
    # top class; trained models must reach 99 % (checked in chapter 4)
    assert result["argmax_agreement"] >= 0.9
    assert result["max_abs_difference"] < 0.1
    assert not result["constant_outputs"]


def test_compare_flags_constant_outputs():
    reference = np.random.default_rng(0).dirichlet(np.ones(5), size=50)
    constant = np.tile(np.array([0.2, 0.2, 0.2, 0.2, 0.2]), (50, 1))
    assert convert.compare(reference, constant)["constant_outputs"]
    assert not convert.compare(reference, reference)["constant_outputs"]
    assert convert.compare(reference, reference)["argmax_agreement"] == 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        convert.compare(reference, reference[:, :4])


@pytest.mark.slow
def test_rebuilding_in_the_same_folder_loads_the_new_library(tmp_path):
    """dlopen returns an already-loaded library for the same path: each build gets a new one."""
    from tensorflow import keras

    x = np.random.default_rng(2).normal(0, 2, size=(100, 16)).astype(np.float32)
    outputs = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        model = designs.jet_dnn(Quantization(bits=6))
        project = convert.hls_project("jet_dnn", model, directory=tmp_path / "same")
        outputs.append(project.predict(x))
        np.testing.assert_array_equal(outputs[-1], project.hls4ml_predict(x))
    assert not np.array_equal(outputs[0], outputs[1])


def _zero_most_weights(model, fraction: float, seed: int) -> None:
    """Prune by hand: set a random ``fraction`` of every kernel to zero."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights and weights[0].ndim >= 2:
            weights[0] = np.where(rng.random(weights[0].shape) < fraction, 0.0, weights[0])
            layer.set_weights(weights)


@pytest.mark.slow
@pytest.mark.parametrize(
    "quantizer",
    [
        "quantized_bits(6,0,alpha=1)",
        # a binary weight of 0 means -1: the kernel must leave such layers to hls4ml's code
        "binary(alpha=1)",
    ],
)
def test_skipping_zero_weights_gives_the_same_bits(tmp_path, quantizer):
    """A pruned dense network: the C simulation with and without the products by zero."""
    from qkeras import QActivation, QDense
    from tensorflow import keras

    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [
            keras.layers.Input(shape=(16,), name="inputs"),
            QDense(
                32,
                kernel_quantizer=quantizer,
                bias_quantizer="quantized_bits(6,0,alpha=1)",
                # seeded: QKeras draws from it more than once for a binary kernel, and Keras
                # warns about an unseeded initializer called twice
                kernel_initializer=keras.initializers.HeNormal(seed=6),
                name="fc1",
            ),
            QActivation("quantized_relu(6)", name="relu1"),
            QDense(
                5,
                kernel_quantizer="quantized_bits(6,0,alpha=1)",
                bias_quantizer="quantized_bits(6,0,alpha=1)",
                name="output",
            ),
            keras.layers.Activation("softmax", name="softmax"),
        ]
    )
    _zero_most_weights(model, 0.7, seed=5)
    project = convert.hls_project(
        "jet_dnn", model, settings=designs.design("jet_dnn").hls, directory=tmp_path / "p"
    )
    words, _ = project.settings.input_format.encode(_random_inputs((400, 16), seed=6))
    (tmp_path / "as_written").mkdir()
    as_written = word_runner.build_word_runner(
        project.directory, "jet_dnn", project.settings, workers=1, skip_zero_weights=False,
        out_dir=tmp_path / "as_written",
    )
    expected = as_written.run(words)
    np.testing.assert_array_equal(project.words.run(words), expected)
    assert np.unique(expected.argmax(1)).size > 1


@pytest.mark.slow
def test_cnn_on_several_workers_matches_one_call(tmp_path):
    """io_stream layers keep static state: each worker thread needs its own library copy."""
    from tensorflow import keras

    keras.utils.set_random_seed(7)
    model = designs.mnist_cnn(Quantization(bits=8))
    _zero_most_weights(model, 0.5, seed=8)
    project = convert.hls_project("mnist_cnn", model, directory=tmp_path / "cnn")
    x = _random_inputs((3 * WordRunner.MIN_FRAMES_PER_WORKER + 5, 28, 28, 1), seed=9)
    words, _ = project.settings.input_format.encode(x.reshape(len(x), -1))
    for folder in ("as_written", "three"):
        (tmp_path / folder).mkdir()
    as_written = word_runner.build_word_runner(
        project.directory, "mnist_cnn", project.settings, workers=1, skip_zero_weights=False,
        out_dir=tmp_path / "as_written",
    )
    three = word_runner.build_word_runner(project.directory, "mnist_cnn", project.settings,
                                          workers=3, out_dir=tmp_path / "three")
    expected = as_written.run(words)
    np.testing.assert_array_equal(three.run(words), expected)
    np.testing.assert_array_equal(three.run(words[:1]), expected[:1])  # below the split size
    copies = sorted(three.library_path.parent.glob(f"{three.library_path.stem}.*.copy*.so"))
    assert len(copies) == 2


@pytest.mark.slow
def test_a_compiled_project_is_reused_without_compiling(tmp_path, monkeypatch):
    """The second hls_project call for the same model loads the libraries: g++ never runs."""
    import os

    from tensorflow import keras

    keras.utils.set_random_seed(11)
    model = designs.jet_dnn(Quantization(bits=6))
    first = convert.hls_project("jet_dnn", model, directory=tmp_path / "project")
    assert not first.from_cache
    fake = tmp_path / "bin"  # a g++ that fails: any compile from here on breaks the call
    fake.mkdir()
    (fake / "g++").write_text("#!/bin/sh\necho 'g++ must not run' >&2\nexit 1\n")
    (fake / "g++").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    again = convert.hls_project("jet_dnn", model, directory=tmp_path / "project")
    assert again.from_cache and again.compile_seconds == first.compile_seconds
    x = _random_inputs((100, 16), seed=12)
    np.testing.assert_array_equal(again.predict(x), first.predict(x))
    np.testing.assert_array_equal(again.hls4ml_predict(x), first.hls4ml_predict(x))
    # other weights are another project: it must compile (and here, cannot)
    fc1 = model.get_layer("fc1")
    weights = fc1.get_weights()
    fc1.set_weights([w * 0.5 for w in weights])
    with pytest.raises(Exception):  # noqa: B017 - hls4ml's build script fails its own way
        convert.hls_project("jet_dnn", model, directory=tmp_path / "project")
    # the cache moved with its checkout: hls4ml's library would read its weights from the old
    # folder (build_lib.sh bakes WEIGHTS_DIR in), so the project compiles again, same bits
    monkeypatch.undo()
    fc1.set_weights(weights)
    moved = tmp_path / "moved"
    moved.mkdir()
    for part in ("project", ".builds"):
        (tmp_path / part).rename(moved / part)
    there = convert.hls_project("jet_dnn", model, directory=moved / "project")
    assert not there.from_cache
    np.testing.assert_array_equal(there.hls4ml_predict(x), first.hls4ml_predict(x))


@pytest.mark.slow
def test_a_damaged_project_library_is_compiled_again(tmp_path):
    import json
    import subprocess
    import sys

    from tensorflow import keras

    # the first compile in another process: this one must not have the library mapped when the
    # test damages it
    build = (
        "from tensorflow import keras; from pynq_ia import convert, designs; "
        "from pynq_ia.compress import Quantization; keras.utils.set_random_seed(13); "
        f"convert.hls_project('jet_dnn', designs.jet_dnn(Quantization(bits=6)), "
        f"directory=r'{tmp_path / 'project'}')"
    )
    subprocess.run([sys.executable, "-c", build], check=True, capture_output=True)
    stamp = json.loads((tmp_path / "project" / convert.PROJECT_STAMP).read_text())
    library = tmp_path / "project" / stamp["word_runner"]
    library.write_bytes(library.read_bytes()[:1000])  # a full disk, a killed process
    keras.utils.set_random_seed(13)
    model = designs.jet_dnn(Quantization(bits=6))
    again = convert.hls_project("jet_dnn", model, directory=tmp_path / "project")
    assert not again.from_cache
    x = _random_inputs((50, 16), seed=14)
    np.testing.assert_array_equal(again.predict(x), again.hls4ml_predict(x))


@pytest.mark.slow
def test_tracing_uses_the_projects_library_and_leaves_its_entry_intact(tmp_path, capsys,
                                                                       monkeypatch):
    """hls4ml's trace would write and compile the project again: ours runs on the project's
    own library (g++ never runs), gives what hls4ml's predict gives, and the checksummed entry
    is loaded next time instead of being found damaged and rebuilt."""
    import os

    from tensorflow import keras

    keras.utils.set_random_seed(15)
    model = designs.jet_dnn(Quantization(bits=6))
    project = convert.hls_project("jet_dnn", model, directory=tmp_path / "traced", trace=True)
    x = _random_inputs((20, 16), seed=16)
    fake = tmp_path / "bin"  # a g++ that fails: a compile during the trace breaks it
    fake.mkdir()
    (fake / "g++").write_text("#!/bin/sh\necho 'g++ must not run' >&2\nexit 1\n")
    (fake / "g++").chmod(0o755)
    with monkeypatch.context() as env:
        env.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
        traced = convert.trace(project, x)
    assert {"fc1", "relu1", "softmax"} <= set(traced), sorted(traced)
    np.testing.assert_array_equal(traced["softmax"].reshape(20, -1), project.hls4ml_predict(x))
    assert "compile" not in vars(project.hls_model)  # hls4ml's own compile is back
    capsys.readouterr()
    again = convert.hls_project("jet_dnn", model, directory=tmp_path / "traced", trace=True)
    assert again.from_cache, capsys.readouterr().out
    np.testing.assert_array_equal(convert.trace(again, x)["fc1"], traced["fc1"])  # loaded
    untraced = SimpleNamespace(name="jet_dnn", hls_model=convert.convert(
        model, "jet_dnn", tmp_path / "plain", project.settings))  # converted, not compiled
    with pytest.raises(ValueError, match="no layer is traced"):
        convert.trace(untraced, x)
