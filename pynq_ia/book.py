"""The book's table of contents and its chapters as notebooks.

Chapters are jupytext MyST-markdown files (``.md`` with a ``kernelspec`` in their front
matter). Jupyter Book executes them directly; the test run converts them to notebooks with
jupytext (see :mod:`pynq_ia.nbval_chapters`). Both take the list of chapters from ``_toc.yml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

TOC_FILE = "_toc.yml"
_SUFFIXES = (".md", ".ipynb")


def _files_in(node: Any) -> Iterator[str]:
    """Every ``file:`` entry of a jb-book toc, in reading order."""
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                yield node[key]
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                yield from _files_in(child)
    elif isinstance(node, list):
        for child in node:
            yield from _files_in(child)


def toc_files(book_root: Path) -> list[Path]:
    """The documents of ``_toc.yml`` in reading order, as existing paths.

    Raises ``FileNotFoundError`` naming any entry that has no file, so a typo in the toc is
    reported instead of silently dropping a chapter from the test run.
    """
    book_root = Path(book_root)
    toc = yaml.safe_load((book_root / TOC_FILE).read_text())
    paths, missing = [], []
    for entry in _files_in(toc):
        candidates = [book_root / entry] + [book_root / f"{entry}{s}" for s in _SUFFIXES]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            missing.append(entry)
        else:
            paths.append(found.resolve())
    if missing:
        raise FileNotFoundError(f"{TOC_FILE} lists documents that do not exist: {missing}")
    return paths


def front_matter(path: Path) -> dict[str, Any]:
    """The YAML front matter of a markdown file (empty when it has none)."""
    text = Path(path).read_text()
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    if end < 0:
        return {}
    return yaml.safe_load(text[4:end]) or {}


def is_notebook(path: Path) -> bool:
    """True for a jupytext notebook (a kernelspec in its front matter) or an ``.ipynb``."""
    path = Path(path)
    return path.suffix == ".ipynb" or "kernelspec" in front_matter(path)


def chapter_notebooks(book_root: Path) -> list[Path]:
    """The executable chapters of the book, in reading order."""
    return [p for p in toc_files(book_root) if is_notebook(p)]
