import json

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


def test_json_roundtrip_with_numpy(isolated_artifacts):
    path = artifacts.stage_dir("metrics") / "x.json"
    artifacts.write_json(path, {"acc": np.float32(0.5), "counts": np.arange(3)})
    assert artifacts.read_json(path) == {"acc": 0.5, "counts": [0, 1, 2]}
    assert not list(path.parent.glob(".*partial*"))


def test_build_once_builds_then_reuses(isolated_artifacts):
    calls = []

    def build(tmp):
        calls.append(tmp)
        tmp.mkdir(exist_ok=True)
        (tmp / "weights.h5").write_text("w")

    target = artifacts.stage_dir("models") / "jet_dnn"
    assert artifacts.build_once(target, build) == target
    assert artifacts.build_once(target, build) == target
    assert len(calls) == 1 and (target / "weights.h5").read_text() == "w"
    artifacts.build_once(target, build, rebuild=True)
    assert len(calls) == 2


def test_build_once_leaves_nothing_when_build_fails(isolated_artifacts):
    def build(tmp):
        (tmp / "half-written").write_text("x")
        raise RuntimeError("interrupted")

    target = artifacts.stage_dir("models") / "broken"
    with pytest.raises(RuntimeError, match="interrupted"):
        artifacts.build_once(target, build)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_build_once_file_target(isolated_artifacts):
    target = artifacts.stage_dir("metrics") / "m.json"
    artifacts.build_once(target, lambda tmp: tmp.write_text("{}"))
    assert json.loads(target.read_text()) == {}


def test_build_once_rejects_a_build_that_writes_nothing(isolated_artifacts):
    target = artifacts.stage_dir("metrics") / "nothing.json"
    with pytest.raises(RuntimeError, match="nothing was written"):
        artifacts.build_once(target, lambda tmp: None)


def test_metrics_sections_accumulate(isolated_artifacts):
    artifacts.update_metrics("jet_dnn", "training", {"accuracy": 0.7})
    artifacts.update_metrics("jet_dnn", "hls4ml", {"accuracy": 0.69})
    artifacts.update_metrics("jet_dnn", "training", {"accuracy": 0.75})
    assert artifacts.load_metrics("jet_dnn") == {
        "training": {"accuracy": 0.75},
        "hls4ml": {"accuracy": 0.69},
    }
    assert artifacts.load_metrics("never_trained") == {}


def test_atomic_write_keeps_the_suffix_for_format_sniffing_writers(isolated_artifacts):
    seen = []
    target = artifacts.stage_dir("models") / "model.h5"
    artifacts.atomic_write(target, lambda tmp: (seen.append(tmp.suffix), tmp.write_text("x")))
    assert seen == [".h5"] and target.read_text() == "x"
