"""The hands-on exercises' solutions: what a changed tool setting gave, beside the page's run.

In each chapter's hands-on exercise the student changes one setting of a tool (a learning rate,
a pruning target, a precision, a reuse factor, a stream width, a transfer's length) and runs
the tool again. The solution, folded under the exercise and executed with the book, does exactly
that and shows the outcome beside the page's own run with :func:`compare`. ``compare`` refuses
a solution whose setting is the page's, or whose outcomes are all the page's: the setting then
never reached the tool, and the solution would show the student nothing.

Standard library and numpy only: chapter 8's solutions run on the board too.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

COLUMNS = ("this page", "the exercise")


def same(a: Any, b: Any) -> bool:
    """Whether two outcomes are equal: numbers, strings, or arrays element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    return bool(a == b)


def _text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):  # as the caller rounded it
        return f"{float(value):,}"
    return str(value)


@dataclass(frozen=True)
class Comparison:
    """The page's run and the exercise's, one row per setting or outcome; a table in Jupyter."""

    exercise: str
    rows: tuple[tuple[str, Any, Any], ...]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join(
            f"<tr><th>{html.escape(name)}</th><td>{html.escape(_text(page))}</td>"
            f"<td>{html.escape(_text(changed))}</td></tr>"
            for name, page, changed in self.rows
        )
        return (f'<table class="dataframe"><thead><tr><th></th>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    def __str__(self) -> str:
        cells = [("", *COLUMNS)] + [(n, _text(p), _text(c)) for n, p, c in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(3)]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                         .rstrip() for row in cells)

    __repr__ = __str__


def compare(exercise: str, page: Mapping[str, Any], changed: Mapping[str, Any], *,
            setting: str) -> Comparison:
    """The page's run beside the exercise's: ``setting`` names the entry the student changed,
    the other entries are what the tool gave.

    Raises ``ValueError`` when the two runs report different entries or no outcome besides the
    setting, and ``AssertionError`` when the setting is the page's or every outcome is.
    """
    if list(page) != list(changed):
        raise ValueError(f"exercise {exercise}: the page reports {list(page)}, "
                         f"the exercise {list(changed)}; report the same entries")
    outcomes = [key for key in page if key != setting]
    if setting not in page or not outcomes:
        raise ValueError(f"exercise {exercise}: report the setting {setting!r} and at least "
                         f"one outcome besides it (got {list(page)})")
    if same(page[setting], changed[setting]):
        raise AssertionError(f"exercise {exercise}: {setting} is the page's own "
                             f"({_text(page[setting])}): change it")
    if all(same(page[key], changed[key]) for key in outcomes):
        raise AssertionError(
            f"exercise {exercise}: {setting} {_text(changed[setting])} gave the page's own "
            f"outcome {dict((k, page[k]) for k in outcomes)}: did the setting reach the tool?")
    return Comparison(exercise, tuple((key, page[key], changed[key]) for key in page))
