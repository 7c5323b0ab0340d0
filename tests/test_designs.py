"""The design table: its networks, its settings, and that a new design is one entry."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pynq_ia import compress, designs, training
from pynq_ia.compress import Pruning, Quantization
from pynq_ia.designs import Design, HLSSettings
from pynq_ia.profile import PROFILES

EXPECTED = {  # layer names after the "inputs" layer
    "jet_dnn": ((16,), 5, ["fc1", "relu1", "fc2", "relu2", "fc3", "relu3", "output", "softmax"]),
    "mnist_dnn": (
        (28, 28, 1),
        10,
        ["flatten", "fc1", "relu1", "fc2", "relu2", "output", "softmax"],
    ),
    "mnist_cnn": (
        (28, 28, 1),
        10,
        [
            "conv1",
            "relu1",
            "pool1",
            "conv2",
            "relu2",
            "pool2",
            "conv3",
            "relu3",
            "flatten",
            "output",
            "softmax",
        ],
    ),
}


def test_the_table_holds_the_course_designs():
    assert designs.names() == tuple(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("flavour", designs.FLAVOURS)
def test_factories_shapes_and_stable_layer_names(name, flavour):
    input_shape, classes, layer_names = EXPECTED[name]
    model = designs.design(name).build(flavour)
    assert tuple(model.input_shape[1:]) == input_shape
    assert model.output_shape == (None, classes)
    assert [layer.name for layer in model.layers] == layer_names
    out = model(np.zeros((2, *input_shape), dtype=np.float32)).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)  # softmax


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_frame_sizes_and_summary_are_the_networks(name):
    """The table's frame sizes and layer sizes are what its factory builds."""
    entry = designs.design(name)
    model = entry.build("float")
    assert entry.n_in == int(np.prod(model.input_shape[1:]))
    assert entry.n_out == int(np.prod(model.output_shape[1:]))
    widths = [getattr(layer, "units", None) or getattr(layer, "filters", None)
              for layer in model.layers]
    stated = [int(n) for n in re.findall(r"\d+", entry.summary.split("->", 1)[1])]
    assert [w for w in widths if w] == stated, entry.summary


def test_jet_dnn_topology():
    model = designs.jet_dnn()
    units = [layer.units for layer in model.layers if hasattr(layer, "units")]
    assert units == [64, 32, 32, 5]


def test_mnist_cnn_fits_a_small_fpga():
    # the CNN is meant to stay small: a few thousand weights (see the training chapter)
    assert designs.mnist_cnn().count_params() < 10_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_quantized_flavour_uses_the_design_quantizers(name):
    entry = designs.design(name)
    model = entry.build("qkeras")
    q = entry.quantization
    kernels = [layer for layer in model.layers if hasattr(layer, "kernel_quantizer_internal")]
    assert kernels, "no QKeras layer"
    for layer in kernels:
        quantizer = layer.kernel_quantizer_internal
        assert (quantizer.bits, quantizer.integer) == (q.bits, q.weight_integer)
        assert layer.bias_quantizer_internal.bits == q.bits
    relus = [layer for layer in model.layers if layer.name.startswith("relu")]
    for layer in relus:
        assert layer.quantizer.bits == q.relu_bits
        assert layer.quantizer.integer == q.activation_integer
    assert model.layers[-1].__class__.__name__ == "Activation"  # float softmax for hls4ml


def test_jet_tagger_is_6_bit():
    assert designs.design("jet_dnn").quantization.bits == 6


def test_quantized_kernels_take_few_values():
    import warnings

    with warnings.catch_warnings():
        # at 3 bits QKeras' initializer rescales its draw and draws again from the same
        # initializer: the identical values Keras warns about are what it wants (as in
        # training.bit_width_sweep)
        warnings.filterwarnings("ignore", "The initializer LecunUniform is unseeded")
        model = designs.jet_dnn(Quantization(bits=3))
    for kernel in compress.quantized_kernels(model).values():
        assert np.unique(kernel).size <= 2**3
        assert np.all(np.abs(kernel) <= 1.0)


def test_unknown_design_and_flavour():
    with pytest.raises(KeyError, match="unknown design"):
        designs.design("resnet")
    with pytest.raises(ValueError, match="flavour"):
        designs.design("jet_dnn").build("int8")


@pytest.mark.parametrize("bad", [dict(bits=1), dict(bits=6, weight_integer=6)])
def test_quantization_validation(bad):
    with pytest.raises(ValueError):
        Quantization(**bad)


def test_pruning_validation():
    with pytest.raises(ValueError):
        Pruning(sparsity=1.0)


def test_sparsity_report_counts_zeros_in_the_weights():
    model = designs.jet_dnn()
    fc1 = model.get_layer("fc1")
    kernel = fc1.kernel.numpy()
    kernel[:, :16] = 0.0  # a quarter of fc1's 64 columns
    fc1.kernel.assign(kernel)
    report = {row["layer"]: row for row in compress.sparsity_report(model)}
    assert set(report) == {"fc1", "fc2", "fc3", "output"}
    assert report["fc1"]["weights"] == 16 * 64 and report["fc1"]["zeros"] == 16 * 16
    assert report["fc1"]["sparsity"] == pytest.approx(0.25)
    assert report["fc2"]["zeros"] == 0
    total = compress.total_sparsity(list(report.values()))
    assert total == pytest.approx(256 / (16 * 64 + 64 * 32 + 32 * 32 + 32 * 5))


@pytest.mark.slow
def test_pruning_reaches_its_target_and_strip_keeps_zeros():
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 16)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0)
    dataset = SimpleNamespace(x_train=x, y_train=y)
    result = training.fit(
        designs.jet_dnn(Quantization(bits=6)),
        dataset,
        epochs=4,
        batch_size=64,
        learning_rate=1e-3,
        pruning=Pruning(sparsity=0.6, frequency=5),
        verbose=0,
    )
    assert not any("prune" in layer.name for layer in result.model.layers)
    report = compress.sparsity_report(result.model)
    assert compress.total_sparsity(report) == pytest.approx(0.6, abs=0.02)
    assert [row["layer"] for row in report] == ["fc1", "fc2", "fc3", "output"]
    # A freshly stripped model (its layers also belong to the pruned graph) can still be
    # probed layer by layer: this failed in CI when the chapter trained instead of loading.
    saturation = compress.activation_saturation(result.model, x[:100])
    assert [row["layer"] for row in saturation] == ["relu1", "relu2", "relu3"]
    assert all(0.0 <= row["saturated"] <= 1.0 for row in saturation)


def test_accuracy_floors():
    jet, cnn = designs.design("jet_dnn"), designs.design("mnist_cnn")
    assert cnn.accuracy_floor(PROFILES["full"]) == 0.985
    assert jet.accuracy_floor(PROFILES["full"], "real") == 0.76
    assert jet.accuracy_floor(PROFILES["full"], "simulated") < 0.76
    assert jet.accuracy_floor(PROFILES["ci"], "simulated") > 0.2  # above chance
    assert cnn.accuracy_floor(PROFILES["full"], "local copy") == 0.985  # any MNIST source


def test_compression_tolerance():
    jet, cnn = designs.design("jet_dnn"), designs.design("mnist_cnn")
    assert jet.compression_tolerance(PROFILES["full"], "real") == 0.01
    assert cnn.compression_tolerance(PROFILES["full"]) == 0.01
    assert jet.compression_tolerance(PROFILES["full"], "simulated") == 0.02
    assert jet.compression_tolerance(PROFILES["ci"], "simulated") == 0.08


def test_every_design_runs_at_fclk0_with_16_bit_words():
    for entry in designs.DESIGNS.values():
        assert entry.hls.clock_period == 10.0, entry.name  # FCLK0 = 100 MHz
        assert entry.input_format.width == 16 and entry.output_format.width == 16
    assert designs.design("mnist_cnn").hls.io_type == "io_stream"
    assert designs.design("jet_dnn").hls.io_type == "io_parallel"


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="exists already"):
        designs.register(designs.design("jet_dnn"))
    with designs.registered(_toy_design("toy_once")):
        assert "toy_once" in designs.names()
    assert "toy_once" not in designs.names()


def test_the_makefile_of_the_builds_takes_its_designs_from_the_table(repo_root):
    printed = subprocess.run([sys.executable, "-m", "pynq_ia.designs"], cwd=repo_root,
                             capture_output=True, text=True, check=True).stdout.split()
    assert printed == list(designs.overlays())
    assert printed[:len(designs.names())] == list(designs.names())
    assert printed[len(designs.names()):] == ["jet_dnn_rtl"]  # the jet tagger's RTL variant
    makefile = (repo_root / "hw_builds" / "Makefile").read_text()
    assert "DESIGNS := $(shell cd .. && $(PYTHON) -m pynq_ia.designs)" in makefile


#: where a design's name may stand: the table, what tests and chapters say, generated files,
#: and documentation (which names designs as examples)
NAMES_MAY_STAND = ("pynq_ia/designs.py", "tests/", "book/", "hw_builds/*/overlay.tcl")


def test_no_module_but_the_table_holds_per_design_constants(repo_root):
    """Adding a design touches one file: no other code names a design."""
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=repo_root, capture_output=True, text=True, check=True)
    code = [Path(p) for p in tracked.stdout.split()
            if (p.endswith((".py", ".tcl", ".yml", ".toml", ".in", ".template", ".sh"))
                or Path(p).name in ("Makefile", "run"))
            and not any(Path(p).match(pattern) or p.startswith(pattern)
                        for pattern in NAMES_MAY_STAND)]
    assert any(p.as_posix() == "pynq_ia/convert.py" for p in code)  # the scan sees the package
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, designs.names())) + r")\b")
    found = [f"{p}:{n + 1}: {line.strip()}"
             for p in code if (repo_root / p).is_file()
             for n, line in enumerate((repo_root / p).read_text().splitlines())
             if pattern.search(line)]
    assert not found, "per-design constants outside the design table:\n" + "\n".join(found)


# ----------------------------------------------------------------- a new design is one entry


def _toy_network(quantization: Quantization | None = None):
    """784 -> 4 -> 10: the smallest MNIST network that still learns something."""
    from tensorflow import keras

    if quantization is None:
        hidden = keras.layers.Dense(4, name="fc1")
        relu = keras.layers.Activation("relu", name="relu1")
        output = keras.layers.Dense(10, name="output")
    else:
        from qkeras import QActivation, QDense

        weights = quantization.weight_quantizer()
        hidden = QDense(4, kernel_quantizer=weights, bias_quantizer=weights, name="fc1")
        relu = QActivation(quantization.relu(), name="relu1")
        output = QDense(10, kernel_quantizer=weights, bias_quantizer=weights, name="output")
    return keras.Sequential(
        [keras.layers.Input(shape=(28, 28, 1), name="inputs"),
         keras.layers.Flatten(name="flatten"), hidden, relu, output,
         keras.layers.Activation("softmax", name="softmax")],
        name="toy",
    )


def _toy_design(name: str = "toy_mnist") -> Design:
    return Design(
        name=name,
        task="mnist",
        summary="784 -> 4 -> 10, ReLU, softmax",
        network=_toy_network,
        quantization=Quantization(bits=6),
        pruning=Pruning(sparsity=0.5),
        learning_rate=3e-3,
        hls=HLSSettings("io_parallel", "Latency", reuse_factor=1),
        n_in=784,
        n_out=10,
        accuracy_floors={"ci": 0.5, "full": 0.8},
        compression_tolerances={"ci": 0.2, "full": 0.05},
    )


@pytest.mark.slow
def test_a_new_design_is_one_entry_through_the_whole_flow(isolated_artifacts, repo_root,
                                                          monkeypatch):
    """A toy network added to the table only: trained, compressed, converted, C-simulated and
    run through PYNQ's DMA driver on the emulated board, by the course's own functions."""
    from pynq_ia import artifacts, blockdesign, convert, data, emulation_bundles

    if data.local_data_dir() is None:
        shared = repo_root.parent / "shared" / "data"
        if not (shared / "mnist" / "mnist.npz").is_file():
            pytest.skip("no local MNIST copy (set PYNQ_IA_DATA)")
        monkeypatch.setenv(data.DATA_ENV, str(shared))
    with designs.registered(_toy_design()) as toy:
        compressed = training.trained_model(toy.name, "qkeras", verbose=0)
        recorded = artifacts.load_metrics(toy.name)["qkeras"]
        assert recorded["accuracy"] >= toy.accuracy_floor(PROFILES["ci"])
        assert recorded["sparsity"] == pytest.approx(0.5, abs=0.05)
        project = convert.hls_project(toy.name, compressed)
        assert project.settings == toy.hls
        assert blockdesign.describe(toy.name).io() == {
            "n_in": 784, "n_out": 10, "input": toy.hls.input_type, "output": toy.hls.output_type}
        session = emulation_bundles.open_emulated_design(toy.name)
        # its transfer size is the board model's, for its frame and its IP's cycles
        from pynq_ia.board import performance

        chunk = performance.chunk_frames(session.manifest, (1 << 26) - 1)
        assert session.driver.buffer_frames == chunk and session.manifest["ip"]["source"]
        scores = session.driver.predict(session.x)
        assert np.array_equal(scores, session.reference_scores)  # the C simulation's bits
        assert np.mean(scores.argmax(1) == session.y) >= toy.accuracy_floor(PROFILES["ci"])


@pytest.mark.slow
def test_the_profile_given_decides_where_a_model_is_cached(isolated_artifacts, small_jets):
    training.trained_model("jet_dnn", "float", small_jets, profile=PROFILES["full"], verbose=0)
    assert training.model_path("jet_dnn", "float", profile="full").is_file()
    assert not training.model_path("jet_dnn", "float", profile="ci").exists()
