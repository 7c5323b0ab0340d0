"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from pynq_ia import artifacts
from pynq_ia.artifacts import ARTIFACTS_ENV
from pynq_ia.profile import PROFILE_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
#: the course's artifact cache, the one the chapters fill (as this session found it)
COURSE_ARTIFACTS = artifacts.root()


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def isolated_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Artifacts go to a temporary folder, in the ci profile."""
    root = tmp_path / "artifacts"
    monkeypatch.setenv(ARTIFACTS_ENV, str(root))
    monkeypatch.setenv(PROFILE_ENV, "ci")
    return root


@pytest.fixture(autouse=True)
def own_artifact_cache(request, tmp_path_factory, monkeypatch):
    """Each test caches into a folder of its own, unless it is marked ``course_cache``.

    The chapters may run at the same time in another process (``make test`` uses pytest-xdist):
    a test must neither see their half-built cache nor write into it.
    """
    if request.node.get_closest_marker("course_cache") is None:
        monkeypatch.setenv(ARTIFACTS_ENV, str(tmp_path_factory.mktemp("artifacts")))


@pytest.fixture
def course_artifacts() -> Path:
    """The course's artifact cache, to read finished files from (never to write into)."""
    return COURSE_ARTIFACTS


@pytest.fixture(scope="session")
def compiled_jet_dnn(tmp_path_factory):
    """The course's 6-bit jet tagger, untrained (seed 3), converted and compiled once per test
    process: conversion needs no training. Tests that change the project copy its folder."""
    from tensorflow import keras

    from pynq_ia import convert, designs
    from pynq_ia.compress import Quantization

    keras.utils.set_random_seed(3)
    model = designs.jet_dnn(Quantization(bits=6))
    directory = tmp_path_factory.mktemp("hls") / "jet_dnn"
    return convert.hls_project("jet_dnn", model, directory=directory), model


@pytest.fixture
def small_jets():
    """A jet-shaped dataset small enough to train in seconds (for tests about caching)."""
    import numpy as np

    from pynq_ia import data

    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 500)
    x = rng.normal(size=(500, 16)).astype(np.float32) + y[:, None] * 0.5
    return data.Dataset(
        name="jets", x_train=x[:400], y_train=y[:400], x_test=x[400:], y_test=y[400:],
        class_names=tuple(data.JET_CLASSES), feature_names=tuple(data.FEATURE_NAMES),
        provenance={"dataset": "test jets", "source": "test", "sha256": "0" * 64,
                    "n_train": 400, "n_test": 100, "profile": "ci"},
    )


#: xdist groups: the tests sharing one session fixture run in one process, so it is built once
SHARED_FIXTURE_GROUPS = {
    "compiled_jet_dnn": "jet_dnn_project",
    "chapter_9_alone": "chapter_9_alone",
    "fixtures_dir": "board_fixtures",  # tests/board: its test designs, compiled once
}
#: how long the chapter 9 run waits for the chapters' jets (they take about a minute)
COURSE_JETS_TIMEOUT_S = 600


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, group in SHARED_FIXTURE_GROUPS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def chapter_9_alone(request, tmp_path_factory):
    """Chapter 9 executed from an empty artifact cache in the ci profile, once per test process:
    the cache it filled and the executed notebook.

    Only the course's finished datasets are copied in (inputs, not chapter outputs: simulating
    the jets again would add a minute and test nothing more). When the chapters run in this
    session too (in another process under xdist), it waits for their jets.
    """
    import jupytext
    from nbclient import NotebookClient

    from pynq_ia import data
    from pynq_ia.profile import PROFILES

    if any("01_datasets" in item.nodeid for item in request.session.items):
        with pytest.MonkeyPatch.context() as env:
            env.setenv(ARTIFACTS_ENV, str(COURSE_ARTIFACTS))
            real = data.real_jets_entry()
            simulated = data.cache_dir() / data.simulated_jets_name(
                PROFILES["ci"].simulated_jets_per_class, 0)
        _wait_for_one_entry([real, simulated], COURSE_JETS_TIMEOUT_S)
    cache = tmp_path_factory.mktemp("chapter_9_alone") / "artifacts"
    _copy_finished_datasets(COURSE_ARTIFACTS / "datasets", cache / "datasets")
    chapter = REPO_ROOT / "book" / "chapters" / "09_results.md"
    notebook = jupytext.read(chapter)
    with pytest.MonkeyPatch.context() as env:  # the kernel inherits this process's environment
        env.setenv(ARTIFACTS_ENV, str(cache))
        env.setenv(PROFILE_ENV, "ci")
        NotebookClient(notebook, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(chapter.parent)}}).execute()
    return cache, notebook


@pytest.fixture
def cache_after_chapter_9(chapter_9_alone, isolated_artifacts) -> Path:
    """A private copy (the test's artifact cache, ci profile) of the cache chapter 9 filled alone:
    every model trained, every hls4ml project compiled. Relative paths inside: it works anywhere."""
    shutil.copytree(chapter_9_alone[0], isolated_artifacts, symlinks=True, dirs_exist_ok=True)
    return isolated_artifacts


def _wait_for_one_entry(entries: list[Path], timeout_s: float) -> None:
    """Wait until one of ``entries`` is complete (its link lands last, by rename)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(entry.is_symlink() for entry in entries):
            return
        time.sleep(2)


def _copy_finished_datasets(source: Path, target: Path) -> None:
    """Copy the datasets of ``source`` that are complete and match their records.

    The chapters may be writing that folder right now (another pytest process): an entry still
    being built, or replaced while copied, is left for the test to compute itself.
    """
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()) if source.is_dir() else []:
        if not entry.is_symlink():
            continue
        try:
            artifacts.verify_entry(artifacts.copy_entry(entry, target))
        except (OSError, artifacts.ArtifactDamaged):
            artifacts.remove(target / entry.name)
