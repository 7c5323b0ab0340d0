"""The artifact cache: one helper, ``artifacts.cached``, for every stage."""

import json
import os
import threading

import numpy as np
import pytest

from pynq_ia import artifacts


def test_root_follows_env(isolated_artifacts):
    assert artifacts.root() == isolated_artifacts.resolve()


def test_default_root_is_ignored_folder_of_checkout(monkeypatch, repo_root):
    monkeypatch.delenv(artifacts.ARTIFACTS_ENV, raising=False)
    assert artifacts.root() == repo_root / ".artifacts"
    assert ".artifacts/" in (repo_root / ".gitignore").read_text().split()


def test_stage_dir_is_per_profile(isolated_artifacts):
    ci_dir = artifacts.stage_dir("models")
    full_dir = artifacts.stage_dir("models", profile="full")
    assert ci_dir == isolated_artifacts.resolve() / "ci" / "models"
    assert full_dir.parent.name == "full" and ci_dir.is_dir()


@pytest.mark.parametrize("bad", ["", "../x", ".hidden", "a/b"])
def test_stage_names_are_validated(isolated_artifacts, bad):
    with pytest.raises(ValueError):
        artifacts.stage_dir(bad)


@pytest.mark.parametrize("bad", ["", ".builds", ".x", "a/b"])
def test_entry_names_are_validated(isolated_artifacts, bad):
    with pytest.raises(ValueError):
        artifacts.cached(artifacts.stage_dir("models"), bad, {}, lambda folder: None)


def test_json_with_numpy_values(isolated_artifacts, tmp_path):
    path = artifacts.write_json(tmp_path / "x.json", {"acc": np.float32(0.5),
                                                      "counts": np.arange(3)})
    assert artifacts.read_json(path) == {"acc": 0.5, "counts": [0, 1, 2]}


def _writer(calls: list, text: str = "w"):
    def build(folder):
        calls.append(folder)
        (folder / "weights.h5").write_text(text)
        (folder / "sub").mkdir()
        (folder / "sub" / "more.txt").write_text(text * 2)

    return build


def test_an_entry_is_built_once_per_key_then_reused(isolated_artifacts):
    stage, calls = artifacts.stage_dir("models"), []
    entry = artifacts.cached(stage, "net", {"epochs": 3}, _writer(calls))
    assert artifacts.cached(stage, "net", {"epochs": 3}, _writer(calls)) == entry
    assert len(calls) == 1 and (entry / "weights.h5").read_text() == "w"
    record = artifacts.verify_entry(entry)
    assert set(record["sha256"]) == {"weights.h5", "sub/more.txt"}
    assert record["key"] == artifacts.fingerprint({"epochs": 3})
    artifacts.cached(stage, "net", {"epochs": 3}, _writer(calls), rebuild=True)
    assert len(calls) == 2


def test_other_inputs_build_the_entry_again_and_drop_the_old_build(isolated_artifacts, capsys):
    stage, calls = artifacts.stage_dir("models"), []
    entry = artifacts.cached(stage, "net", {"epochs": 3}, _writer(calls, "a"))
    first_build = entry.resolve()
    artifacts.cached(stage, "net", {"epochs": 4}, _writer(calls, "b"))
    assert len(calls) == 2 and (entry / "weights.h5").read_text() == "b"
    assert "built from other inputs" in capsys.readouterr().out
    assert not first_build.exists()  # superseded builds are removed
    assert [p.name for p in (stage / artifacts.BUILDS).iterdir() if p.is_dir()] == [
        entry.resolve().name]


def test_an_entry_is_a_link_to_a_build_named_by_its_key(isolated_artifacts):
    stage = artifacts.stage_dir("models")
    entry = artifacts.cached(stage, "net", {"x": 1}, _writer([]))
    assert entry.is_symlink() and not os.path.isabs(os.readlink(entry))  # the cache can move
    assert entry.resolve().parent == (stage / artifacts.BUILDS).resolve()
    assert entry.resolve().name.startswith(f"net-{artifacts.fingerprint({'x': 1})[:12]}-")
    shown = "$PYNQ_IA_ARTIFACTS/ci/models/net/weights.h5"
    assert artifacts.display_path(entry / "weights.h5") == shown


def test_a_failed_build_leaves_nothing(isolated_artifacts):
    def build(folder):
        (folder / "half-written").write_text("x")
        raise RuntimeError("interrupted")

    stage = artifacts.stage_dir("models")
    with pytest.raises(RuntimeError, match="interrupted"):
        artifacts.cached(stage, "broken", {}, build)
    assert not (stage / "broken").exists()
    assert not [p for p in (stage / artifacts.BUILDS).iterdir() if p.is_dir()]


def test_a_build_that_writes_nothing_is_refused(isolated_artifacts):
    with pytest.raises(RuntimeError, match="nothing was written"):
        artifacts.cached(artifacts.stage_dir("metrics"), "nothing", {}, lambda folder: None)


def test_an_entry_that_cannot_be_built_is_reported(isolated_artifacts):
    with pytest.raises(artifacts.ArtifactDamaged, match="cannot be built here"):
        artifacts.cached(artifacts.stage_dir("models"), "absent", {}, None)


def test_builds_of_one_entry_take_turns(isolated_artifacts):
    """Two threads asking for the same entry at once: one builds, the other waits and reuses."""
    stage, calls, entries = artifacts.stage_dir("models"), [], []
    started = threading.Event()

    def slow(folder):
        started.set()
        calls.append(folder)
        threading.Event().wait(0.3)
        (folder / "m.txt").write_text("m")

    def ask():
        entries.append(artifacts.cached(stage, "shared", {"k": 1}, slow))

    first = threading.Thread(target=ask)
    first.start()
    started.wait(5)
    ask()
    first.join()
    assert len(calls) == 1 and entries[0] == entries[1]


def test_a_cached_json_result(isolated_artifacts):
    stage, calls = artifacts.stage_dir("sweeps"), []

    def compute():
        calls.append(1)
        return {"rows": np.arange(3)}

    assert artifacts.cached_json(stage, "sweep", {"bits": [2, 4]}, compute) == {"rows": [0, 1, 2]}
    assert artifacts.cached_json(stage, "sweep", {"bits": [2, 4]}, compute) == {"rows": [0, 1, 2]}
    assert len(calls) == 1
    record = json.loads((stage / "sweep" / artifacts.RECORD).read_text())
    assert record["inputs"] == {"bits": [2, 4]}


def test_metrics_sections_accumulate(isolated_artifacts):
    artifacts.update_metrics("jet_dnn", "training", {"accuracy": 0.7})
    artifacts.update_metrics("jet_dnn", "hls4ml", {"accuracy": 0.69})
    artifacts.update_metrics("jet_dnn", "training", {"accuracy": 0.75})
    assert artifacts.load_metrics("jet_dnn") == {
        "training": {"accuracy": 0.75},
        "hls4ml": {"accuracy": 0.69},
    }
    assert artifacts.load_metrics("never_trained") == {}


def test_metrics_follow_the_profile_given(isolated_artifacts):
    artifacts.update_metrics("jet_dnn", "float", {"accuracy": 0.7}, profile="full")
    assert artifacts.load_metrics("jet_dnn") == {}
    assert artifacts.load_metrics("jet_dnn", profile="full") == {"float": {"accuracy": 0.7}}
