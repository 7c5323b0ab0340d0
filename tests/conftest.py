"""Fixtures shared by the unit tests."""

from __future__ import annotations

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
