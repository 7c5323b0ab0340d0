"""What the chapters teach: the tools' own calls on the page, exercises, chapters that run alone.

The course teaches QKeras, tfmot, hls4ml and PYNQ: each chapter must show their calls in its
code cells (executed by ``make test``), and the package code it explains through literalinclude.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

from tools.book import chapter_notebooks

#: per chapter: the calls that must stand in its code cells, and the package functions it shows
TAUGHT = {
    "00_setup": {
        "code": ["hls4ml.utils.config_from_keras_model(",
                 "hls4ml.converters.convert_from_keras_model(", "hls_model.compile()",
                 "hls_model.predict("],
        "shown": [],
    },
    "01_datasets": {
        "code": ['fetch_openml("hls4ml_lhc_jets_hlf"', "train_test_split(", "stratify=y",
                 "StandardScaler().fit(x_train)", "scaler.transform("],
        "shown": [],
    },
    "02_training": {
        "code": ["designs.jet_dnn_float()", ".compile(", "keras.optimizers.Adam(", ".fit(",
                 "keras.callbacks.EarlyStopping(", "keras.callbacks.ReduceLROnPlateau("],
        "shown": ["designs.py:jet_dnn_float", "training.py:fit"],
    },
    "03_quantization_pruning": {
        "code": [
            "quantized_bits(", "quantized_relu(", "designs.jet_dnn_qkeras(",
            "tfmot.sparsity.keras.PolynomialDecay(", "tfmot.sparsity.keras.prune_low_magnitude(",
            "tfmot.sparsity.keras.UpdatePruningStep()", "tfmot.sparsity.keras.strip_pruning(",
        ],
        "shown": ["designs.py:jet_dnn_qkeras", "designs.py:mnist_cnn", "designs.py:_conv",
                  "compress.py:prune"],
    },
    "04_hls4ml_conversion": {
        "code": ["hls4ml.utils.config_from_keras_model(", 'granularity="name"',
                 "hls4ml.converters.convert_from_keras_model(", 'backend="VivadoAccelerator"',
                 'board="pynq-z2"', "io_type=", "clock_period=", "output_dir=",
                 "hls_model.compile()", "hls_model.predict(", "hls4ml.utils.plot_model(",
                 "show_shapes=True", "show_precision=True", "keras.layers.BatchNormalization(",
                 "bn_hls.get_layers()", 'io_type="io_parallel"', "cnn_parallel.write()",
                 'layer["Trace"] = True', "profiling.numerical(", "traced_model.trace("],
        "shown": ["convert.py:hls_config"],
    },
    "05_synthesis_and_resources": {
        "code": [
            ".build(csim=False, synth=True, export=True)", "hls4ml.report.read_vivado_report(",
            'config["Model"]["Strategy"] = "Resource"', 'layer["ReuseFactor"] = 4',
            "hls4ml.converters.convert_from_keras_model(", ".build(csim=False, synth=True)",
            "estimate.rule4ml_estimator().predict(",
            'mnist_config["LayerName"]["fc1"]["ReuseFactor"] = 100',
        ],
        "shown": [],
    },
    "06_rtl_open_flow": {  # da4ml's calls, in the RTL venv's kernel
        "code": ["FixedVariableArrayInput(", "quantize(", "comb_trace(", ".predict(words)",
                 "RTLModel(", "model.write()", "model.compile(", "model.predict(words)",
                 'rtl.run(design, "synthesize"'],
        "shown": ["rtl_da4ml.py:trace_network", "rtl_da4ml.py:convergent_round",
                  "rtl_da4ml.py:verilator_environment", "rtl_da4ml.py:synthesize"],
    },
    "07_block_design": {  # the Tcl's pieces, each printed beside its explanation
        "code": ["blockdesign.write_tcl(", 'show("create_project")', 'show("processing_system7:")',
                 'show("axi_dma:7.1")', 'show("connect_bd_intf_net")',
                 'show("util_reduced_logic:")', 'show("assign_bd_address")',
                 'show("launch_runs")', 'show("report_timing_summary")'],
        "shown": [],
    },
    "08_pynq_dma_inference": {
        "code": ["pynq.allocate(", "dma.sendchannel.transfer(", "dma.recvchannel.transfer(",
                 "dma.sendchannel.wait()", "dma.recvchannel.wait()", ".predict(",
                 "NeuralNetworkOverlay.from_overlay(", "pynq.Overlay(str(bitfile))",
                 "pynq.ps.Clocks.fclk0_mhz =", "axi_stream_driver.NeuralNetworkOverlay("],
        "shown": [
            "driver.py:NeuralNetworkOverlay.predict", "driver.py:NeuralNetworkOverlay._transfer",
        ],
    },
}
EXERCISE_CHAPTERS = ("02", "03", "04", "05", "06", "07", "08")
MAX_CODE_CELL_LINES = {"08_pynq_dma_inference": 15, "09_results": 15}


def _chapters(repo_root: Path) -> dict[str, Path]:
    return {p.stem: p for p in chapter_notebooks(repo_root)}


def _code_cells(chapter: Path) -> list[str]:
    return [c.source for c in jupytext.read(chapter).cells if c.cell_type == "code"]


def _shown(chapter: Path) -> set[str]:
    """``file:object`` of every ``literalinclude`` with ``:pyobject:`` in a chapter."""
    pattern = r"```\{literalinclude\} \S*/(\w+\.py)\n:pyobject: ([\w.]+)"
    return {f"{file}:{obj}" for file, obj in re.findall(pattern, chapter.read_text())}


@pytest.mark.parametrize("name", sorted(TAUGHT))
def test_each_chapter_shows_the_tools_own_calls(repo_root, name):
    chapter = _chapters(repo_root)[name]
    code = "\n".join(_code_cells(chapter))
    missing = [call for call in TAUGHT[name]["code"] if call not in code]
    assert not missing, f"{name}: no code cell calls {missing}"
    assert set(TAUGHT[name]["shown"]) <= _shown(chapter), f"{name}: {_shown(chapter)}"


def test_literalincludes_point_at_existing_package_code(repo_root):
    import ast

    for chapter in _chapters(repo_root).values():
        for shown in _shown(chapter):
            file, obj = shown.split(":")
            path = next((repo_root / "pynq_ia").rglob(file))
            names = {node.name for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.FunctionDef | ast.ClassDef)}
            assert obj.split(".")[-1] in names, (chapter.name, shown)


def _chapter(repo_root: Path, number: str) -> Path:
    return next(p for stem, p in _chapters(repo_root).items() if stem.startswith(number))


@pytest.mark.parametrize("number", EXERCISE_CHAPTERS)
def test_chapters_end_with_exercises_whose_solutions_are_hidden(repo_root, number):
    chapter = _chapter(repo_root, number)
    text = chapter.read_text()
    labels = re.findall(r"```\{exercise\}\n:label: ([\w-]+)", text)
    # a solution is a directive, or gated (solution-start ... solution-end) around code cells
    solutions = re.findall(r"```\{solution(?:-start)?\} ([\w-]+)\n:class: dropdown", text)
    assert len(labels) >= 2, f"{chapter.name}: {len(labels)} exercises"
    assert labels == solutions, f"{chapter.name}: exercises {labels}, hidden solutions {solutions}"
    assert text.count("```{solution-start}") == text.count("```{solution-end}"), chapter.name


def _computed_solutions(chapter: Path) -> dict[str, str]:
    """The code of each gated solution, by exercise label."""
    solutions, label = {}, None
    for cell in jupytext.read(chapter).cells:
        if cell.cell_type == "code" and label:
            solutions[label] += cell.source + "\n"
        elif cell.cell_type == "markdown":  # one cell may end a solution and start the next
            for marker in re.findall(r"```\{solution-(start\} [\w-]+|end\})", cell.source):
                label = marker.split()[1] if marker.startswith("start") else None
                if label:
                    solutions.setdefault(label, "")
    return solutions


@pytest.mark.parametrize("number", EXERCISE_CHAPTERS)
def test_each_chapter_has_a_hands_on_exercise_whose_solution_is_computed(repo_root, number):
    """The solution runs the tool with the setting changed, and ``exercises.compare`` refuses
    it (the chapter fails under nbval) unless the setting and the outcome both changed."""
    solutions = _computed_solutions(_chapter(repo_root, number))
    hands_on = {label for label, code in solutions.items()
                if re.search(r"exercises\.compare\(\s*\"" + label + r"\"", code)
                and "setting=" in code}
    assert hands_on, f"chapter {number}: no solution compares a changed setting: {solutions}"


@pytest.mark.parametrize(("name", "limit"), sorted(MAX_CODE_CELL_LINES.items()))
def test_narrative_chapters_have_short_code_cells(repo_root, name, limit):
    cells = _code_cells(_chapters(repo_root)[name])
    longest = max(len(cell.strip().splitlines()) for cell in cells)
    assert longest <= limit, f"{name}: a code cell of {longest} lines"


@pytest.mark.slow
def test_chapter_9_runs_alone_from_an_empty_artifact_cache(chapter_9_alone):
    """Every section chapter 9 needs is computed by the package when no chapter wrote it."""
    import nbformat

    cache, notebook = chapter_9_alone
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "results OK" in printed
    assert {p.name for p in (cache / "ci" / "metrics").iterdir() if p.is_symlink()} == {
        "jet_dnn", "mnist_dnn", "mnist_cnn"
    }
    nbformat.validate(notebook)
