"""pytest plugin: run the book's jupytext chapters with nbval.

With ``--nbval`` or ``--nbval-lax``, every markdown chapter listed in ``_toc.yml`` (at the pytest
rootdir) is converted to a notebook in ``_build/nbval/`` and handed to nbval, which executes it
cell by cell in a fresh kernel; a cell that raises fails the run. The kernel starts in the
chapter's own folder, as under Jupyter Book. A chapter whose front matter names a kernel other
than ``python3`` (chapter 6: ``pynq-ia-rtl``, the RTL venv) runs in that kernel, as under
Jupyter Book, even with ``--nbval-current-env`` (which then means the course's venv for all the
others). Besides:

- a cell whose outputs show a warning, a traceback or an absolute path fails too
  (:func:`tools.book.forbidden_output`): the pages are the product;
- a chapter whose cells all passed goes, with its outputs, into the book's execution cache
  (:func:`tools.book.store_executed`), so that ``make build-book`` builds its page without
  executing it again;
- at the end the plugin prints the wall time of each chapter;
- under pytest-xdist (``-n 2 --dist loadgroup``), the chapters form one group that one process
  runs in book order, followed by the tests marked ``course_cache`` (they use the artifact cache
  the chapters fill); every other test runs on whichever process is free.

It is enabled for the whole repository through ``pyproject.toml``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import jupytext
import nbformat
import pytest
from _pytest.compat import legacy_path  # nbval works with py.path-style fspath
from nbval.plugin import IPyNbFile

from tools.book import (
    TOC_FILE,
    chapter_notebooks,
    forbidden_output,
    prepare_execution_cache,
    store_executed,
)

NOTEBOOK_FOLDER = Path("_build") / "nbval"
#: the kernelspec of the chapters that run in the course's venv (``--nbval-current-env``)
DEFAULT_KERNEL = "python3"


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
    """nbval's notebook collector for a jupytext chapter.

    The node's ``path`` is the chapter itself, so ``pytest book/chapters/NN_topic.md`` selects
    it and reports name it; nbval reads the notebook from ``fspath``, which points at the
    converted copy in ``_build/nbval/``.
    """

    notebook: Path
    #: code cells that ran and passed, by number
    passed: set[int]

    @property
    def fspath(self):  # type: ignore[override]
        return legacy_path(self.notebook)

    def setup(self) -> None:
        kernel = self.nb.metadata.get("kernelspec", {}).get("name", DEFAULT_KERNEL)
        option = self.config.option
        if kernel == DEFAULT_KERNEL:
            super().setup()
        else:  # the chapter's own kernel: nbval reads these two options to choose one
            chosen = option.nbval_current_env, option.nbval_kernel_name
            option.nbval_current_env, option.nbval_kernel_name = False, kernel
            try:
                super().setup()
            finally:
                option.nbval_current_env, option.nbval_kernel_name = chosen
        # nbval starts the kernel next to the converted notebook; chapters run in their folder
        code = f"import os; os.chdir({str(self.path.parent)!r})"
        reply = self.kernel.execute_cell_input(code, allow_stdin=False)
        self.kernel.await_reply(reply, timeout=60)

    def teardown(self) -> None:
        super().teardown()
        code_cells = [cell for cell in self.nb.cells if cell.cell_type == "code"]
        if len(self.passed) == len(code_cells):  # every cell ran and passed: a page as built
            store_executed(self.config.rootpath, self.path, self.nb)


class ChapterOutputError(AssertionError):
    """A chapter's cell printed what no page may show."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield  # a cell that raised stops here, and is not recorded as passed
    parent = item.parent
    if isinstance(parent, ChapterNotebook):
        outputs = item.test_outputs or []
        item.cell.outputs = outputs
        item.cell.execution_count = item.cell_num + 1
        problems = forbidden_output(outputs)
        if problems:
            raise ChapterOutputError(
                f"{parent.path.name}, cell {item.cell_num}: the page would show "
                + "; ".join(problems)
            )
        parent.passed.add(item.cell_num)
    return result


#: the xdist group of the chapters and of the tests that share their artifact cache
COURSE_GROUP = "course"


def pytest_configure(config: pytest.Config) -> None:
    is_xdist_worker = hasattr(config, "workerinput")  # the controller prepared it already
    if _nbval_active(config) and (config.rootpath / TOC_FILE).is_file() and not is_xdist_worker:
        prepare_execution_cache(config.rootpath)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chapters = [item for item in items if isinstance(item.parent, ChapterNotebook)]
    sharing = [item for item in items if item.get_closest_marker("course_cache")]
    for item in chapters + sharing:
        item.add_marker(pytest.mark.xdist_group(COURSE_GROUP))
    # one order with or without xdist: the chapters first (in book order), then the tests that
    # read what they cached, then the rest
    first = {id(item) for item in chapters + sharing}
    items[:] = chapters + sharing + [item for item in items if id(item) not in first]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if file_path.suffix != ".md" or not _nbval_active(config):
        return None
    chapter = file_path.resolve()
    if chapter not in _book_chapters(config):
        return None
    notebook = config.rootpath / NOTEBOOK_FOLDER / f"{chapter.stem}.ipynb"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(jupytext.read(chapter), notebook)
    node = ChapterNotebook.from_parent(parent, path=file_path)
    node.notebook = notebook
    node.passed = set()
    return node


_durations: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith((".ipynb", ".md")):
        _durations[Path(path).stem] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _durations:
        return
    terminalreporter.section("chapter execution times")
    for chapter, seconds in _durations.items():
        terminalreporter.write_line(f"{chapter:<40s} {seconds:8.1f} s")
    terminalreporter.write_line(f"{'total':<40s} {sum(_durations.values()):8.1f} s")
