"""The two runners fail on a chapter that raises, and pass on one that does not.

Each test builds a one-chapter book in a temporary folder and runs the real commands on it:
pytest with the nbval chapter plugin (as ``make test`` does) and ``make build-book`` (the
recipe behind ``make book``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHAPTER_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
value = 6 * 7
print(value)
```
"""

RAISING_CELL = """
```{code-cell} ipython3
raise RuntimeError("deliberate failure in a chapter")
```
"""


WARNING_CELL = """
```{code-cell} ipython3
import warnings

warnings.warn("a deliberate warning")
```
"""

COUNTING_CELL = """
```{code-cell} ipython3
from pathlib import Path

runs = Path("runs.txt")  # one line per execution of this chapter
runs.write_text(runs.read_text() + "run\\n" if runs.exists() else "run\\n")
```
"""


def _make_book(root: Path, repo_root: Path, *, broken: bool, extra: str = "") -> Path:
    (root / "chapters").mkdir(parents=True)
    (root / "intro.md").write_text("# Test book\n")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: chapters/01_example\n"
    )
    (root / "_config.yml").write_text((repo_root / "_config.yml").read_text())
    favicon = root / "book" / "figures" / "favicon.svg"  # the configuration names it
    favicon.parent.mkdir(parents=True)
    favicon.write_text((repo_root / "book" / "figures" / "favicon.svg").read_text())
    (root / "tools").symlink_to(repo_root / "tools")  # the book's Sphinx extension
    chapter = CHAPTER_HEADER + (RAISING_CELL if broken else "") + extra
    (root / "chapters" / "01_example.md").write_text(chapter)
    return root


def _run_nbval(book: Path, *paths: str, processes: int = 0) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tools.nbval_chapters",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(book),
        "--nbval-lax",
        "--nbval-current-env",
        *(["-n", str(processes), "--dist", "loadgroup"] if processes else []),
        *(str(book / path) for path in paths or ["chapters"]),
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # tools/
    return subprocess.run(command, cwd=book, env=env, capture_output=True, text=True,
                          timeout=600)


def _run_book_build(book: Path, repo_root: Path) -> subprocess.CompletedProcess[str]:
    command = [
        "make",
        "--no-print-directory",
        "-C",
        str(repo_root),
        "build-book",
        f"BOOK_DIR={book}",
        f"BIN={Path(sys.executable).parent}",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_nbval_runs_a_good_chapter_and_reports_its_time(tmp_path, repo_root):
    result = _run_nbval(_make_book(tmp_path, repo_root, broken=False))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" not in result.stdout  # one code cell -> one test
    assert "1 passed" in result.stdout
    assert "chapter execution times" in result.stdout and "01_example" in result.stdout


@pytest.mark.slow
def test_nbval_fails_on_a_raising_chapter(tmp_path, repo_root):
    result = _run_nbval(_make_book(tmp_path, repo_root, broken=True))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deliberate failure in a chapter" in result.stdout


@pytest.mark.slow
def test_nbval_with_no_chapter_collects_nothing_and_fails(tmp_path, repo_root):
    book = _make_book(tmp_path, repo_root, broken=False)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    result = _run_nbval(book)
    assert result.returncode == 5, result.stdout  # pytest's "no tests collected"


@pytest.mark.slow
def test_book_build_executes_a_good_chapter(tmp_path, repo_root):
    book = _make_book(tmp_path, repo_root, broken=False)
    result = _run_book_build(book, repo_root)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (book / "_build" / "html" / "chapters" / "01_example.html").read_text()
    assert "42" in page  # the executed output is in the page


@pytest.mark.slow
def test_book_build_fails_on_a_raising_chapter(tmp_path, repo_root):
    book = _make_book(tmp_path, repo_root, broken=True)
    result = _run_book_build(book, repo_root)
    assert result.returncode != 0
    assert "deliberate failure in a chapter" in result.stdout + result.stderr


@pytest.mark.slow
def test_nbval_fails_on_a_chapter_that_prints_a_warning(tmp_path, repo_root):
    result = _run_nbval(_make_book(tmp_path, repo_root, broken=False, extra=WARNING_CELL))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the page would show a warning" in result.stdout
    assert "a deliberate warning" in result.stdout


def test_the_output_scan_finds_warnings_tracebacks_and_machine_paths():
    from tools.book import forbidden_output

    def stream(text):
        return [{"output_type": "stream", "name": "stdout", "text": text}]

    assert forbidden_output(stream("/usr/lib/x.py:3: FutureWarning: soon"))
    assert forbidden_output(stream("WARNING: Invalid ReuseFactor"))
    assert forbidden_output(stream("Traceback (most recent call last):"))
    assert forbidden_output(stream("cached in /home/student/course/.artifacts"))
    assert forbidden_output([{"output_type": "execute_result", "data": {"text/plain": "~/x"}}])
    fine = "3 frames/s, 1/32 steps, see https://pynq.io/a/b, .artifacts/ci/models, 800 µs/frame"
    assert forbidden_output(stream(fine)) == []


@pytest.mark.slow
def test_the_book_is_built_from_the_test_run_without_executing_again(tmp_path, repo_root):
    book = _make_book(tmp_path, repo_root, broken=False, extra=COUNTING_CELL)
    result = _run_nbval(book)
    assert result.returncode == 0, result.stdout + result.stderr
    result = _run_book_build(book, repo_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (book / "chapters" / "runs.txt").read_text() == "run\n"  # executed once, by nbval
    page = (book / "_build" / "html" / "chapters" / "01_example.html").read_text()
    assert "42" in page  # the output nbval recorded



def _recording(log: Path, name: str, indent: str = "") -> str:
    """Code that appends ``name`` and the pytest-xdist process running it to ``log``."""
    lines = [
        "import os",
        "from pathlib import Path",
        f"log = Path({str(log)!r})",
        "worker = os.environ.get('PYTEST_XDIST_WORKER', 'main')",  # kernels inherit it
        "before = log.read_text() if log.exists() else ''",
        f"log.write_text(before + {name!r} + ' ' + worker + '\\n')",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


@pytest.mark.slow
def test_on_two_processes_the_chapters_run_in_order_in_one_then_the_course_cache_tests(
    tmp_path, repo_root
):
    """``make test``'s pytest-xdist run: chapters in book order, in one process, followed there
    by the tests that read their cache; the other tests anywhere."""
    book = _make_book(tmp_path / "book", repo_root, broken=False)
    log = tmp_path / "order.txt"
    second = CHAPTER_HEADER.replace("# A chapter", "# Another chapter")
    for name, text in (("01_example", CHAPTER_HEADER), ("02_example", second)):
        cell = "\n```{code-cell} ipython3\n" + _recording(log, name) + "```\n"
        (book / "chapters" / f"{name}.md").write_text(text + cell)
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n"
        "  - file: chapters/01_example\n  - file: chapters/02_example\n"
    )
    (book / "pytest.ini").write_text("[pytest]\nmarkers =\n    course_cache: reads the cache\n")
    (book / "tests").mkdir()
    tests = ["@pytest.mark.course_cache\ndef test_after_the_chapters():\n"
             + _recording(log, "cache_test", "    ")]
    tests += [f"def test_other_{n}():\n" + _recording(log, "other", "    ") for n in range(6)]
    (book / "tests" / "test_sharing.py").write_text("import pytest\n\n\n" + "\n\n".join(tests))
    result = _run_nbval(book, "tests", "chapters", processes=2)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "02_example" in result.stdout.split("chapter execution times")[1]
    runs = [line.split() for line in log.read_text().splitlines()]
    course = [(name, worker) for name, worker in runs if name != "other"]
    assert [name for name, _ in course] == ["01_example", "02_example", "cache_test"]
    assert len({worker for _, worker in course}) == 1 and course[0][1].startswith("gw")
    assert [name for name, _ in runs].count("other") == 6
