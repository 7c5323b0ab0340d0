"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynq_ia.artifacts import ARTIFACTS_ENV
from pynq_ia.profile import PROFILE_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]


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
