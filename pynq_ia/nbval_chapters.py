"""pytest plugin: run the book's jupytext chapters with nbval.

With ``--nbval`` or ``--nbval-lax``, every markdown chapter listed in ``_toc.yml`` (at the pytest
rootdir) is converted to a notebook in ``_build/nbval/`` and handed to nbval, which executes it
cell by cell in a fresh kernel; a cell that raises fails the run. The kernel starts in the
chapter's own folder, as under Jupyter Book. At the end the plugin prints the wall time of each
chapter. It is enabled for the whole repository through ``pyproject.toml``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbval.plugin import IPyNbFile

from pynq_ia.book import TOC_FILE, chapter_notebooks

NOTEBOOK_FOLDER = Path("_build") / "nbval"


def _nbval_active(config: pytest.Config) -> bool:
    return bool(config.option.nbval or config.option.nbval_lax)


def _book_chapters(config: pytest.Config) -> set[Path]:
    cached = getattr(config, "_pynq_ia_chapters", None)
    if cached is None:
        root = config.rootpath
        cached = set(chapter_notebooks(root)) if (root / TOC_FILE).is_file() else set()
        config._pynq_ia_chapters = cached  # type: ignore[attr-defined]
    return cached


class ChapterNotebook(IPyNbFile):
    """nbval's notebook collector for a converted chapter, run in the chapter's folder."""

    chapter: Path

    def setup(self) -> None:
        super().setup()
        code = f"import os; os.chdir({str(self.chapter.parent)!r})"
        reply = self.kernel.execute_cell_input(code, allow_stdin=False)
        self.kernel.await_reply(reply, timeout=60)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if file_path.suffix != ".md" or not _nbval_active(config):
        return None
    chapter = file_path.resolve()
    if chapter not in _book_chapters(config):
        return None
    notebook_path = config.rootpath / NOTEBOOK_FOLDER / f"{chapter.stem}.ipynb"
    notebook_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(jupytext.read(chapter), notebook_path)
    node = ChapterNotebook.from_parent(parent, path=notebook_path)
    node.chapter = chapter
    return node


_durations: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _durations[Path(path).stem] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _durations:
        return
    terminalreporter.section("chapter execution times")
    for chapter, seconds in _durations.items():
        terminalreporter.write_line(f"{chapter:<40s} {seconds:8.1f} s")
    terminalreporter.write_line(f"{'total':<40s} {sum(_durations.values()):8.1f} s")
