"""Datasets of the course, ready for training, each with a provenance record.

- :func:`load_mnist`: MNIST from a local copy (``$PYNQ_IA_DATA/mnist/mnist.npz``), else
  downloaded with Keras; every array is sha256-verified; pixels scaled to [0, 1].
- :func:`load_jets`: the hls4ml LHC jet dataset. ``source="real"`` is OpenML's
  ``hls4ml_lhc_jets_hlf`` (downloaded once, kept as a compact checksummed file);
  ``source="simulated"`` is generated with Pythia 8 + FastJet (:mod:`pynq_ia.jet_simulation`);
  ``source="auto"`` (the default) takes the real one when it is cached or can be downloaded,
  else simulates. ``$PYNQ_IA_JETS`` sets the default. The choice is printed and recorded.

Local copies are only read; everything written (downloads, simulations) goes to the dataset
cache, ``<artifacts root>/datasets``, one entry per dataset (:func:`pynq_ia.artifacts.cached`):
a file that does not match its recorded sha256 (truncated, corrupted) is never used: it is
rebuilt when it can be, reported when it cannot.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts
from pynq_ia.jet_features import FEATURE_NAMES
from pynq_ia.jet_simulation import CLASS_NAMES as JET_CLASSES
from pynq_ia.jet_simulation import RECIPE_VERSION, simulate_jets
from pynq_ia.profile import Profile, active_profile

DATA_ENV = "PYNQ_IA_DATA"
JETS_ENV = "PYNQ_IA_JETS"
JET_SOURCES = ("auto", "real", "simulated")

OPENML_JETS = "hls4ml_lhc_jets_hlf"
#: the server scikit-learn's ``fetch_openml`` asks (its ``_OPENML_PREFIX``)
OPENML_HOST = "api.openml.org"
#: the hls4ml tutorial's split: 20 % test, fixed seed
JET_TEST_FRACTION = 0.2
SPLIT_SEED = 42

#: sha256 of each MNIST array's raw bytes (``arr.tobytes()``), as in Keras' ``mnist.npz``
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


class DatasetUnavailable(RuntimeError):
    """A dataset is neither cached nor reachable; the message says what to do."""


class ChecksumError(RuntimeError):
    """A data file does not match its recorded checksum."""


@dataclass
class Dataset:
    """Train/test arrays of one task, with class names and provenance."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    #: per-feature mean and standard deviation used to standardize (jets only)
    scaling: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self, split: str = "train") -> dict[str, int]:
        labels = self.y_train if split == "train" else self.y_test
        counts = np.bincount(labels, minlength=self.n_classes)
        return dict(zip(self.class_names, counts.tolist(), strict=True))


# --------------------------------------------------------------------------- files and checksums


def local_data_dir() -> Path | None:
    """The read-only folder of local dataset copies (``$PYNQ_IA_DATA``), if set."""
    value = os.environ.get(DATA_ENV)
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    """Where downloaded and simulated datasets are written (shared by the profiles)."""
    path = artifacts.root() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_array(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def cached_dataset(
    name: str, inputs: Any, write: Callable[[Path], None], *, rebuild: bool = False
) -> tuple[Path, str]:
    """A dataset file of the cache and its sha256: the entry ``datasets/<name>`` holding
    ``<name>.npz``, written by ``write(path)`` when it is missing, damaged or was made from other
    ``inputs`` (see :func:`pynq_ia.artifacts.cached`)."""
    file_name = f"{name}.npz"
    entry = artifacts.cached(cache_dir(), name, inputs, lambda folder: write(folder / file_name),
                             rebuild=rebuild)
    return entry / file_name, artifacts.read_json(entry / artifacts.RECORD)["sha256"][file_name]


def _subsample(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Indices of a fixed random subset of size ``limit`` (all, in order, when no limit)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


# --------------------------------------------------------------------------------------- MNIST


#: what a local MNIST copy must be, for the messages that say how to mend one
MNIST_EXPECTED = (
    "Keras' mnist.npz: x_train (60000, 28, 28) and x_test (10000, 28, 28) uint8 images, "
    "y_train (60000,) and y_test (10000,) labels, with the published sha256 of each array "
    "(data/README.md)"
)


def _mnist_fix(path: Path) -> str:
    return (
        f"Copy Keras' mnist.npz again to {DATA_ENV}/mnist/mnist.npz ({display(path)}), "
        f"or unset {DATA_ENV} to download it from {MNIST_URL}."
    )


def display(path: Path) -> str:
    """A dataset file as a message shows it (relative to the repository or a known folder)."""
    return artifacts.display_path(path)


def _verify_mnist(arrays: Mapping[str, np.ndarray], origin: str) -> None:
    for key, expected in MNIST_SHA256.items():
        if key not in arrays:
            raise ChecksumError(f"{origin}: array {key!r} is missing")
        if sha256_array(arrays[key]) != expected:
            raise ChecksumError(f"{origin}: array {key!r} does not match the MNIST checksum")


def read_mnist(path: Path) -> dict[str, np.ndarray]:
    """The four MNIST arrays of an ``.npz`` file, checked; one clear error for any bad file.

    An empty, truncated or foreign file, or one whose arrays are not MNIST's, raises
    :class:`DatasetUnavailable` naming the file, what it should hold and how to replace it.
    """
    path = Path(path)
    try:
        with np.load(path) as data:
            arrays = {key: data[key] for key in MNIST_SHA256}
        _verify_mnist(arrays, display(path))
    except ChecksumError as error:
        message = f"{error}. It should be {MNIST_EXPECTED}. {_mnist_fix(path)}"
        raise DatasetUnavailable(message) from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        problem = "is empty" if path.is_file() and path.stat().st_size == 0 else (
            f"cannot be read ({type(error).__name__}: {error})"
        )
        raise DatasetUnavailable(
            f"{display(path)} {problem}. It should be {MNIST_EXPECTED}. {_mnist_fix(path)}"
        ) from None
    return arrays


def _download_mnist(tmp: Path) -> None:
    from tensorflow import keras

    # Keras downloads into a scratch folder; the caller moves the verified file into place
    with tempfile.TemporaryDirectory(dir=tmp.parent) as scratch:
        try:
            fetched = keras.utils.get_file(
                "mnist.npz", MNIST_URL, cache_dir=scratch, cache_subdir="."
            )
        except Exception as error:  # Keras wraps network errors in plain Exceptions
            raise DatasetUnavailable(
                f"MNIST is not available offline and could not be downloaded ({error}).\n"
                f"Put a copy of Keras' mnist.npz at $PYNQ_IA_DATA/mnist/mnist.npz and set "
                f"{DATA_ENV} to that folder."
            ) from error
        read_mnist(Path(fetched))  # the download is MNIST, or a clear error
        shutil.move(fetched, tmp)


def mnist_file() -> tuple[Path, str]:
    """The MNIST file to use and where it came from ("local copy" or "download")."""
    local = local_data_dir()
    if local is not None:
        for candidate in (local / "mnist" / "mnist.npz", local / "mnist.npz"):
            if candidate.is_file():
                return candidate, "local copy"
            if candidate.exists():  # a folder (an unpacked archive?), a device, ...
                kind = "a directory" if candidate.is_dir() else "not a regular file"
                raise DatasetUnavailable(
                    f"{display(candidate)} is {kind}, not Keras' mnist.npz file. It should be "
                    f"{MNIST_EXPECTED}. {_mnist_fix(candidate)}"
                )
    path, _ = cached_dataset("mnist", {"url": MNIST_URL, "arrays": MNIST_SHA256}, _download_mnist)
    return path, "download"


def load_mnist(profile: Profile | None = None) -> Dataset:
    """MNIST as float32 images (n, 28, 28, 1) in [0, 1] with integer labels."""
    profile = profile or active_profile()
    path, origin = mnist_file()
    arrays = read_mnist(path)
    train = _subsample(len(arrays["y_train"]), profile.mnist_train_limit, SPLIT_SEED)
    test = _subsample(len(arrays["y_test"]), profile.mnist_test_limit, SPLIT_SEED)

    def images(x: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) / 255.0)[..., None]

    return Dataset(
        name="mnist",
        x_train=images(arrays["x_train"][train]),
        y_train=arrays["y_train"][train].astype(np.int64),
        x_test=images(arrays["x_test"][test]),
        y_test=arrays["y_test"][test].astype(np.int64),
        class_names=tuple(str(d) for d in range(10)),
        provenance={
            "dataset": "MNIST",
            "source": origin,
            "file": path.name,
            "sha256": {key: value[:16] for key, value in MNIST_SHA256.items()},
            "n_train": int(train.size),
            "n_test": int(test.size),
            "profile": profile.name,
            "license": "CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges)",
        },
    )


# ---------------------------------------------------------------------------------------- jets


#: what the compact cache of the OpenML jets is made from (features float32, labels uint8)
REAL_JETS_INPUTS = {"openml": OPENML_JETS, "version": 1, "features": list(FEATURE_NAMES)}


def real_jets_entry() -> Path:
    """The dataset cache's entry of the real jets (it exists once they were fetched)."""
    return cache_dir() / OPENML_JETS


def _write_jets_npz(tmp: Path, x: np.ndarray, y: np.ndarray) -> None:
    with open(tmp, "wb") as handle:
        np.savez_compressed(
            handle, x=x.astype(np.float32), y=y.astype(np.uint8), features=np.array(FEATURE_NAMES)
        )


def _frame_to_arrays(features: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """OpenML columns (any order) and class labels (strings) -> (x, y) in our order."""
    missing = [name for name in FEATURE_NAMES if name not in features.columns]
    if missing:
        raise ValueError(f"the jet data lacks the features {missing}")
    x = features[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    names = np.asarray(labels).astype(str)
    unknown = sorted(set(names) - set(JET_CLASSES))
    if unknown:
        raise ValueError(f"unknown jet classes {unknown}; expected {JET_CLASSES}")
    y = np.searchsorted(np.array(JET_CLASSES), names)
    return x, y


def import_jets_arff(arff_path: Path) -> Path:
    """Turn an ARFF file of ``hls4ml_lhc_jets_hlf`` (as OpenML serves it) into the cache.

    The offline path for the real data: download the ARFF on a machine with internet and
    import it here.
    """
    import pandas as pd
    from scipy.io import arff

    try:
        records, _ = arff.loadarff(str(arff_path))
    except (OSError, ValueError, UnicodeDecodeError, arff.ArffError) as error:
        raise DatasetUnavailable(
            f"{display(Path(arff_path))} cannot be read as an ARFF file ({error}). Download "
            f"{OPENML_JETS} again as ARFF from https://www.openml.org/d/42468 and import it."
        ) from None
    frame = pd.DataFrame(records)
    if "class" not in frame.columns:
        raise ValueError(f"{arff_path} has no 'class' column: not the hls4ml jet dataset")
    labels = frame.pop("class").map(lambda v: v.decode() if isinstance(v, bytes) else v)
    x, y = _frame_to_arrays(frame, labels)
    path, _ = cached_dataset(OPENML_JETS, REAL_JETS_INPUTS, lambda tmp: _write_jets_npz(tmp, x, y),
                             rebuild=True)
    return path


_REAL_JETS_WAY_OUT = (
    f"Either use simulated jets ({JETS_ENV}=simulated, the default 'auto' does this), or "
    f"download the dataset's ARFF from OpenML elsewhere and run\n"
    f'    python -c "from pynq_ia.data import import_jets_arff; '
    f"import_jets_arff('hls4ml_lhc_jets_hlf.arff')\""
)


def openml_reachable() -> bool:
    """Whether OpenML's server name resolves. Without it, scikit-learn's ``fetch_openml`` would
    fail only after four attempts a second apart (about 3 s here, on every call)."""
    import socket

    try:
        socket.getaddrinfo(OPENML_HOST, 443)
    except OSError:
        return False
    return True


def _fetch_openml_jets(tmp: Path) -> None:
    from sklearn.datasets import fetch_openml

    if not openml_reachable():
        raise DatasetUnavailable(
            f"the real jet dataset ({OPENML_JETS}) is not cached and {OPENML_HOST} cannot be "
            f"resolved from this machine (offline?).\n{_REAL_JETS_WAY_OUT}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # one "retrying..." per attempt
            bunch = fetch_openml(
                OPENML_JETS,
                version=1,
                as_frame=True,
                parser="auto",
                data_home=str(cache_dir() / "openml"),
            )
    except Exception as error:  # network errors come in many types from sklearn/urllib
        raise DatasetUnavailable(
            f"the real jet dataset ({OPENML_JETS}) is not cached and OpenML is unreachable "
            f"({type(error).__name__}: {error}).\n{_REAL_JETS_WAY_OUT}"
        ) from error
    x, y = _frame_to_arrays(bunch.data, bunch.target)
    _write_jets_npz(tmp, x, y)


def real_jets_arrays() -> tuple[np.ndarray, np.ndarray, str]:
    """All real jets (x, y) and the sha256 of their cache file (downloading if needed)."""
    path, digest = cached_dataset(OPENML_JETS, REAL_JETS_INPUTS, _fetch_openml_jets)
    with np.load(path) as data:
        return data["x"], data["y"].astype(np.int64), digest


def simulated_jets_name(jets_per_class: int, seed: int) -> str:
    """The dataset cache's entry name of a simulation."""
    return f"simulated_jets_v{RECIPE_VERSION}_seed{seed}_n{jets_per_class}"


def simulated_jets_arrays(
    jets_per_class: int, seed: int = 0, *, progress: bool = True
) -> tuple[np.ndarray, np.ndarray, str]:
    """Simulated jets (x, y) and the sha256 of their cache file (simulating if needed)."""

    def simulate(tmp: Path) -> None:
        jets = simulate_jets(jets_per_class, seed=seed, progress=progress)
        _write_jets_npz(tmp, jets.x, jets.y)

    inputs = {"recipe": RECIPE_VERSION, "seed": seed, "jets_per_class": jets_per_class}
    path, digest = cached_dataset(simulated_jets_name(jets_per_class, seed), inputs, simulate)
    with np.load(path) as data:
        return data["x"], data["y"].astype(np.int64), digest


def jet_source(requested: str | None = None) -> str:
    """Resolve "auto" to "real" or "simulated" (the argument, else ``$PYNQ_IA_JETS``)."""
    source = (requested or os.environ.get(JETS_ENV) or "auto").strip().lower()
    if source not in JET_SOURCES:
        raise ValueError(f"jet source {source!r} is not one of {JET_SOURCES}")
    return source


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scale features to zero mean, unit variance with the training set's statistics
    (scikit-learn's ``StandardScaler``; a feature that never varies keeps the scale 1)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    return (
        scaler.transform(x_train).astype(np.float32),
        scaler.transform(x_test).astype(np.float32),
        scaler.mean_,
        scaler.scale_,
    )


def split_train_test(
    x: np.ndarray, y: np.ndarray, test_fraction: float = JET_TEST_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A shuffled split, stratified by class (as scikit-learn's ``train_test_split``)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)


def jet_arrays(
    source: str | None = None, profile: Profile | None = None, *, progress: bool = True
) -> tuple[np.ndarray, np.ndarray, str, dict[str, Any]]:
    """All jets of the chosen source before the split: features (physical units), labels, the
    sha256 of their cache file and where they come from (``origin["label"]``: real or
    simulated jets; ``origin["requested_source"]``: what was asked for)."""
    profile = profile or active_profile()
    requested = jet_source(source)
    if requested in ("auto", "real"):
        try:
            x, y, digest = real_jets_arrays()
        except DatasetUnavailable as error:
            if requested == "real":
                raise
            print(f"jets: real dataset unavailable ({str(error).splitlines()[0]})")
        else:
            keep = _subsample(len(y), profile.real_jets_limit, SPLIT_SEED)
            return x[keep], y[keep], digest, {
                "dataset": f"OpenML {OPENML_JETS} (version 1)",
                "label": "real jets",
                "license": "CC BY 4.0; J. Duarte et al., JINST 13 P07027 (2018)",
                "source": "real",
                "requested_source": requested,
            }
    seed = 0
    x, y, digest = simulated_jets_arrays(profile.simulated_jets_per_class, seed, progress=progress)
    return x, y, digest, {
        "dataset": "simulated with Pythia 8 + FastJet (pynq_ia.jet_simulation)",
        "label": "simulated jets",
        "recipe_version": RECIPE_VERSION,
        "seed": seed,
        "jets_per_class": profile.simulated_jets_per_class,
        "source": "simulated",
        "requested_source": requested,
    }


def load_jets(
    source: str | None = None, profile: Profile | None = None, *, progress: bool = True
) -> Dataset:
    """The jet dataset, split 80/20 and standardized, from the chosen source."""
    profile = profile or active_profile()
    x, y, digest, origin = jet_arrays(source, profile, progress=progress)
    print(f"jets: using {origin['label']} ({origin['dataset']})")
    x_train, x_test, y_train, y_test = split_train_test(x, y)
    x_train, x_test, mean, std = standardize(x_train, x_test)
    return Dataset(
        name="jets",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=JET_CLASSES,
        feature_names=FEATURE_NAMES,
        provenance={
            **origin,
            "sha256": digest,
            "n_train": int(len(y_train)),
            "n_test": int(len(y_test)),
            "profile": profile.name,
            "split": f"{JET_TEST_FRACTION:.0%} test, stratified, seed {SPLIT_SEED}",
        },
        scaling={"mean": mean, "std": std},
    )


def load_dataset(task: str, profile: Profile | None = None) -> Dataset:
    """The dataset of a design's task (``"jets"`` or ``"mnist"``)."""
    if task == "jets":
        return load_jets(profile=profile)
    if task == "mnist":
        return load_mnist(profile)
    raise ValueError(f"unknown task {task!r}; the tasks are 'jets' and 'mnist'")


def raw_jet_features(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Training features in physical units (undoing the standardization) with labels."""
    return dataset.x_train * dataset.scaling["std"] + dataset.scaling["mean"], dataset.y_train


#: PDG masses (GeV) the groomed jet mass of W, Z and top jets should peak at
RESONANCE_MASSES = {"w": 80.4, "z": 91.2, "t": 172.6}


def mass_modes(mass: np.ndarray, y: np.ndarray, *, bin_width: float = 5.0) -> dict[str, float]:
    """Centre of the most populated groomed-mass bin of each jet class, in GeV."""
    edges = np.arange(0.0, 300.0 + bin_width, bin_width)
    modes = {}
    for c, name in enumerate(JET_CLASSES):
        counts, _ = np.histogram(mass[y == c], bins=edges)
        modes[name] = float(edges[counts.argmax()] + bin_width / 2)
    return modes


def class_separation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Largest Kolmogorov-Smirnov distance over the features, for every pair of classes.

    0 means two classes look identical in every feature, 1 that one feature separates them
    perfectly.
    """
    from scipy.stats import ks_2samp

    classes = np.unique(y)
    separation = np.zeros((classes.size, classes.size))
    for a in classes:
        for b in classes[classes > a]:
            distance = max(
                ks_2samp(x[y == a, f], x[y == b, f]).statistic for f in range(x.shape[1])
            )
            separation[a, b] = separation[b, a] = distance
    return separation


def provenance_table(*datasets: Dataset):
    """Where each dataset came from, one column per dataset (checksums shortened to 16 digits)."""
    import pandas as pd

    columns = {}
    for dataset in datasets:
        p = dataset.provenance
        digests = [p["sha256"]] if isinstance(p["sha256"], str) else list(p["sha256"].values())
        columns[p["dataset"]] = {
            "label": p.get("label", p["dataset"]),
            "source": p["source"],
            "train": p["n_train"],
            "test": p["n_test"],
            "sha256": ", ".join(f"{d[:16]}…" for d in digests),
            "profile": p["profile"],
        }
    return pd.DataFrame(columns)

