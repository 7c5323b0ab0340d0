import shutil
import subprocess

import pytest


def test_ruff_clean(repo_root):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is pinned in requirements.in but not on PATH")
    result = subprocess.run([ruff, "check", "."], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
