import shutil
import subprocess

import pytest


def test_ruff_clean(repo_root):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is pinned in requirements.in but not on PATH")
    result = subprocess.run([ruff, "check", "."], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chapters_are_ruff_clean(repo_root):
    """The chapters' code cells, as jupytext's py:percent, under the repository's ruff settings
    (the prose is not code: a long markdown table line or figure caption is no E501)."""
    import jupytext

    from tools.book import chapter_notebooks

    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is pinned in requirements.in but not on PATH")
    problems = []
    for chapter in chapter_notebooks(repo_root):
        notebook = jupytext.read(chapter)
        notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
        for cell in notebook.cells:  # tags and figure captions are not code either
            cell.metadata = {}
        source = jupytext.writes(notebook, fmt="py:percent")
        name = chapter.relative_to(repo_root).with_suffix(".py").as_posix()
        result = subprocess.run(
            [ruff, "check", "--stdin-filename", name, "-"],
            input=source, cwd=repo_root, capture_output=True, text=True,
        )
        if result.returncode != 0:
            problems.append(result.stdout)
    assert not problems, "\n".join(problems)
