"""The book's table of contents and its chapters as notebooks.

Chapters are jupytext MyST-markdown files (``.md`` with a ``kernelspec`` in their front
matter). Jupyter Book executes them directly; the test run converts them to notebooks with
jupytext (see :mod:`tools.nbval_chapters`). Both take the list of chapters from ``_toc.yml``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
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


# ------------------------------------------------------------------- one execution per chapter

#: Jupyter Book's execution cache (``_config.yml``) and what it was filled under
EXECUTION_CACHE = Path("_build") / ".jupyter_cache"
STATE_FILE = Path("_build") / ".book_state"
#: environment variables that change what chapters compute, besides the profile
STATE_VARIABLES = ("PYNQ_IA_PROFILE", "CI", "PYNQ_IA_JETS", "PYNQ_IA_DATA")


def execution_state() -> str:
    """What executed chapters depend on besides their own code: the package (pynq_ia and its
    C++; not this tooling, which changes how pages are run and checked, not what they compute),
    the pinned stack, and the variables that choose profile and data."""
    import pynq_ia

    package = Path(pynq_ia.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".h") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + path.read_bytes())
    requirements = package.parent / "requirements.txt"
    if requirements.is_file():
        digest.update(requirements.read_bytes())
    for name in STATE_VARIABLES:
        digest.update(f"{name}={os.environ.get(name, '')}".encode())
    return digest.hexdigest()[:16]


def prepare_execution_cache(book_root: Path) -> bool:
    """Empty the book's execution cache when the state changed since it was filled.

    Jupyter Book (``execute_notebooks: cache``) and the test run (which stores the chapters it
    executed, see :func:`store_executed`) share it. Returns True when it was emptied.
    """
    book_root = Path(book_root)
    state, state_file = execution_state(), book_root / STATE_FILE
    if state_file.is_file() and state_file.read_text().strip() == state:
        return False
    shutil.rmtree(book_root / EXECUTION_CACHE, ignore_errors=True)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(state + "\n")
    return True


def store_executed(book_root: Path, chapter: Path, notebook) -> None:
    """Put a chapter executed elsewhere (the test run) into the book's execution cache.

    The cache matches notebooks by their code cells, so Jupyter Book then builds the page from
    these outputs instead of executing the chapter again.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(Path(book_root) / EXECUTION_CACHE)
    bundle = CacheBundleIn(notebook, uri=str(Path(chapter).resolve()))
    cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)


# ------------------------------------------------------------------- what no page may show

#: (pattern, what it is): outputs a reader must never see
FORBIDDEN_OUTPUT = (
    (re.compile(r"\w*Warning\b|\bWARNING\b"), "a warning"),
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
    # a machine's path: under a system or home folder, a virtual environment, a user's home
    (
        re.compile(
            r"(?<![\w.*:/~-])/(?:home|root|work|tmp|usr|opt|var|etc|mnt|srv|Users|private|proc"
            r"|media|snap|nix|lib|lib64|bin|sbin|run)/[\w.+-]|site-packages|\.venv/|~/[\w.+-]"
        ),
        "a machine's path",
    ),
)


def output_texts(outputs) -> list[str]:
    """The text a reader sees of a cell's outputs: streams and plain-text results."""
    texts = []
    for output in outputs:
        if output.get("output_type") == "stream":
            texts.append(output.get("text", ""))
        elif output.get("output_type") in ("display_data", "execute_result"):
            texts.append(output.get("data", {}).get("text/plain", ""))
        elif output.get("output_type") == "error":
            texts.append("\n".join(output.get("traceback", [])))
    return texts


def forbidden_output(outputs) -> list[str]:
    """What in a cell's outputs no page may show: each problem with the text around it."""
    problems = []
    for text in output_texts(outputs):
        for pattern, what in FORBIDDEN_OUTPUT:
            for match in pattern.finditer(text):
                start = max(0, match.start() - 40)
                problems.append(f"{what}: ...{text[start:match.end() + 40].strip()}...")
    return problems


# ------------------------------------------------------------------- the book's Sphinx extension


def _light_mode_by_default(app, config) -> None:
    # pydata-sphinx-theme logs a console error when no default mode is set (html_context)
    config.html_context.setdefault("default_mode", "light")


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    # sphinx-thebe adds its configuration script (`const THEBE_JS_URL = ...`) once per reading
    # pass, and a second copy is a JavaScript error on every page: keep each script once. The
    # copies differ only in how they say "no file" (None, then ""), so that is not compared.
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), repr(getattr(script, "attributes", None)))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app) -> dict[str, Any]:
    """The book's Sphinx extension (listed in ``_config.yml``): pages without console errors."""
    app.connect("config-inited", _light_mode_by_default)
    app.connect("html-page-context", _unique_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.book prepare-cache BOOK_ROOT``: what ``make build-book`` runs first."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "prepare-cache":
        print("usage: python -m tools.book prepare-cache BOOK_ROOT", file=sys.stderr)
        return 2
    if prepare_execution_cache(Path(args[1])):
        print("profile, package or data changed since the last execution: every chapter runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
