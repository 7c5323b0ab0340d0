"""Model compression: QKeras quantization-aware training and magnitude pruning.

- :class:`Quantization` says how many bits weights and activations get; the model factories of
  :mod:`pynq_ia.models` build QKeras layers from it (same topology, same layer names).
- :func:`prune` wraps a model with tensorflow-model-optimization's ``prune_low_magnitude``: during
  training the smallest weights of each layer are forced to zero until the target sparsity is
  reached. :func:`strip` removes the wrappers (and keeps the zeros) before export.
- :func:`sparsity_report` measures the sparsity *from the weights themselves*, so it reports what
  the exported model really has, not what the schedule asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Keras 2.15 warns whenever QKeras writes a layer's configuration: QKeras serializes its
#: quantizers through ``keras.constraints.serialize``, which expects constraints. The
#: configuration it writes is complete (``load_qmodel`` reads it back, hls4ml reads the
#: quantizers from it), so for QKeras quantizers, and only for them, the warning is harmless.
QKERAS_SERIALIZATION_WARNING = (
    r"The `keras\.constraints\.serialize\(\)` API should only be used for objects of type "
    r"`keras\.constraints\.Constraint`\. Found an instance of type <class 'qkeras\."
)


@contextmanager
def quiet_qkeras_serialization() -> Iterator[None]:
    """Silence Keras' harmless warning about QKeras quantizers (see the constant above) for the
    calls inside; every other warning still shows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", QKERAS_SERIALIZATION_WARNING, UserWarning)
        yield


@dataclass(frozen=True)
class Quantization:
    """Fixed-point widths for QKeras: ``bits`` in total, ``integer`` of them before the point.

    Weights use ``quantized_bits(bits, weight_integer, alpha=1)``: a signed value in
    [-2^weight_integer, 2^weight_integer) with ``bits`` bits; activations use
    ``quantized_relu(activation_bits, activation_integer)``.
    """

    bits: int = 6
    weight_integer: int = 0
    activation_bits: int | None = None
    activation_integer: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.bits <= 32:
            raise ValueError(f"bits must be within 2..32, not {self.bits}")
        if not 0 <= self.weight_integer < self.bits:
            raise ValueError("weight_integer must be within 0..bits-1")

    @property
    def relu_bits(self) -> int:
        return self.activation_bits or self.bits

    def weight_quantizer(self):
        from qkeras import quantized_bits

        return quantized_bits(self.bits, self.weight_integer, alpha=1)

    def relu(self):
        from qkeras import quantized_relu

        return quantized_relu(self.relu_bits, self.activation_integer)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "activation_bits": self.relu_bits}


@dataclass(frozen=True)
class Pruning:
    """Target sparsity reached by a polynomial schedule during the first part of training."""

    sparsity: float = 0.5
    #: fraction of the training steps over which sparsity ramps up from 0
    ramp_fraction: float = 0.6
    frequency: int = 20

    def __post_init__(self) -> None:
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"sparsity must be within [0, 1), not {self.sparsity}")


def prune(model, pruning: Pruning, steps: int):
    """Wrap every prunable layer of ``model`` for magnitude pruning over ``steps`` steps."""
    import tensorflow_model_optimization as tfmot

    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=pruning.sparsity,
        begin_step=0,
        end_step=max(1, int(steps * pruning.ramp_fraction)),
        frequency=pruning.frequency,
    )

    def wrap(layer):
        # only layers with weights to prune; the output layer is pruned too (hls4ml tutorial)
        if layer.__class__.__name__ in {"Dense", "Conv2D", "QDense", "QConv2D"}:
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    import tensorflow as tf

    with quiet_qkeras_serialization():
        return tf.keras.models.clone_model(model, clone_function=wrap)


def pruning_callbacks() -> list:
    import tensorflow_model_optimization as tfmot

    return [tfmot.sparsity.keras.UpdatePruningStep()]


def strip(model):
    """The model without pruning wrappers (its pruned weights stay zero)."""
    import tensorflow_model_optimization as tfmot

    return tfmot.sparsity.keras.strip_pruning(model)


def sparsity_report(model) -> list[dict[str, Any]]:
    """Per layer with a kernel: number of weights, zeros, and the sparsity (zeros / weights)."""
    rows = []
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        weights = np.asarray(kernel.numpy())
        zeros = int(np.count_nonzero(weights == 0))
        rows.append(
            {
                "layer": layer.name,
                "weights": int(weights.size),
                "zeros": zeros,
                "sparsity": zeros / weights.size,
            }
        )
    return rows


def total_sparsity(report: list[dict[str, Any]]) -> float:
    """Sparsity over all kernels together."""
    weights = sum(row["weights"] for row in report)
    return sum(row["zeros"] for row in report) / weights if weights else 0.0


def quantized_kernels(model) -> dict[str, np.ndarray]:
    """The kernels as the hardware sees them: QKeras layers' weights after their quantizer."""
    kernels = {}
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        quantizer = getattr(layer, "kernel_quantizer_internal", None)
        values = quantizer(kernel).numpy() if quantizer is not None else kernel.numpy()
        kernels[layer.name] = np.asarray(values)
    return kernels


def activation_saturation(model, x: np.ndarray) -> list[dict[str, Any]]:
    """Per quantized ReLU of a QKeras model: its range and the share of outputs at its top
    value on inputs ``x`` (those would have been larger: the range clipped them).

    The layers are applied one after the other (every course design is a single chain), not
    through ``keras.Model(model.input, layer.output)``: after ``strip_pruning`` the layers
    also belong to the pruned model's graph, and ``layer.output`` may point there.
    """
    from tensorflow import keras

    rows = []
    values = x
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        values = layer(values, training=False)
        quantizer = getattr(layer, "quantizer", None)
        if quantizer is None or not hasattr(quantizer, "integer"):
            continue
        bits, integer = int(quantizer.bits), int(quantizer.integer)
        top = 2.0**integer - 2.0 ** (integer - bits)
        rows.append({"layer": layer.name, "quantizer": str(quantizer),
                     "range": f"[0, {top:g}]",
                     "saturated": float(np.mean(np.asarray(values) >= top))})
    return rows
