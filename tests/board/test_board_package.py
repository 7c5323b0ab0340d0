"""The board package, installed with pip, runs its notebook against the emulated board.

In the board venv (numpy, pynq 3.1, Python 3.10 and nothing of the host side) the emulation-only
package is installed into a folder of its own, PYNQ's ``get-notebooks`` delivers the chapter 8
notebook from it, and the notebook runs in a kernel that sees the installed package only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def installed(fixtures_dir, tmp_path, monkeypatch) -> Path:
    wheels = sorted((fixtures_dir / "package").glob("pynq_ia_board_emulation-*.whl"))
    if not wheels:
        pytest.skip("no board package among the fixtures: `make test-board` builds one")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(site), str(wheels[-1])],
        check=True,
    )
    # the kernel and PYNQ's tools see the installed package, not the checkout
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    where = subprocess.run(
        [sys.executable, "-c", "import pynq_ia.board as b; print(b.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout
    assert where.startswith(str(site)), where
    return site


def test_the_package_notebook_runs_from_the_installed_package(installed, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    delivered = tmp_path / "notebooks"
    subprocess.run(
        [str(Path(sys.executable).parent / "pynq"), "get-notebooks", "pynq_ia",
         "--ignore-overlays", "--force", "--path", str(delivered)],
        check=True, cwd=tmp_path,
    )
    notebook = next(delivered.rglob("08_pynq_dma_inference.ipynb"))
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    outputs = "".join(
        out.get("text", "") for cell in nb.cells for out in cell.get("outputs", [])
    )
    assert "DMA inference OK (emulation)" in outputs
    for design in ("jet_dnn", "mnist_cnn", "mnist_dnn"):
        record = json.loads((notebook.parent / f"results_{design}.json").read_text())
        assert record["identical_to_csim"] and record["fidelity"] == "emulation", design
