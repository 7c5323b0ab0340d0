"""The course's models: one factory per model, each in a float and a QKeras flavour.

==============  ==========================================================  =======
model           topology                                                    task
==============  ==========================================================  =======
``jet_dnn``     16 -> 64 -> 32 -> 32 -> 5, ReLU, softmax                    jets
``mnist_dnn``   784 -> 128 -> 64 -> 10, ReLU, softmax                       mnist
``mnist_cnn``   28x28x1 -> conv 3x3x8 -> pool -> conv 3x3x16 -> pool        mnist
                -> conv 3x3x16 -> 10, ReLU, softmax
==============  ==========================================================  =======

Both flavours of a model have the same layers with the same names (``inputs``, ``fc1``,
``relu1``, ..., ``output``, ``softmax``): hls4ml's per-layer configuration refers to them (and
reserves the name ``input``). The softmax stays a
float Keras activation; hls4ml implements it with lookup tables.

:func:`trained_model` is what chapters call: it loads a model from the artifact cache, or trains
it (:func:`fit`) and stores it with its metrics, so later chapters never retrain.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts
from pynq_ia.compress import (
    Pruning,
    Quantization,
    prune,
    pruning_callbacks,
    quiet_qkeras_serialization,
    sparsity_report,
    strip,
    total_sparsity,
)
from pynq_ia.profile import Profile, active_profile

FLAVOURS = ("float", "qkeras")
SEED = 1234


def jet_dnn_float():
    """The jet tagger of the hls4ml paper in 32-bit floats: 16 -> 64 -> 32 -> 32 -> 5."""
    from tensorflow import keras

    return keras.Sequential(
        [
            keras.layers.Input(shape=(16,), name="inputs"),
            keras.layers.Dense(64, kernel_initializer="lecun_uniform", name="fc1"),
            keras.layers.Activation("relu", name="relu1"),
            keras.layers.Dense(32, kernel_initializer="lecun_uniform", name="fc2"),
            keras.layers.Activation("relu", name="relu2"),
            keras.layers.Dense(32, kernel_initializer="lecun_uniform", name="fc3"),
            keras.layers.Activation("relu", name="relu3"),
            keras.layers.Dense(5, kernel_initializer="lecun_uniform", name="output"),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="jet_dnn",
    )


def jet_dnn_qkeras(quantization: Quantization):
    """The same jet tagger with QKeras layers: fixed-point weights, biases and activations.

    ``quantized_bits(bits, integer, alpha=1)`` rounds a weight to ``bits`` bits, ``integer``
    of them before the binary point (plus the sign); ``quantized_relu(bits, integer)`` is a
    ReLU whose output is an unsigned ``bits``-bit number. The softmax stays a float Keras
    activation: hls4ml implements it with lookup tables.
    """
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    q = quantization
    weights = quantized_bits(q.bits, q.weight_integer, alpha=1)  # kernels and biases alike
    relu = quantized_relu(q.relu_bits, q.activation_integer)
    return keras.Sequential(
        [
            keras.layers.Input(shape=(16,), name="inputs"),
            QDense(64, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="fc1"),
            QActivation(relu, name="relu1"),
            QDense(32, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="fc2"),
            QActivation(relu, name="relu2"),
            QDense(32, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="fc3"),
            QActivation(relu, name="relu3"),
            QDense(5, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="output"),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="jet_dnn",
    )


def jet_dnn(quantization: Quantization | None = None):
    """The jet tagger: :func:`jet_dnn_float`, or :func:`jet_dnn_qkeras` with ``quantization``."""
    return jet_dnn_float() if quantization is None else jet_dnn_qkeras(quantization)


# The MNIST models are built from the same layers, one helper per kind of layer: the float
# Keras layer, or its QKeras twin when a quantization is given.


def _dense(units: int, name: str, quantization: Quantization | None):
    from tensorflow import keras

    if quantization is None:
        return keras.layers.Dense(units, kernel_initializer="lecun_uniform", name=name)
    from qkeras import QDense

    weights = quantization.weight_quantizer()
    return QDense(units, kernel_quantizer=weights, bias_quantizer=weights,
                  kernel_initializer="lecun_uniform", name=name)


def _conv(filters: int, name: str, quantization: Quantization | None):
    from tensorflow import keras

    if quantization is None:
        return keras.layers.Conv2D(filters, 3, kernel_initializer="lecun_uniform", name=name)
    from qkeras import QConv2D

    weights = quantization.weight_quantizer()
    return QConv2D(filters, 3, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name=name)


def _relu(name: str, quantization: Quantization | None):
    from tensorflow import keras

    if quantization is None:
        return keras.layers.Activation("relu", name=name)
    from qkeras import QActivation

    return QActivation(quantization.relu(), name=name)


def mnist_dnn(quantization: Quantization | None = None):
    """A dense MNIST classifier: 784 -> 128 -> 64 -> 10."""
    from tensorflow import keras

    q = quantization
    return keras.Sequential(
        [
            keras.layers.Input(shape=(28, 28, 1), name="inputs"),
            keras.layers.Flatten(name="flatten"),
            _dense(128, "fc1", q),
            _relu("relu1", q),
            _dense(64, "fc2", q),
            _relu("relu2", q),
            _dense(10, "output", q),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="mnist_dnn",
    )


def mnist_cnn(quantization: Quantization | None = None):
    """A small MNIST CNN sized for the xc7z020 (about 5,000 weights).

    28 -> 26 -> 13 -> 11 -> 5 -> 3 pixels: the last feature map keeps 3 x 3 x 16 values.
    """
    from tensorflow import keras

    q = quantization
    return keras.Sequential(
        [
            keras.layers.Input(shape=(28, 28, 1), name="inputs"),
            _conv(8, "conv1", q),
            _relu("relu1", q),
            keras.layers.MaxPooling2D(2, name="pool1"),
            _conv(16, "conv2", q),
            _relu("relu2", q),
            keras.layers.MaxPooling2D(2, name="pool2"),
            _conv(16, "conv3", q),
            _relu("relu3", q),
            keras.layers.Flatten(name="flatten"),
            _dense(10, "output", q),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="mnist_cnn",
    )


@dataclass(frozen=True)
class ModelSpec:
    """A course model: its factory, task, and compression settings."""

    name: str
    task: str  # "jets" or "mnist"
    factory: Callable[..., Any]
    quantization: Quantization
    pruning: Pruning
    learning_rate: float
    convolutional: bool = False

    def epochs(self, profile: Profile) -> int:
        return profile.epochs_cnn if self.convolutional else profile.epochs_dense

    def build(self, flavour: str):
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
        return self.factory(self.quantization if flavour == "qkeras" else None)


SPECS: dict[str, ModelSpec] = {
    "jet_dnn": ModelSpec(
        "jet_dnn", "jets", jet_dnn, Quantization(bits=6), Pruning(sparsity=0.75), 1e-3
    ),
    "mnist_dnn": ModelSpec(
        "mnist_dnn", "mnist", mnist_dnn, Quantization(bits=8), Pruning(sparsity=0.75), 1e-3
    ),
    "mnist_cnn": ModelSpec(
        "mnist_cnn",
        "mnist",
        mnist_cnn,
        Quantization(bits=8, activation_integer=2),
        Pruning(sparsity=0.5),
        2e-3,
        convolutional=True,
    ),
}


def spec(name: str) -> ModelSpec:
    if name not in SPECS:
        raise KeyError(f"unknown model {name!r}; the course's models are {sorted(SPECS)}")
    return SPECS[name]


# ------------------------------------------------------------------------------------ training


@dataclass
class TrainingResult:
    model: Any
    history: dict[str, list[float]]
    seconds: float
    epochs_run: int


def fit(
    model,
    dataset,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    pruning: Pruning | None = None,
    seed: int = SEED,
    verbose: int = 2,
) -> TrainingResult:
    """Train with Adam, early stopping on the validation loss and a plateau learning-rate decay.

    20 % of the training set is held out for validation. With ``pruning`` the model is wrapped
    for magnitude pruning and stripped again afterwards.
    """
    from tensorflow import keras

    keras.utils.set_random_seed(seed)
    steps = epochs * int(np.ceil(0.8 * len(dataset.y_train) / batch_size))
    if pruning is not None:
        model = prune(model, pruning, steps)
    _compile(model, learning_rate)
    callbacks = training_callbacks(pruning)
    start = time.perf_counter()
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        validation_split=0.2,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        shuffle=True,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    if pruning is not None:
        # strip_pruning returns a new, uncompiled model; compiled like the trained one it can be
        # evaluated by Keras and saved without Keras warning about unbuilt metrics
        model = strip(model)
        _compile(model, learning_rate)
    values = {k: [float(v) for v in vs] for k, vs in history.history.items() if k != "lr"}
    return TrainingResult(model, values, seconds, len(values["loss"]))


def _compile(model, learning_rate: float) -> None:
    from tensorflow import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def training_callbacks(pruning: Pruning | None = None) -> list:
    """Halve the learning rate when the validation loss stalls for 3 epochs; stop after 6
    epochs without progress, keeping the best weights. With pruning, no early stopping (it
    could stop before the target sparsity is reached) but tfmot's pruning step instead."""
    from tensorflow import keras

    callbacks = [keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3, min_lr=1e-5)]
    if pruning is None:
        callbacks.append(keras.callbacks.EarlyStopping(patience=6, restore_best_weights=True))
    else:
        callbacks += pruning_callbacks()
    return callbacks


def evaluate(model, dataset) -> dict[str, Any]:
    """Accuracy and one-vs-rest ROC AUC per class on the test set."""
    scores = predict(model, dataset.x_test)
    return metrics_from_scores(scores, dataset.y_test, dataset.class_names)


def predict(model, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """The model's scores for ``x``, computed in batches.

    The model is called directly rather than through ``model.predict``: ``predict`` wraps a new
    ``tf.function`` for every model, and TensorFlow counts those wrappers together, so a loop
    over freshly trained models (the bit-width sweep) makes it warn about "excessive retracing"
    after five. The direct call computes the same scores without any tracing.
    """
    batches = [model(x[start:start + batch_size], training=False).numpy()
               for start in range(0, len(x), batch_size)]
    return np.concatenate(batches) if batches else np.zeros((0, *model.output_shape[1:]))


def metrics_from_scores(
    scores: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]
) -> dict[str, Any]:
    """Accuracy and per-class AUC of class scores (n, classes) against integer labels."""
    from sklearn.metrics import roc_auc_score

    auc = {
        name: float(roc_auc_score(labels == c, scores[:, c])) for c, name in enumerate(class_names)
    }
    return {
        "accuracy": float(np.mean(scores.argmax(axis=1) == labels)),
        "auc": auc,
        "auc_mean": float(np.mean(list(auc.values()))),
        "n_test": int(len(labels)),
    }


# ------------------------------------------------------------------------------------- caching


def model_path(name: str, flavour: str) -> Path:
    return artifacts.stage_dir("models") / f"{name}_{flavour}.h5"


def load(name: str, flavour: str):
    """Load a stored model (QKeras layers included)."""
    from qkeras.utils import load_qmodel

    return load_qmodel(str(model_path(name, flavour)), compile=False)


def data_fingerprint(dataset) -> str:
    """A short id of the exact data a model was trained on (source, checksum, sizes)."""
    p = dataset.provenance
    return _short_hash([p.get("source"), p.get("sha256"), p["n_train"], p["n_test"]])


def training_fingerprint(model_spec: ModelSpec, flavour: str, dataset, profile: Profile) -> str:
    """A short id of everything a trained model depends on: data, architecture, settings."""
    return _short_hash(
        [
            data_fingerprint(dataset),
            architecture(model_spec.build(flavour)),
            model_spec.epochs(profile),
            profile.batch_size,
            model_spec.learning_rate,
            repr(model_spec.pruning) if flavour == "qkeras" else None,
            SEED,
        ]
    )


def architecture(model) -> str:
    """A model's architecture as Keras' JSON (the layers and their settings, not the weights)."""
    with quiet_qkeras_serialization():
        return model.to_json()


def _short_hash(values: list[Any]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


def trained_model(
    name: str,
    flavour: str,
    dataset=None,
    *,
    profile: Profile | None = None,
    retrain: bool = False,
    verbose: int = 2,
):
    """The trained model ``name`` in ``flavour`` ("float" or "qkeras" = quantized + pruned).

    Loaded from the artifact cache when it was trained on the same data with the same
    architecture and settings (e.g. a model trained on simulated jets is not reused once the real
    jets are available); otherwise trained on
    ``dataset`` (loaded if not given), stored, and its metrics written to the model's metrics
    json under the section named after the flavour.
    """
    profile = profile or active_profile()
    model_spec = spec(name)
    if dataset is None:
        dataset = load_dataset(model_spec.task, profile)
    path = model_path(name, flavour)
    recorded = artifacts.load_metrics(name).get(flavour, {})
    fingerprint = training_fingerprint(model_spec, flavour, dataset, profile)
    if path.exists() and not retrain:
        if recorded.get("fingerprint") == fingerprint:
            try:
                artifacts.verify_checked(path)
                return load(name, flavour)
            except (artifacts.ArtifactDamaged, OSError, ValueError) as damage:
                # a full disk or a killed process: the file is not the model that was trained
                print(f"{damage}: training {name} ({flavour}) again")
        else:
            print(
                f"{name} ({flavour}): the cached model was trained on other data or settings; "
                "training again"
            )
    result = fit(
        model_spec.build(flavour),
        dataset,
        epochs=model_spec.epochs(profile),
        batch_size=profile.batch_size,
        learning_rate=model_spec.learning_rate,
        pruning=model_spec.pruning if flavour == "qkeras" else None,
        verbose=verbose,
    )
    report = sparsity_report(result.model)
    metrics = {
        **evaluate(result.model, dataset),
        "flavour": flavour,
        "quantization": model_spec.quantization.as_dict() if flavour == "qkeras" else None,
        "pruning_target": model_spec.pruning.sparsity if flavour == "qkeras" else 0.0,
        "sparsity": total_sparsity(report),
        "sparsity_per_layer": {row["layer"]: row["sparsity"] for row in report},
        "parameters": int(result.model.count_params()),
        "training_seconds": result.seconds,
        "epochs_run": result.epochs_run,
        "history": result.history,
        "profile": profile.name,
        "data": dataset.provenance,
        "fingerprint": fingerprint,
    }
    with quiet_qkeras_serialization(), warnings.catch_warnings():
        # HDF5 on purpose: QKeras' load_qmodel and hls4ml read it; Keras only recommends its own
        warnings.filterwarnings("ignore", "You are saving your model as an HDF5 file", UserWarning)
        artifacts.write_checked(path, lambda tmp: result.model.save(tmp))
    artifacts.update_metrics(name, flavour, metrics)
    return result.model


def load_dataset(task: str, profile: Profile | None = None):
    """The dataset a model trains on (``"jets"`` or ``"mnist"``)."""
    from pynq_ia import data

    if task == "jets":
        return data.load_jets(profile=profile)
    if task == "mnist":
        return data.load_mnist(profile)
    raise ValueError(f"unknown task {task!r}")


# ------------------------------------------------------------------------------ what we claim

#: test accuracy each model must reach, per profile: the chapters assert these. The full
#: profile's MNIST figures are the course's targets; the ci profile trains briefly on small data,
#: so its floors only prove that a model learned (chance is 0.2 for jets, 0.1 for MNIST).
ACCURACY_FLOORS: dict[str, dict[str, float]] = {
    "ci": {"jet_dnn": 0.45, "mnist_dnn": 0.85, "mnist_cnn": 0.85},
    "full": {"jet_dnn": 0.76, "mnist_dnn": 0.975, "mnist_cnn": 0.985},
}
#: on simulated jets (no published reference) the full-profile floor is our own
SIMULATED_JETS_FLOOR = 0.6
#: largest accuracy loss of quantized + pruned against float, per profile (the full profile's
#: 1 point is the course's target on real jets and on MNIST)
COMPRESSION_TOLERANCE = {"ci": 0.08, "full": 0.01}
#: on simulated jets (no published reference) the full-profile tolerance is our own: measured
#: 1.4 points for 6 bits + 75 % pruning on 80k simulated training jets
SIMULATED_JETS_TOLERANCE = 0.02


def accuracy_floor(name: str, profile: Profile, jet_source: str = "real") -> float:
    """The accuracy ``name`` must reach in ``profile`` (see :data:`ACCURACY_FLOORS`)."""
    if name == "jet_dnn" and profile.name == "full" and jet_source != "real":
        return SIMULATED_JETS_FLOOR
    return ACCURACY_FLOORS[profile.name][name]


def compression_tolerance(name: str, profile: Profile, jet_source: str = "real") -> float:
    """The accuracy ``name`` may lose to compression in ``profile``."""
    if name == "jet_dnn" and profile.name == "full" and jet_source != "real":
        return SIMULATED_JETS_TOLERANCE
    return COMPRESSION_TOLERANCE[profile.name]


def bit_width_sweep(
    name: str, bits: tuple[int, ...], dataset, *, profile: Profile | None = None
) -> list[dict[str, Any]]:
    """Accuracy of ``name`` trained with QKeras at each width in ``bits`` (no pruning).

    Weights and activations get the same width. Results are cached as a json artifact.
    """
    profile = profile or active_profile()
    model_spec = spec(name)
    widths = "_".join(map(str, bits))
    path = artifacts.stage_dir("sweeps") / f"{name}_{data_fingerprint(dataset)}_bits_{widths}.json"

    def sweep(tmp: Path) -> None:
        rows = []
        for width in bits:
            quantization = Quantization(bits=width, weight_integer=0)
            with warnings.catch_warnings():
                # At a few bits QKeras' initializer rescales its draw and draws again from the
                # same initializer: the identical values Keras warns about are what it wants.
                warnings.filterwarnings("ignore", "The initializer LecunUniform is unseeded")
                model = model_spec.factory(quantization)
            result = fit(
                model,
                dataset,
                epochs=model_spec.epochs(profile),
                batch_size=profile.batch_size,
                learning_rate=model_spec.learning_rate,
                verbose=0,
            )
            rows.append({"bits": width, **evaluate(result.model, dataset)})
            print(f"{width:2d} bits: accuracy {rows[-1]['accuracy']:.4f}")
        artifacts.write_json(tmp, {"model": name, "profile": profile.name, "rows": rows})

    return artifacts.read_checked_json(artifacts.build_once(path, sweep))["rows"]
