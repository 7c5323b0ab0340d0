"""Training the course's designs, and the trained models every later chapter loads.

:func:`fit` is one training run (Adam, early stopping, a learning-rate plateau; with pruning,
tfmot's schedule). :func:`trained_model` is what chapters call: the trained model of a design
(:mod:`pynq_ia.designs`) in a flavour, from the artifact cache when it was trained on the same
data with the same architecture and settings, else trained now and stored with its training
record, which also goes to the design's metrics (section ``float`` or ``qkeras``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts, designs
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

SEED = 1234
#: what a trained model's entry holds besides the model: its training record
TRAINING_RECORD = "training.json"
#: the widths chapter 3 trains the jet tagger at with QKeras (and chapter 4 compares with)
BIT_WIDTHS = (2, 3, 4, 6, 8, 12, 16)


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


# ------------------------------------------------------------------------------ trained models


def architecture(model) -> str:
    """A model's architecture as Keras' JSON (the layers and their settings, not the weights)."""
    with quiet_qkeras_serialization():
        return model.to_json()


def data_fingerprint(dataset) -> str:
    """A short id of the exact data a model was trained on (source, checksum, sizes)."""
    p = dataset.provenance
    return artifacts.fingerprint([p.get("source"), p.get("sha256"), p["n_train"],
                                  p["n_test"]])[:12]


def model_path(name: str, flavour: str, *, profile: str | None = None) -> Path:
    """The Keras file (HDF5) of a trained model in the artifact cache."""
    return artifacts.stage_dir("models", profile=profile) / f"{name}_{flavour}" / f"{name}.h5"


def load(path: Path):
    """Load a stored model (QKeras layers included)."""
    from qkeras.utils import load_qmodel

    return load_qmodel(str(path), compile=False)


def training_inputs(design: designs.Design, flavour: str, dataset, profile: Profile) -> dict:
    """What a trained model depends on: data, architecture and training settings."""
    return {
        "data": data_fingerprint(dataset),
        "architecture": architecture(design.build(flavour)),
        "epochs": design.epochs(profile),
        "batch_size": profile.batch_size,
        "learning_rate": design.learning_rate,
        "pruning": repr(design.pruning) if flavour == "qkeras" else None,
        "seed": SEED,
    }


def train(design: designs.Design, flavour: str, dataset, profile: Profile, *, verbose: int = 2):
    """Train ``design`` in ``flavour`` ("qkeras": quantized and pruned): the model and its
    training record (test metrics, sparsity, history, where the data came from)."""
    result = fit(
        design.build(flavour),
        dataset,
        epochs=design.epochs(profile),
        batch_size=profile.batch_size,
        learning_rate=design.learning_rate,
        pruning=design.pruning if flavour == "qkeras" else None,
        verbose=verbose,
    )
    report = sparsity_report(result.model)
    record = {
        **evaluate(result.model, dataset),
        "flavour": flavour,
        "quantization": design.quantization.as_dict() if flavour == "qkeras" else None,
        "pruning_target": design.pruning.sparsity if flavour == "qkeras" else 0.0,
        "sparsity": total_sparsity(report),
        "sparsity_per_layer": {row["layer"]: row["sparsity"] for row in report},
        "parameters": int(result.model.count_params()),
        "training_seconds": result.seconds,
        "epochs_run": result.epochs_run,
        "history": result.history,
        "profile": profile.name,
        "data": dataset.provenance,
    }
    return result.model, record


def save(model, path: Path) -> None:
    """Keras' HDF5 file of a model: QKeras' ``load_qmodel`` and hls4ml read it."""
    with quiet_qkeras_serialization(), warnings.catch_warnings():
        # HDF5 on purpose: QKeras' load_qmodel and hls4ml read it; Keras only recommends its own
        warnings.filterwarnings("ignore", "You are saving your model as an HDF5 file", UserWarning)
        model.save(path)


def trained_model(
    name: str,
    flavour: str,
    dataset=None,
    *,
    profile: Profile | None = None,
    retrain: bool = False,
    verbose: int = 2,
):
    """The trained model of design ``name`` in ``flavour`` ("float" or "qkeras" = quantized
    and pruned), from the artifact cache or trained now (see the module docstring).

    ``dataset`` defaults to the design's task's; ``profile`` chooses sizes, epochs and where
    the model is cached.
    """
    profile = profile or active_profile()
    design = designs.design(name)
    if dataset is None:
        from pynq_ia.data import load_dataset

        dataset = load_dataset(design.task, profile)
    trained = {}

    def build(folder: Path) -> None:
        trained["model"], record = train(design, flavour, dataset, profile, verbose=verbose)
        save(trained["model"], folder / f"{name}.h5")
        artifacts.write_json(folder / TRAINING_RECORD, record)

    stage = artifacts.stage_dir("models", profile=profile.name)
    entry = artifacts.cached(stage, f"{name}_{flavour}",
                             training_inputs(design, flavour, dataset, profile), build,
                             rebuild=retrain)
    record = {**artifacts.read_json(entry / TRAINING_RECORD),
              "fingerprint": artifacts.read_json(entry / artifacts.RECORD)["key"][:16]}
    if artifacts.load_metrics(name, profile=profile.name).get(flavour) != record:
        artifacts.update_metrics(name, flavour, record, profile=profile.name)
    return trained.get("model") or load(entry / f"{name}.h5")


def unpruned_model(
    name: str, quantization: Quantization, dataset, *, profile: Profile | None = None
):
    """Design ``name`` trained with QKeras at ``quantization``, without pruning (cached).

    The bit-width sweep trains these; chapter 6 synthesizes the one at the design's own widths
    beside the pruned design.
    """
    profile = profile or active_profile()
    design = designs.design(name)
    trained = {}

    def network():
        with warnings.catch_warnings():
            # At a few bits QKeras' initializer rescales its draw and draws again from the
            # same initializer: the identical values Keras warns about are what it wants.
            warnings.filterwarnings("ignore", "The initializer LecunUniform is unseeded")
            return design.network(quantization)

    def build(folder: Path) -> None:
        from tensorflow import keras

        keras.utils.set_random_seed(SEED)  # the same initial weights whoever trains it first
        result = fit(network(), dataset, epochs=design.epochs(profile),
                     batch_size=profile.batch_size, learning_rate=design.learning_rate,
                     verbose=0)
        trained["model"] = result.model
        save(result.model, folder / f"{name}.h5")
        artifacts.write_json(folder / TRAINING_RECORD, {
            **evaluate(result.model, dataset), "quantization": quantization.as_dict(),
            "epochs_run": result.epochs_run, "training_seconds": result.seconds})

    inputs = {"data": data_fingerprint(dataset), "architecture": architecture(network()),
              "epochs": design.epochs(profile), "batch_size": profile.batch_size,
              "learning_rate": design.learning_rate, "pruning": None, "seed": SEED}
    stage = artifacts.stage_dir("models", profile=profile.name)
    q = quantization
    widths = f"w{q.bits}.{q.weight_integer}_a{q.relu_bits}.{q.activation_integer}"  # bits.int
    entry = artifacts.cached(stage, f"{name}_qkeras_unpruned_{widths}", inputs, build)
    return trained.get("model") or load(entry / f"{name}.h5")


def bit_width_sweep(
    name: str, bits: tuple[int, ...], dataset, *, profile: Profile | None = None
) -> list[dict[str, Any]]:
    """Accuracy of design ``name`` trained with QKeras at each width in ``bits`` (no pruning).

    Weights and activations get the same width. The rows are cached, and so is each width's
    model (:func:`unpruned_model`).
    """
    profile = profile or active_profile()
    design = designs.design(name)

    def sweep() -> list[dict[str, Any]]:
        rows = []
        for width in bits:
            model = unpruned_model(name, Quantization(bits=width, weight_integer=0), dataset,
                                   profile=profile)
            rows.append({"bits": width, **evaluate(model, dataset)})
            print(f"{width:2d} bits: accuracy {rows[-1]['accuracy']:.4f}")
        return rows

    inputs = {"design": name, "bits": list(bits), "data": data_fingerprint(dataset),
              "architecture": architecture(design.build("float")),
              "epochs": design.epochs(profile), "batch_size": profile.batch_size, "seed": SEED,
              "initial_weights": "seeded"}  # each width's model as unpruned_model trains it
    stage = artifacts.stage_dir("sweeps", profile=profile.name)
    return artifacts.cached_json(stage, f"{name}_bits_{'_'.join(map(str, bits))}", inputs, sweep)
