"""From a trained (QKeras) model to a compiled hls4ml project for the PYNQ-Z2, and its checks.

The course targets the ``xc7z020clg400-1`` with hls4ml's *VivadoAccelerator* backend, board
``pynq-z2``: besides the network's HLS C++ it writes an AXI-stream wrapper (``<name>_axi``), the
Tcl of a Vivado block design and a PYNQ driver. How each design is converted (I/O type,
strategy, reuse factor, precisions, clock, AXI words) is its :class:`~pynq_ia.designs.HLSSettings`
in the design table; :func:`hls_config` turns them into hls4ml's configuration, explicit where
hls4ml's ``auto`` precisions can break things: the logits feeding the lookup-table softmax (on
the linear layer hls4ml inserts after a QKeras output layer; a wrong type there makes every
output identical, which :func:`compare` checks for) and the softmax tables.

:func:`hls_project` converts a design and compiles its C simulation once (an entry of the
artifact cache): hls4ml's own library, and the course's word runner (:mod:`pynq_ia.word_runner`)
that feeds the IP's wrapper raw AXI words. Both run the same C++; the course's two run-time
changes to hls4ml (:mod:`pynq_ia.hls4ml_patches`) are in place before anything is written.
"""

from __future__ import annotations

import copy
import ctypes
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts, designs, hls4ml_patches, word_runner
from pynq_ia.board.csim import WordRunner
from pynq_ia.compress import quiet_qkeras_serialization
from pynq_ia.designs import BOARD, PART, HLSSettings

#: written into a project after its compile: which libraries it built, and how long it took
PROJECT_STAMP = "pynq_ia_project.json"


def hls_config(model, settings: HLSSettings, *, trace: bool = False) -> dict[str, Any]:
    """The hls4ml configuration of a Keras/QKeras model (per-layer, explicit where it matters)."""
    import hls4ml

    with quiet_qkeras_serialization():
        config = hls4ml.utils.config_from_keras_model(
            model,
            granularity="name",
            backend="VivadoAccelerator",
            default_precision=settings.default_precision,
            default_reuse_factor=settings.reuse_factor,
        )
    config["Model"]["Strategy"] = settings.strategy
    layers = config["LayerName"]
    layers["inputs"]["Precision"]["result"] = settings.input_precision
    # the softmax's input: hls4ml inserts a linear layer after the QKeras output layer whose
    # 'auto' result type decides how finely the softmax tables are addressed
    for layer in ("output", "output_linear"):
        if layer in layers:
            layers[layer]["Precision"]["result"] = settings.softmax_input_precision
    softmax = layers["softmax"]
    softmax["Precision"].update(
        {
            "result": settings.output_precision,
            "exp_table": settings.softmax_table_precision,
            "inv_table": settings.softmax_table_precision,
        }
    )
    softmax["TableSize"] = settings.softmax_table_size
    for layer, reuse in settings.layer_reuse.items():
        layers[layer]["ReuseFactor"] = reuse
    if trace:
        for layer_config in layers.values():
            layer_config["Trace"] = True
    return config


def relu_peaks(model, x: np.ndarray) -> dict[str, float]:
    """The largest output of each ReLU activation layer of a Keras ``model`` on ``x``."""
    from tensorflow import keras

    relus = [layer.name for layer in model.layers
             if getattr(layer, "activation", None) is keras.activations.relu
             and not layer.get_weights()]
    outputs = keras.Model(model.inputs, [model.get_layer(name).output for name in relus])
    values = outputs.predict(x, verbose=0)
    return {name: float(np.max(v)) for name, v in zip(relus, values, strict=True)}


def integer_bits(peak: float) -> int:
    """Integer bits of an unsigned fixed-point type whose range [0, 2**bits) holds ``peak``."""
    return max(0, int(np.floor(np.log2(peak))) + 1) if peak > 0 else 0


def ptq_config(model, settings: HLSSettings, width: int,
               peaks: dict[str, float]) -> dict[str, Any]:
    """Post-training quantization of a float ``model``: the design's configuration with
    ``width``-bit weights and ReLUs.

    Weights and biases become ``ap_fixed<width,1>``, [-1, 1) (the jet tagger's float kernels lie
    within +-1: chapter 4 prints them; anything beyond saturates), each ReLU output
    ``ap_ufixed<width,i>`` with ``i`` the integer bits its largest output (``peaks``, from
    :func:`relu_peaks`) needs; both round to nearest, ties to even, and saturate, as QKeras'
    quantizers do. The input word, the logits and the softmax stay the design's
    (:func:`hls_config`); the hidden dense layers' sums keep hls4ml's exact ``auto`` types.
    """
    config = hls_config(model, settings)
    for name, layer in config["LayerName"].items():
        if layer.get("Precision", {}).keys() >= {"weight", "bias"}:  # the dense layers
            weight_type = f"ap_fixed<{width},1,AP_RND_CONV,AP_SAT>"
            layer["Precision"].update(weight=weight_type, bias=weight_type)
        if name in peaks:
            layer["Precision"]["result"] = (
                f"ap_ufixed<{width},{integer_bits(peaks[name])},AP_RND_CONV,AP_SAT>")
    return config


def convert(
    model,
    name: str,
    output_dir: Path,
    settings: HLSSettings | None = None,
    *,
    trace: bool = False,
    config: dict[str, Any] | None = None,
):
    """The hls4ml model (not yet written) of ``model``, as a VivadoAccelerator project.

    ``config``: an hls4ml configuration instead of the design's (:func:`hls_config`), e.g. a
    post-training one (:func:`ptq_config`).
    """
    import hls4ml

    hls4ml_patches.apply()
    settings = settings or designs.design(name).hls
    config = _configuration(model, settings, trace, config)
    with quiet_qkeras_serialization():
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(output_dir),
            project_name=name,
            backend="VivadoAccelerator",
            board=BOARD,
            part=PART,
            io_type=settings.io_type,
            clock_period=settings.clock_period,
            interface="axi_stream",
            driver="python",
            input_type=settings.input_type,
            output_type=settings.output_type,
        )
    # the writer puts the traced layers' outputs into the C++ only with this flag
    # (hls4ml/writer/vivado_writer.py), which hls4ml's trace sets before it compiles again;
    # set now, the first compile can be traced (:func:`trace`)
    hls_model.config.trace_output = trace
    return hls_model


@dataclass
class HLSProject:
    """A converted, compiled model: the hls4ml model, where it lives, how long compiling took.

    ``from_cache``: the compiled libraries of an earlier call were reused (``compile_seconds``
    is then the time that earlier compile took).
    """

    name: str
    hls_model: Any
    settings: HLSSettings
    directory: Path
    compile_seconds: float
    words: WordRunner | None = None
    from_cache: bool = False

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Bit-accurate C simulation of the network on float inputs (n, ...) -> (n, classes).

        Uses the word runner (a C++ loop over frames) when there is one, else hls4ml's
        ``predict`` (a Python loop calling the library once per frame); both run the same code.
        """
        if self.words is not None:
            return self.words.predict(x)
        return self.hls4ml_predict(x)

    def hls4ml_predict(self, x: np.ndarray) -> np.ndarray:
        """hls4ml's own ``predict`` on the same library code."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = self.hls_model.predict(x)
        return np.asarray(out).reshape(len(x), -1)


def _configuration(model, settings: HLSSettings, trace: bool,
                   config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return hls_config(model, settings, trace=trace)
    config = copy.deepcopy(config)
    if trace:
        for layer_config in config["LayerName"].values():
            layer_config["Trace"] = True
    return config


def project_inputs(name: str, model, settings: HLSSettings, *, trace: bool = False,
                   config: dict[str, Any] | None = None) -> dict:
    """What a compiled project depends on: the model's architecture and weights, the hls4ml
    configuration and version, the settings, and the course's own code that writes C++."""
    import hls4ml

    from pynq_ia.training import architecture

    weights = hashlib.sha256()
    for array in model.get_weights():
        weights.update(np.ascontiguousarray(array).tobytes())
    course_code = hashlib.sha256()
    for path in (*hls4ml_patches.source_files(), Path(word_runner.__file__), Path(__file__)):
        course_code.update(path.read_bytes())
    return {
        "name": name,
        "hls4ml": hls4ml.__version__,
        "settings": settings.as_dict(),
        "trace": trace,
        "config": artifacts.fingerprint(_configuration(model, settings, trace, config)),
        "architecture": artifacts.fingerprint(architecture(model)),
        "weights": weights.hexdigest(),
        "course_code": course_code.hexdigest(),
    }


def hls_project(
    name: str,
    model,
    *,
    settings: HLSSettings | None = None,
    directory: Path | None = None,
    trace: bool = False,
    profile: str | None = None,
    config: dict[str, Any] | None = None,
) -> HLSProject:
    """Design ``name``'s ``model`` converted, and its C simulation compiled, once.

    The project is the entry ``hls4ml/<name>`` of the artifact cache (``directory``: an entry
    elsewhere, e.g. a variant); one compiled earlier for the same model, weights, configuration
    and hls4ml version is loaded, nothing is written or compiled. ``config`` replaces the
    design's hls4ml configuration (:func:`convert`).
    """
    settings = settings or designs.design(name).hls
    if directory is None:
        directory = artifacts.stage_dir("hls4ml", profile=profile) / name
    directory = Path(directory)
    built = {}

    def build(folder: Path) -> None:
        hls_model = convert(model, name, folder, settings, trace=trace, config=config)
        start = time.perf_counter()
        with quiet_qkeras_serialization():  # write() writes the model's configuration too
            hls_model.compile()  # write() + g++ build of hls4ml's C simulation
        words = word_runner.build_word_runner(folder, name, settings)
        seconds = time.perf_counter() - start
        artifacts.write_json(folder / PROJECT_STAMP, {
            "hls4ml": Path(hls_model._top_function_lib._name).relative_to(folder).as_posix(),
            "word_runner": words.library_path.relative_to(folder).as_posix(),
            "seconds": seconds,
            "compiled_in": str(folder.resolve()),
        })
        built.update(hls_model=hls_model, words=words)

    directory.parent.mkdir(parents=True, exist_ok=True)
    inputs = project_inputs(name, model, settings, trace=trace, config=config)
    entry = artifacts.cached(directory.parent, directory.name, inputs, build)
    stamp = artifacts.read_json(entry / PROJECT_STAMP)
    compiled_in = stamp.get("compiled_in")
    if not built and not (compiled_in and (Path(compiled_in) / "firmware" / "weights").is_dir()):
        # hls4ml's library reads its weights from the folder it was compiled in (its
        # build_lib.sh bakes WEIGHTS_DIR in): a cache moved with its checkout compiles again.
        # (A copy may load while that folder stays: its name holds the inputs' key.)
        print(f"{artifacts.display_path(entry)}: the folder its library reads its weights from "
              "is gone (a moved cache): compiling again")
        entry = artifacts.cached(directory.parent, directory.name, inputs, build, rebuild=True)
        stamp = artifacts.read_json(entry / PROJECT_STAMP)
    if built:
        return HLSProject(name, built["hls_model"], settings, entry, stamp["seconds"],
                          built["words"])
    hls_model = convert(model, name, entry, settings, trace=trace, config=config)
    # hls4ml has no public call that attaches a library it built earlier
    hls_model._top_function_lib = ctypes.cdll.LoadLibrary(str(entry / stamp["hls4ml"]))
    words = WordRunner(entry / stamp["word_runner"], settings.input_format,
                       settings.output_format, weights=entry / "firmware" / "weights")
    return HLSProject(name, hls_model, settings, entry, stamp["seconds"], words, True)


def trace(project: HLSProject, x: np.ndarray) -> dict[str, np.ndarray]:
    """hls4ml's ``trace`` of a project converted with ``trace=True``: every traced layer's
    output for the frames ``x``, from the project's own library.

    hls4ml's ``ModelGraph.trace`` (hls4ml/model/graph.py) sets the configuration's
    ``trace_output`` and writes and compiles the whole project again before it reads the
    layers' outputs. Nothing needs that here: :func:`convert` set ``trace_output`` with the
    layers' ``Trace``, so the project's library was compiled with the trace code, and the
    bridge hls4ml writes always has the trace calls (templates/vivado/myproject_bridge.cpp:
    ``allocate_trace_storage``, ``collect_trace_output``). So the trace runs on that library:
    no second compile (seconds saved) and no files rewritten in the checksummed cache entry.
    """
    import contextlib
    import io

    model = project.hls_model
    any_traced = any(layer.get_attr("trace", False) for layer in model.get_layers())
    if not (any_traced and model.config.trace_output):
        raise ValueError(f"{project.name}: no layer is traced; convert it with "
                         "hls_project(..., trace=True)")
    if model._top_function_lib is None:  # hls4ml's attribute for the loaded library
        raise ValueError(f"{project.name}: its C simulation is not compiled or loaded")
    model.compile = lambda: None  # hls4ml's trace would write and compile again: see above
    printed = io.StringIO()  # "Recompiling <name> with tracing": hls4ml's own progress line
    try:
        with contextlib.redirect_stdout(printed):
            _, traced = model.trace(np.ascontiguousarray(x, dtype=np.float32))
    finally:
        del model.compile  # the class's again
    return traced


def compare(reference: np.ndarray, hls: np.ndarray) -> dict[str, Any]:
    """How closely the C simulation follows the reference (QKeras) scores."""
    reference = np.asarray(reference, dtype=np.float64)
    hls = np.asarray(hls, dtype=np.float64)
    if reference.shape != hls.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {hls.shape}")
    difference = np.abs(reference - hls)
    return {
        "argmax_agreement": float(np.mean(reference.argmax(1) == hls.argmax(1))),
        "max_abs_difference": float(difference.max()),
        "mean_abs_difference": float(difference.mean()),
        "constant_outputs": bool(np.any(hls.std(axis=0) == 0) or np.unique(hls.argmax(1)).size < 2),
        "n": int(len(hls)),
    }


def project_metrics(project: HLSProject, reference_model, dataset) -> dict[str, Any]:
    """Accuracy/AUC of the C simulation on the test set and its agreement with the reference."""
    from pynq_ia import training

    hls_scores = project.predict(dataset.x_test)
    reference = training.predict(reference_model, dataset.x_test)
    return {
        **training.metrics_from_scores(hls_scores, dataset.y_test, dataset.class_names),
        "agreement": compare(reference, hls_scores),
        "compile_seconds": project.compile_seconds,
        "settings": project.settings.as_dict(),
        "part": PART,
        "board": BOARD,
        "data": dataset.provenance,
    }
