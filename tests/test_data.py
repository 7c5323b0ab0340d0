"""Dataset loaders: checksums, atomic caches, the real-jet path fed with a local ARFF file."""

import numpy as np
import pytest

from pynq_ia import artifacts, data
from pynq_ia.jet_features import FEATURE_NAMES
from pynq_ia.profile import PROFILES


@pytest.fixture
def offline(monkeypatch):
    """No network: OpenML and Keras downloads fail as they do on an offline machine."""
    import socket

    import sklearn.datasets

    def unreachable(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    def only_local_names(host, *args, **kwargs):
        if host == data.OPENML_HOST:
            unreachable()
        return real_getaddrinfo(host, *args, **kwargs)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", only_local_names)
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", unreachable)


def _write_arff(path, n_per_class=30, seed=0):
    rng = np.random.default_rng(seed)
    lines = ["@RELATION hls4ml_lhc_jets_hlf", ""]
    lines += [f"@ATTRIBUTE {name} NUMERIC" for name in FEATURE_NAMES]
    lines += ["@ATTRIBUTE class {g,q,t,w,z}", "", "@DATA"]
    for c in data.JET_CLASSES:
        for _ in range(n_per_class):
            values = rng.normal(size=len(FEATURE_NAMES)) + data.JET_CLASSES.index(c)
            lines.append(",".join(f"{v:.6f}" for v in values) + f",{c}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _fake_mnist(path):
    rng = np.random.default_rng(0)
    np.savez_compressed(
        path,
        x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        y_train=np.arange(20, dtype=np.uint8) % 10,
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10, dtype=np.uint8),
    )


def test_real_jets_from_an_arff_file(tmp_path, isolated_artifacts, offline):
    cached = data.import_jets_arff(_write_arff(tmp_path / "jets.arff"))
    assert cached.parent == data.real_jets_entry() and artifacts.verify_entry(cached.parent)
    jets = data.load_jets("real", PROFILES["ci"])
    assert jets.provenance["source"] == "real"
    assert jets.provenance["label"] == "real jets"
    assert jets.x_train.shape == (120, 16) and jets.x_test.shape == (30, 16)
    assert jets.class_counts("test") == {c: 6 for c in data.JET_CLASSES}  # stratified 20 %
    # standardized with the training statistics
    np.testing.assert_allclose(jets.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(jets.x_train.std(0), 1, atol=1e-4)
    # "auto" prefers the cached real data, without touching the network
    assert data.load_jets("auto", PROFILES["ci"]).provenance["source"] == "real"


def test_arff_with_wrong_columns_is_rejected(tmp_path, isolated_artifacts):
    path = tmp_path / "bad.arff"
    path.write_text("@RELATION x\n@ATTRIBUTE a NUMERIC\n@ATTRIBUTE class {g,q}\n@DATA\n1,g\n")
    with pytest.raises(ValueError, match="lacks the features"):
        data.import_jets_arff(path)


def test_offline_real_jets_give_one_clear_message(isolated_artifacts, offline):
    with pytest.raises(
        data.DatasetUnavailable, match="(?s)PYNQ_IA_JETS=simulated.*import_jets_arff"
    ):
        data.load_jets("real", PROFILES["ci"])


def test_an_unresolvable_openml_fails_at_once_without_fetching(isolated_artifacts, offline,
                                                               monkeypatch):
    import sklearn.datasets

    def must_not_run(*args, **kwargs):
        raise AssertionError("fetch_openml called although OpenML's name does not resolve")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", must_not_run)
    assert not data.openml_reachable()
    with pytest.raises(data.DatasetUnavailable, match="cannot be resolved"):
        data.load_jets("real", PROFILES["ci"])


def test_an_openml_that_resolves_but_fails_names_the_error(isolated_artifacts, offline,
                                                         monkeypatch):
    monkeypatch.setattr(data, "openml_reachable", lambda: True)
    with pytest.raises(data.DatasetUnavailable, match="(?s)OpenML is unreachable.*gaierror"):
        data.load_jets("real", PROFILES["ci"])


def test_corrupt_real_cache_is_detected_not_used(tmp_path, isolated_artifacts, offline):
    cached = data.import_jets_arff(_write_arff(tmp_path / "jets.arff"))
    blob = bytearray(cached.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    cached.write_bytes(bytes(blob))
    with pytest.raises(artifacts.ArtifactDamaged, match="is damaged"):
        artifacts.verify_entry(cached.parent)
    # it cannot be rebuilt offline: the loader reports it instead of using it, and the damaged
    # file goes with its record (nothing is left that could be taken for the dataset)
    with pytest.raises(data.DatasetUnavailable):
        data.load_jets("real", PROFILES["ci"])
    assert not data.real_jets_entry().exists()
    assert not [p for p in (data.cache_dir() / artifacts.BUILDS).glob(f"{data.OPENML_JETS}-*")]


def test_failed_build_leaves_no_file(isolated_artifacts):
    def build(path):
        path.write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        data.cached_dataset("never", {}, build)
    assert not (data.cache_dir() / "never").exists()
    assert not [p for p in (data.cache_dir() / artifacts.BUILDS).iterdir() if p.is_dir()]


def test_jet_source_choice(monkeypatch):
    monkeypatch.delenv(data.JETS_ENV, raising=False)
    assert data.jet_source() == "auto"
    monkeypatch.setenv(data.JETS_ENV, "Simulated")
    assert data.jet_source() == "simulated"
    assert data.jet_source("real") == "real"
    with pytest.raises(ValueError, match="not one of"):
        data.jet_source("openml")


def test_mnist_local_copy_is_verified(tmp_path, monkeypatch, isolated_artifacts):
    (tmp_path / "mnist").mkdir()
    _fake_mnist(tmp_path / "mnist" / "mnist.npz")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    expected = "does not match the MNIST checksum"
    with pytest.raises(data.DatasetUnavailable, match=expected) as caught:
        data.load_mnist(PROFILES["ci"])
    assert "PYNQ_IA_DATA" in str(caught.value) and "mnist.npz" in str(caught.value)


def test_mnist_real_copy(monkeypatch, repo_root):
    shared = repo_root.parent / "shared" / "data"
    local = data.local_data_dir()
    if local is None and not (shared / "mnist" / "mnist.npz").is_file():
        pytest.skip("no local MNIST copy (set PYNQ_IA_DATA)")
    if local is None:
        monkeypatch.setenv(data.DATA_ENV, str(shared))
    mnist = data.load_mnist(PROFILES["ci"])
    assert mnist.x_train.shape == (PROFILES["ci"].mnist_train_limit, 28, 28, 1)
    assert (
        mnist.x_train.dtype == np.float32 and 0 <= mnist.x_train.min() <= mnist.x_train.max() <= 1
    )
    assert mnist.provenance["source"] == "local copy"
    assert set(np.unique(mnist.y_test)) == set(range(10))


def test_mass_modes_and_separation():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 400)
    centers = np.array([10.0, 5.0, 172.0, 80.0, 91.0])
    mass = rng.normal(centers[y], 3.0).clip(0)
    modes = data.mass_modes(mass, y)
    assert abs(modes["w"] - 80) <= 5 and abs(modes["t"] - 172) <= 5
    x = np.stack([mass, rng.normal(size=y.size)], 1)
    separation = data.class_separation(x, y)
    assert separation[2, 3] > 0.99 and separation[0, 0] == 0
    assert separation[0, 1] < separation[0, 2]


def test_an_mnist_npz_that_is_a_directory_is_named_as_such(tmp_path, monkeypatch,
                                                           isolated_artifacts):
    (tmp_path / "mnist" / "mnist.npz").mkdir(parents=True)  # an archive unpacked in place
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    with pytest.raises(data.DatasetUnavailable) as caught:
        data.load_mnist(PROFILES["ci"])
    message = str(caught.value)
    assert "mnist.npz is a directory, not Keras' mnist.npz file" in message
    assert "not available offline" not in message and "PYNQ_IA_DATA" in message
