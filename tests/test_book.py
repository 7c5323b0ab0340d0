import re

import pytest

from tools.book import chapter_notebooks, front_matter, is_notebook, toc_files


def test_toc_lists_existing_documents_in_order(repo_root):
    files = toc_files(repo_root)
    assert files[0] == (repo_root / "book" / "intro.md").resolve()
    chapters = chapter_notebooks(repo_root)
    assert chapters, "no executable chapter in _toc.yml"
    numbers = [int(re.match(r"(\d\d)_", p.name).group(1)) for p in chapters]
    assert numbers == sorted(numbers), "chapters must be listed in flow order"


def test_every_chapter_file_is_in_the_toc(repo_root):
    """A chapter on disk but missing from _toc.yml would silently never run."""
    on_disk = {p.resolve() for p in (repo_root / "book" / "chapters").glob("*.md")}
    assert on_disk == set(chapter_notebooks(repo_root))


def test_chapters_are_myst_jupytext_notebooks(repo_root):
    for chapter in chapter_notebooks(repo_root):
        header = front_matter(chapter)
        assert header["jupytext"]["text_representation"]["format_name"] == "myst", chapter
        # the course's venv, but chapter 6: the RTL venv's kernel, which the Makefile registers
        kernel = "pynq-ia-rtl" if chapter.stem == "06_rtl_open_flow" else "python3"
        assert header["kernelspec"]["name"] == kernel, chapter
    assert not is_notebook(repo_root / "book" / "intro.md")
    assert "RTL_KERNEL_NAME := pynq-ia-rtl" in (repo_root / "Makefile").read_text()


def test_missing_toc_entry_is_reported(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: chapters/01_missing\n"
    )
    (tmp_path / "intro.md").write_text("# Intro\n")
    with pytest.raises(FileNotFoundError, match="01_missing"):
        toc_files(tmp_path)


def test_no_notebooks_are_tracked(repo_root):
    assert not list((repo_root / "book").rglob("*.ipynb"))


def test_each_page_script_is_kept_once():
    """sphinx-thebe's configuration script comes twice, once with no file as None and once as
    "": twice is a JavaScript error on every page (the browser check saw it)."""
    from sphinx.builders.html._assets import _JavaScript

    from tools.book import _unique_scripts

    thebe = 'const THEBE_JS_URL = "x"'
    context = {"script_files": [
        _JavaScript("_static/a.js"), _JavaScript(None, body=thebe), _JavaScript("", body=thebe),
        _JavaScript("_static/a.js"), _JavaScript(None, body="other"),
    ]}
    _unique_scripts(None, "page", "page.html", context, None)
    assert [(str(s.filename or ""), s.attributes) for s in context["script_files"]] == [
        ("_static/a.js", {}), ("", {"body": thebe}), ("", {"body": "other"}),
    ]


def test_each_chapter_title_carries_its_file_number(repo_root):
    """`NN_topic.md` is titled `# N. ...`: inserting a chapter renumbers both."""
    for chapter in chapter_notebooks(repo_root):
        title = next(line for line in chapter.read_text().splitlines() if line.startswith("# "))
        assert title.startswith(f"# {int(chapter.name[:2])}. "), (chapter.name, title)
