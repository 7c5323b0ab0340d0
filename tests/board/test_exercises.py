"""The exercises' comparison: a changed setting must change what the tool gave."""

import numpy as np
import pytest

from pynq_ia.board import exercises


def test_a_comparison_is_a_table_of_both_runs():
    table = exercises.compare("ex", {"rate": 1e-3, "loss": 0.5}, {"rate": 0.1, "loss": 0.75},
                              setting="rate")
    assert table.rows == (("rate", 1e-3, 0.1), ("loss", 0.5, 0.75))
    html = table._repr_html_()
    assert "<th>loss</th><td>0.5</td><td>0.75</td>" in html and "this page" in html
    assert str(table).splitlines()[1].split() == ["rate", "0.001", "0.1"]


def test_an_unchanged_setting_is_refused():
    with pytest.raises(AssertionError, match="rate is the page's own"):
        exercises.compare("ex", {"rate": 1, "loss": 0.5}, {"rate": 1, "loss": 0.6},
                          setting="rate")


def test_a_setting_that_changed_nothing_is_refused():
    page = {"bits": 4, "scores": np.arange(3)}
    with pytest.raises(AssertionError, match="did the setting reach the tool"):
        exercises.compare("ex", page, {"bits": 6, "scores": np.arange(3)}, setting="bits")
    changed = exercises.compare("ex", page, {"bits": 6, "scores": np.arange(1, 4)},
                                setting="bits")
    assert changed.rows[0] == ("bits", 4, 6)


@pytest.mark.parametrize(("page", "changed"), [
    ({"rate": 1, "loss": 1}, {"rate": 2, "accuracy": 1}),  # different outcomes
    ({"rate": 1}, {"rate": 2}),  # no outcome besides the setting
    ({"loss": 1}, {"loss": 2}),  # the setting itself is missing
])
def test_runs_that_report_different_things_are_an_error(page, changed):
    with pytest.raises(ValueError, match="exercise ex"):
        exercises.compare("ex", page, changed, setting="rate")


def test_values_are_shown_with_consistent_formats():
    table = exercises.compare("ex", {"n": 1, "words": 12345, "ok": True, "x": 0.1234567},
                              {"n": 2, "words": 7, "ok": np.bool_(False), "x": 2.0}, setting="n")
    assert str(table).splitlines()[2:] == ["words  12,345     7", "ok     True       False",
                                           "x      0.1234567  2.0"]
