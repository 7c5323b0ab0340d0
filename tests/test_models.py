"""Model factories, quantizer settings, pruning and the sparsity report."""

import numpy as np
import pytest

from pynq_ia import compress, models
from pynq_ia.compress import Pruning, Quantization

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


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("flavour", models.FLAVOURS)
def test_factories_shapes_and_stable_layer_names(name, flavour):
    input_shape, classes, layer_names = EXPECTED[name]
    model = models.spec(name).build(flavour)
    assert tuple(model.input_shape[1:]) == input_shape
    assert model.output_shape == (None, classes)
    assert [layer.name for layer in model.layers] == layer_names
    out = model(np.zeros((2, *input_shape), dtype=np.float32)).numpy()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)  # softmax


def test_jet_dnn_topology():
    model = models.jet_dnn()
    units = [layer.units for layer in model.layers if hasattr(layer, "units")]
    assert units == [64, 32, 32, 5]


def test_mnist_cnn_fits_a_small_fpga():
    # the CNN is meant to stay small: a few thousand weights (see the training chapter)
    assert models.mnist_cnn().count_params() < 10_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_quantized_flavour_uses_the_spec_quantizers(name):
    spec = models.spec(name)
    model = spec.build("qkeras")
    q = spec.quantization
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
    assert models.spec("jet_dnn").quantization.bits == 6


def test_quantized_kernels_take_few_values():
    model = models.jet_dnn(Quantization(bits=3))
    for kernel in compress.quantized_kernels(model).values():
        assert np.unique(kernel).size <= 2**3
        assert np.all(np.abs(kernel) <= 1.0)


def test_unknown_model_and_flavour():
    with pytest.raises(KeyError, match="unknown model"):
        models.spec("resnet")
    with pytest.raises(ValueError, match="flavour"):
        models.spec("jet_dnn").build("int8")


@pytest.mark.parametrize("bad", [dict(bits=1), dict(bits=6, weight_integer=6)])
def test_quantization_validation(bad):
    with pytest.raises(ValueError):
        Quantization(**bad)


def test_pruning_validation():
    with pytest.raises(ValueError):
        Pruning(sparsity=1.0)


def test_sparsity_report_counts_zeros_in_the_weights():
    model = models.jet_dnn()
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
    result = models.fit(
        models.jet_dnn(Quantization(bits=6)),
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


def test_accuracy_floors():
    from pynq_ia.profile import PROFILES

    assert models.accuracy_floor("mnist_cnn", PROFILES["full"]) == 0.985
    assert models.accuracy_floor("jet_dnn", PROFILES["full"], "real") == 0.76
    assert models.accuracy_floor("jet_dnn", PROFILES["full"], "simulated") < 0.76
    assert models.accuracy_floor("jet_dnn", PROFILES["ci"], "simulated") > 0.2  # above chance


def test_compression_tolerance():
    from pynq_ia.profile import PROFILES

    assert models.compression_tolerance("jet_dnn", PROFILES["full"], "real") == 0.01
    assert models.compression_tolerance("mnist_cnn", PROFILES["full"]) == 0.01
    assert models.compression_tolerance("jet_dnn", PROFILES["full"], "simulated") == 0.02
    assert models.compression_tolerance("jet_dnn", PROFILES["ci"], "simulated") == 0.08
