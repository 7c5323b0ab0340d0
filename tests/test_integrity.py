"""Every cache and local copy is checked: damage gives a clear message or a rebuild, never a raw
library error. Each test damages a file the way a full disk or a killed process would."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from pynq_ia import artifacts, data, training
from pynq_ia.profile import PROFILES

DAMAGES = {
    "truncated": lambda blob: blob[: len(blob) // 2],
    "empty": lambda blob: b"",
    "garbage": lambda blob: bytes(range(256)) * 4,
}


def _damage(path, how: str) -> None:
    """Put a damaged copy in place of ``path``.

    A new file, not the old one rewritten: a test process may still have the old file mapped
    (a compiled library loaded with ctypes), and shrinking a mapped file under it kills the
    process with SIGBUS when it next touches those pages (at exit at the latest).
    """
    damaged = path.with_name(f".{path.name}.damaged")
    damaged.write_bytes(DAMAGES[how](path.read_bytes()))
    os.replace(damaged, path)


@pytest.fixture
def local_mnist(tmp_path, monkeypatch, repo_root):
    """A copy of the real MNIST file in a PYNQ_IA_DATA folder of the test's own."""
    source = data.local_data_dir() or repo_root.parent / "shared" / "data"
    original = source / "mnist" / "mnist.npz"
    if not original.is_file():
        pytest.skip("no local MNIST copy to damage (set PYNQ_IA_DATA)")
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    copy = tmp_path / "data" / "mnist" / "mnist.npz"
    shutil.copyfile(original, copy)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "data"))
    return copy


@pytest.mark.parametrize("how", sorted(DAMAGES))
def test_a_damaged_local_mnist_copy_is_one_clear_message(local_mnist, isolated_artifacts, how):
    _damage(local_mnist, how)
    with pytest.raises(data.DatasetUnavailable) as caught:
        data.load_mnist(PROFILES["ci"])
    message = str(caught.value)
    assert "mnist.npz" in message and "PYNQ_IA_DATA" in message
    assert "(60000, 28, 28)" in message and "sha256" in message and data.MNIST_URL in message


def test_a_damaged_arff_file_is_one_clear_message(tmp_path, isolated_artifacts):
    arff = tmp_path / "jets.arff"
    arff.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(data.DatasetUnavailable, match="jets.arff cannot be read as an ARFF"):
        data.import_jets_arff(arff)


@pytest.mark.parametrize("record", ["intact", "missing", "empty", "foreign"])
@pytest.mark.parametrize("how", [None, "truncated"])
def test_a_cached_dataset_with_a_bad_record_or_body_is_rebuilt(isolated_artifacts, capsys,
                                                               record, how):
    """Only an intact dataset with its intact record is reused; anything else is rebuilt."""
    builds = []

    def build(path):
        builds.append(path)
        np.savez(path, a=np.arange(5))

    target, _ = data.cached_dataset("thing", {"n": 5}, build)
    companion = target.parent / artifacts.RECORD
    if record == "missing":
        companion.unlink()
    elif record == "empty":
        companion.write_text("")  # what a run killed while writing it used to leave
    elif record == "foreign":
        companion.write_text(json.dumps({"key": "0" * 64, "sha256": {"other.npz": "0" * 64}}))
    if how:
        _damage(target, how)
    capsys.readouterr()
    path, digest = data.cached_dataset("thing", {"n": 5}, build)
    reused = record == "intact" and how is None
    assert len(builds) == (1 if reused else 2)
    assert artifacts.verify_entry(path.parent)["sha256"][path.name] == digest
    with np.load(path) as reloaded:
        assert reloaded["a"].tolist() == [0, 1, 2, 3, 4]
    if not reused:
        assert "datasets/thing" in capsys.readouterr().out  # the rebuild names the entry


@pytest.mark.parametrize("how", sorted(DAMAGES))
def test_a_damaged_metrics_file_is_set_aside_with_a_message(isolated_artifacts, capsys, how):
    artifacts.update_metrics("jet_dnn", "float", {"accuracy": 0.7})
    _damage(artifacts.stage_dir("metrics") / "jet_dnn" / "metrics.json", how)
    assert artifacts.load_metrics("jet_dnn") == {}
    assert "metrics/jet_dnn/metrics.json" in capsys.readouterr().out
    artifacts.update_metrics("jet_dnn", "float", {"accuracy": 0.8})  # and the file works again
    assert artifacts.load_metrics("jet_dnn") == {"float": {"accuracy": 0.8}}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_trained_model_is_trained_again(isolated_artifacts, capsys, how, small_jets):
    first = training.trained_model("jet_dnn", "float", small_jets, verbose=0)
    path = training.model_path("jet_dnn", "float")
    _damage(path, how)
    again = training.trained_model("jet_dnn", "float", small_jets, verbose=0)
    out = capsys.readouterr().out
    assert "models/jet_dnn_float/jet_dnn.h5 is damaged" in out and "building it again" in out
    assert training.architecture(again) == training.architecture(first)
    artifacts.verify_entry(path.parent)  # the new file matches its record


@pytest.mark.slow
def test_a_damaged_emulation_bundle_is_written_again(cache_after_chapter_9, capsys, local_mnist):
    """The course's jet tagger (ci profile), bundled, damaged, bundled again."""
    from pynq_ia import emulation_bundles
    from pynq_ia.board.sessions import open_emulated

    bundle = emulation_bundles.emulation_bundle("jet_dnn")
    library = bundle / "jet_dnn_csim.so"
    _damage(library, "truncated")
    assert emulation_bundles.emulation_bundle("jet_dnn") == bundle
    assert "emulation/jet_dnn/jet_dnn_csim.so is damaged" in capsys.readouterr().out
    session = open_emulated(bundle)
    assert np.array_equal(session.driver.predict(session.x[:20]), session.reference_scores[:20])


@pytest.mark.slow
def test_a_chapter_runs_after_its_cache_was_damaged(cache_after_chapter_9, repo_root,
                                                    local_mnist):
    """Chapter 7 after a killed run left its model and its hls4ml project half written."""
    import jupytext
    from nbclient import NotebookClient

    from pynq_ia import convert

    model = training.trained_model("jet_dnn", "qkeras", verbose=0)  # from the cache
    project = convert.hls_project("jet_dnn", model)
    assert project.from_cache
    stamp = json.loads((project.directory / convert.PROJECT_STAMP).read_text())
    _damage(training.model_path("jet_dnn", "qkeras"), "truncated")
    _damage(project.directory / stamp["word_runner"], "truncated")
    chapter = repo_root / "book" / "chapters" / "07_block_design.md"
    notebook = jupytext.read(chapter)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(chapter.parent)}}).execute()
    outputs = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "block designs OK" in outputs
    assert "models/jet_dnn_qkeras/jet_dnn.h5 is damaged" in outputs  # said so, trained again
    artifacts.verify_entry(training.model_path("jet_dnn", "qkeras").parent)
