"""From a trained (QKeras) model to an hls4ml project for the PYNQ-Z2, and its C simulation.

The course targets the ``xc7z020clg400-1`` with hls4ml's *VivadoAccelerator* backend, board
``pynq-z2``: besides the network's HLS C++ it writes an AXI-stream wrapper (``<name>_axi``), the
Tcl of the Vivado block design and a PYNQ driver. Choices made here, each for a reason:

- **Clock**: 10 ns. The block design clocks the IP from the PS's FCLK0 at 100 MHz; hls4ml's
  default (5 ns) would schedule the design for a clock it never gets.
- **I/O**: the AXI stream carries ``ap_fixed<16,6>`` words (2 bytes) instead of 32-bit floats:
  half the DMA traffic, and no float conversion in the fabric. The input word *is* the network's
  input type, rounded and saturated (``AP_RND_CONV``, ``AP_SAT``), so values outside [-32, 32)
  clip instead of wrapping around; the output is the softmax result, ``ap_fixed<16,1>`` (a
  probability with 15 fractional bits). ``float_io=True`` keeps hls4ml's float words instead.
- **Precisions**: QKeras layers bring their own weight and activation widths. Where hls4ml would
  choose ``auto`` precisions that can break things, they are set explicitly: the layer feeding
  the lookup-table softmax (the linear layer hls4ml inserts after the QKeras output layer) gets
  ``ap_fixed<16,4>`` for the jet tagger, whose logits stay within +-8, and ``ap_fixed<16,6>`` for
  the MNIST models — a wrong type there makes every output identical (:func:`compare` checks
  for that), and its integer bits set how finely the softmax tables are addressed — and the
  softmax tables ``ap_fixed<18,8>`` with 4096 entries.
- **Architecture**: the dense models use ``io_parallel`` (all values of a layer at once), the CNN
  ``io_stream`` (pixels flow through FIFOs); strategy and reuse factor per model in
  :data:`HLS_SETTINGS` keep each design inside the device.

hls4ml 1.3.0 writes the wrapper's AXI word types in its internal notation (``fixed<16,6,...>``)
when they are not floats, which does not compile; :func:`fix_hls4ml_axi_types` makes the
accelerator configuration hand the writer proper C++ types, so every write (compile, trace,
synthesis) is right.

**C simulation speed.** hls4ml's ``dense_latency`` multiplies by every weight, zero or not; in
hardware the zero ones cost nothing (synthesis drops constant-zero multipliers), in C simulation
each is an emulated ap_fixed multiply. :func:`add_dense_csim_shortcut` puts a C-simulation-only
path into every written project (``pynq_ia/cpp/pynq_ia_dense_csim.h``) that multiplies only the
nonzero weights, in hls4ml's order: the same bits, several times faster for pruned models, and
invisible to synthesis (``__SYNTHESIS__``). The :class:`WordRunner` also runs frames on all
cores, each thread with its own copy of the compiled network (io_stream layers keep state in
static variables, so two threads must never share one).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts
from pynq_ia.board.csim import WordRunner, available_cores
from pynq_ia.board.words import WordFormat, word_format
from pynq_ia.compress import quiet_qkeras_serialization

PART = "xc7z020clg400-1"
BOARD = "pynq-z2"
#: FCLK0 of the block design: 100 MHz
CLOCK_PERIOD_NS = 10.0
INPUT_PRECISION = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
OUTPUT_PRECISION = "ap_fixed<16,1,AP_RND_CONV,AP_SAT>"
#: the logits' type: the stable softmax addresses its exp table with the top bits of (max - x),
#: so fewer integer bits mean finer steps, as long as the logits fit (per model, HLSSettings)
SOFTMAX_INPUT_PRECISION = "ap_fixed<16,6>"
SOFTMAX_TABLE_PRECISION = "ap_fixed<18,8,AP_RND,AP_SAT>"
#: exp and 1/x lookup tables of the softmax: 1024 entries flip the top class of ~1.5 % of jets
#: with near-equal scores; 4096 (2 BRAM36 each) follow the QKeras softmax closely
SOFTMAX_TABLE_SIZE = 4096


@dataclass(frozen=True)
class HLSSettings:
    """How one model is turned into hardware."""

    io_type: str
    strategy: str = "Latency"
    reuse_factor: int = 1
    #: reuse factor per layer where it differs from ``reuse_factor``
    layer_reuse: dict[str, int] = field(default_factory=dict)
    default_precision: str = "ap_fixed<16,6>"
    softmax_input_precision: str = SOFTMAX_INPUT_PRECISION
    input_precision: str = INPUT_PRECISION
    output_precision: str = OUTPUT_PRECISION
    float_io: bool = False
    clock_period: float = CLOCK_PERIOD_NS

    def with_reuse(self, reuse_factor: int) -> HLSSettings:
        return replace(self, reuse_factor=reuse_factor)

    @property
    def input_type(self) -> str:
        """The AXI input word's C++ type: the network's input type, or float."""
        return "float" if self.float_io else self.input_precision

    @property
    def output_type(self) -> str:
        """The AXI output word's C++ type: the softmax result type, or float."""
        return "float" if self.float_io else self.output_precision

    @property
    def input_format(self) -> WordFormat:
        return word_format(self.input_type)

    @property
    def output_format(self) -> WordFormat:
        return word_format(self.output_type)


HLS_SETTINGS: dict[str, HLSSettings] = {
    # the jet tagger's logits stay within +-8: 4 integer bits address the softmax 4x finer
    "jet_dnn": HLSSettings(
        "io_parallel", "Latency", reuse_factor=1, softmax_input_precision="ap_fixed<16,4>"
    ),
    # 784 x 128 weights cannot all have their own multiplier: each one does 128 products; the
    # first layer takes 112, the valid reuse factor nearest 128 for its 784 x 128 shape (hls4ml's
    # Resource strategy needs one that fits: get_valid_reuse_factors(784, 128))
    "mnist_dnn": HLSSettings(
        "io_parallel", "Resource", reuse_factor=128, layer_reuse={"fc1": 112}
    ),
    "mnist_cnn": HLSSettings("io_stream", "Latency", reuse_factor=1),
}


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
            "exp_table": SOFTMAX_TABLE_PRECISION,
            "inv_table": SOFTMAX_TABLE_PRECISION,
        }
    )
    softmax["TableSize"] = SOFTMAX_TABLE_SIZE
    for layer, reuse in settings.layer_reuse.items():
        layers[layer]["ReuseFactor"] = reuse
    if trace:
        for layer_config in layers.values():
            layer_config["Trace"] = True
    return config


def convert(
    model,
    name: str,
    output_dir: Path,
    settings: HLSSettings | None = None,
    *,
    trace: bool = False,
):
    """The hls4ml model (not yet written) of ``model``, as a VivadoAccelerator project."""
    import hls4ml

    prepare_hls4ml()
    settings = settings or HLS_SETTINGS[name]
    config = hls_config(model, settings, trace=trace)
    with quiet_qkeras_serialization():
        return hls4ml.converters.convert_from_keras_model(
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


def prepare_hls4ml() -> None:
    """The course's two additions to hls4ml 1.3.0, before any project is written (idempotent).

    :func:`fix_hls4ml_axi_types` (without it, ap_fixed AXI words do not compile) and
    :func:`add_dense_csim_shortcut_on_write` (a faster C simulation, same bits).
    """
    fix_hls4ml_axi_types()
    add_dense_csim_shortcut_on_write()


def fix_hls4ml_axi_types() -> None:
    """Make hls4ml's VivadoAccelerator writer emit C++ types for ap_fixed AXI words.

    Its configuration returns the word types as generic precision objects whose text form
    (``fixed<16,6,RND_CONV,SAT,0>``) is not C++; converted with hls4ml's own ``APTypeConverter``
    they print as ``ap_fixed<16,6,AP_RND_CONV,AP_SAT,0>``. Idempotent.
    """
    from hls4ml.backends.fpga.fpga_types import APTypeConverter
    from hls4ml.backends.vivado_accelerator.vivado_accelerator_config import (
        VivadoAcceleratorConfig,
    )

    if getattr(VivadoAcceleratorConfig, "_pynq_ia_cpp_types", False):
        return
    original = VivadoAcceleratorConfig.get_corrected_types

    def as_cpp(precision):
        if isinstance(precision, str):  # "float" or "double"
            return precision
        return APTypeConverter().convert(precision).definition_cpp()

    def get_corrected_types(self):
        input_type, output_type, inputs, outputs = original(self)
        return as_cpp(input_type), as_cpp(output_type), inputs, outputs

    VivadoAcceleratorConfig.get_corrected_types = get_corrected_types
    VivadoAcceleratorConfig._pynq_ia_cpp_types = True


#: the C-simulation-only dense kernel that skips zero weights (see its comments)
DENSE_CSIM_HEADER = Path(__file__).parent / "cpp" / "pynq_ia_dense_csim.h"
_DENSE_INCLUDE_ANCHOR = '#include "nnet_mult.h"\n'
_DENSE_BODY_ANCHOR = "    data_T cache;\n"
_DENSE_HOOK = """\
#ifdef PYNQ_IA_SKIP_ZERO_WEIGHTS
    if (pynq_ia::dense_nonzero_weights<data_T, res_T, CONFIG_T>(data, res, weights, biases)) {
        return;  // C simulation only: the same sums without the products by zero weights
    }
#endif
"""


def add_dense_csim_shortcut(nnet_utils: Path) -> None:
    """Hook the zero-weight-skipping C-simulation kernel into a written ``nnet_dense_latency.h``.

    Idempotent. Raises if hls4ml's file no longer looks as expected rather than guessing.
    """
    target = nnet_utils / "nnet_dense_latency.h"
    text = target.read_text()
    shutil.copyfile(DENSE_CSIM_HEADER, nnet_utils / DENSE_CSIM_HEADER.name)
    if DENSE_CSIM_HEADER.name in text:
        return
    if text.count(_DENSE_INCLUDE_ANCHOR) != 1 or text.count(_DENSE_BODY_ANCHOR) != 1:
        raise RuntimeError(f"{target} is not the dense_latency this course knows how to hook")
    text = text.replace(
        _DENSE_INCLUDE_ANCHOR,
        f'{_DENSE_INCLUDE_ANCHOR}#include "{DENSE_CSIM_HEADER.name}"\n',
    ).replace(_DENSE_BODY_ANCHOR, _DENSE_HOOK + _DENSE_BODY_ANCHOR)
    target.write_text(text)


def add_dense_csim_shortcut_on_write() -> None:
    """Make every hls4ml (Vivado) project write hook :func:`add_dense_csim_shortcut`. Idempotent."""
    from hls4ml.writer.vivado_writer import VivadoWriter

    if getattr(VivadoWriter, "_pynq_ia_dense_csim", False):
        return
    original = VivadoWriter.write_nnet_utils

    def write_nnet_utils(self, model):
        original(self, model)
        add_dense_csim_shortcut(Path(model.config.get_output_dir()) / "firmware" / "nnet_utils")

    VivadoWriter.write_nnet_utils = write_nnet_utils
    VivadoWriter._pynq_ia_dense_csim = True


#: C++ of the word-level runner: the IP's AXI wrapper fed with raw words and TLAST bits
_WORDS_SOURCE = """\
// Generated by pynq_ia.convert: run {name}_axi on raw AXI words, frame after frame.
#include <stdint.h>
#include "firmware/{name}_axi.h"
#include "firmware/nnet_utils/nnet_helpers.h"

namespace nnet {{  // tracing globals that hls4ml's helpers expect from a bridge
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
}}

// where hls4ml's C simulation reads its weights (*.txt) on the first call: set at run time,
// so the library works wherever it is copied with its weights
const char *pynq_ia_weights_dir = "weights";

extern "C" {{
unsigned pynq_ia_n_in() {{ return N_IN; }}
unsigned pynq_ia_n_out() {{ return N_OUT; }}
void pynq_ia_set_weights_dir(const char *folder) {{ pynq_ia_weights_dir = folder; }}

// in/out: the words of `frames` frames; in_last/out_last: their TLAST bits (one byte each)
long pynq_ia_run_words(const {in_word} *in, const uint8_t *in_last, {out_word} *out,
                       uint8_t *out_last, long frames) {{
    input_axi_t in_ap[N_IN];
    output_axi_t out_ap[N_OUT];
    for (long f = 0; f < frames; ++f) {{
        for (unsigned i = 0; i < N_IN; ++i) {{
            {read_word};
            in_ap[i].last = in_last[f * N_IN + i];
        }}
        {name}_axi(in_ap, out_ap);
        for (unsigned i = 0; i < N_OUT; ++i) {{
            {write_word};
            out_last[f * N_OUT + i] = out_ap[i].last;
        }}
    }}
    return frames;
}}
}}
"""

#: C type of a word in memory, and how the runner moves it into and out of the AXI struct
_C_WORD = {1: "int8_t", 2: "int16_t", 4: "int32_t"}
_FIXED_READ = "in_ap[i].data.range() = in[f * N_IN + i]"  # the word's bits, as the DMA sends them
_FIXED_WRITE = "out[f * N_OUT + i] = ({out_word})out_ap[i].data.range().to_uint64()"
_FLOAT_READ = "in_ap[i].data = in[f * N_IN + i]"
_FLOAT_WRITE = "out[f * N_OUT + i] = out_ap[i].data"


def _word_runner_source(name: str, settings: HLSSettings) -> str:
    """The runner's C++ for the project's AXI word types (ap_fixed or float)."""
    if settings.float_io:
        in_word = out_word = "float"
        read, write = _FLOAT_READ, _FLOAT_WRITE
    else:
        in_word = _C_WORD[settings.input_format.dtype.itemsize]
        out_word = _C_WORD[settings.output_format.dtype.itemsize]
        read, write = _FIXED_READ, _FIXED_WRITE.format(out_word=out_word)
    return _WORDS_SOURCE.format(
        name=name, in_word=in_word, out_word=out_word, read_word=read, write_word=write
    )


def build_word_runner(
    project: Path,
    name: str,
    settings: HLSSettings,
    *,
    workers: int | None = None,
    skip_zero_weights: bool = True,
) -> WordRunner:
    """Compile the word-level runner of a written hls4ml project with g++.

    ``workers``: threads for large batches (default: one per core). ``skip_zero_weights=False``
    builds hls4ml's dense code as written, every product computed (the benchmark's baseline).
    """
    source = project / "pynq_ia_words.cpp"
    source.write_text(_word_runner_source(name, settings))
    # hls4ml's C simulation loads its weights from WEIGHTS_DIR, a compile-time string; made a
    # variable here (declared in every translation unit), the runner sets it at load time
    weights_declaration = project / "pynq_ia_weights_dir.h"
    weights_declaration.write_text("extern const char *pynq_ia_weights_dir;\n")
    defines = [] if skip_zero_weights else ["-DPYNQ_IA_DENSE_ALL_PRODUCTS"]
    # a fresh name per build: a process that already loaded a library of the same path would
    # get the old one back from dlopen (hls4ml stamps its own library names for the same reason)
    stamp = hashlib.sha256(
        b"".join(p.read_bytes() for p in sorted((project / "firmware").rglob("*.[ch]*")))
        + source.read_bytes()
        + " ".join(defines).encode()
    ).hexdigest()[:12]
    library = project / "firmware" / f"{name}_pynq_ia_words_{stamp}.so"
    for stale in library.parent.glob(f"{name}_pynq_ia_words_*.so"):
        if not stale.name.startswith(library.stem):
            stale.unlink()  # earlier builds (a process that loaded one keeps its mapping)
    command = [
        "g++",
        "-O3",
        "-fPIC",
        "-std=c++11",
        "-shared",
        # no STB_GNU_UNIQUE symbols: the dynamic linker would merge the static variables of the
        # library's copies (one per worker) into one
        "-fno-gnu-unique",
        *defines,
        f"-I{project / 'firmware' / 'ap_types'}",
        f"-I{project}",
        "-include",
        str(weights_declaration),
        "-DWEIGHTS_DIR=pynq_ia_weights_dir",
        str(project / "firmware" / f"{name}.cpp"),
        str(project / "firmware" / f"{name}_axi.cpp"),
        str(source),
        "-o",
        str(library),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"g++ failed to build the word runner of {name}:\n{result.stderr}")
    return WordRunner(
        library,
        settings.input_format,
        settings.output_format,
        weights=project / "firmware" / "weights",
        workers=workers,
    )


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


def word_runner_variants(project: HLSProject) -> dict[str, WordRunner]:
    """The same C simulation three ways, for comparing speed: hls4ml's dense code as written on
    one core, with zero weights skipped on one core, and that on every core (the default)."""

    def build(skip_zero_weights: bool, workers: int) -> WordRunner:
        return build_word_runner(
            project.directory,
            project.name,
            project.settings,
            workers=workers,
            skip_zero_weights=skip_zero_weights,
        )

    cores = available_cores()
    every_core = project.words
    if every_core is None or every_core.workers != cores:
        every_core = build(True, cores)
    return {
        "hls4ml's dense code as written, 1 core": build(False, 1),
        "zero weights skipped, 1 core": build(True, 1),
        f"zero weights skipped, {cores} cores": every_core,
    }


#: written into a project folder after a successful compile: what was compiled, and checksums
PROJECT_STAMP = "pynq_ia_project.json"


def project_fingerprint(name: str, model, settings: HLSSettings, *, trace: bool = False) -> str:
    """What a compiled project depends on: the model's architecture and weights, the hls4ml
    configuration and version, the settings, and the course's own C++ (this module, the kernel)."""
    import hls4ml

    from pynq_ia import models

    weights = hashlib.sha256()
    for array in model.get_weights():
        weights.update(np.ascontiguousarray(array).tobytes())
    course_code = hashlib.sha256(Path(__file__).read_bytes() + DENSE_CSIM_HEADER.read_bytes())
    parts = {
        "name": name,
        "hls4ml": hls4ml.__version__,
        "settings": asdict(settings),
        "trace": trace,
        "config": hls_config(model, settings, trace=trace),
        "architecture": models.architecture(model),
        "weights": weights.hexdigest(),
        "course_code": course_code.hexdigest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _reusable(directory: Path, fingerprint: str) -> dict[str, Any] | None:
    """The stamp of a compiled project in ``directory`` for ``fingerprint``, if its libraries
    are there and intact (a damaged or half-written one is compiled again)."""
    from pynq_ia.board.overlays import sha256_file

    try:
        stamp = json.loads((directory / PROJECT_STAMP).read_text())
        if stamp["fingerprint"] != fingerprint:
            return None
        for library, digest in stamp["sha256"].items():
            if sha256_file(directory / library) != digest:
                return None
        return stamp
    except (OSError, ValueError, KeyError, TypeError):
        return None


def hls_project(
    name: str,
    model,
    *,
    settings: HLSSettings | None = None,
    directory: Path | None = None,
    trace: bool = False,
) -> HLSProject:
    """Convert ``model`` and compile its C simulation into the artifact cache (or ``directory``).

    A project compiled earlier in the same folder for the same model, weights, configuration
    and hls4ml version is reused: its libraries are loaded, nothing is written or compiled.
    """
    from pynq_ia.board.overlays import sha256_file

    settings = settings or HLS_SETTINGS[name]
    directory = Path(directory or artifacts.stage_dir("hls4ml") / name)
    fingerprint = project_fingerprint(name, model, settings, trace=trace)
    hls_model = convert(model, name, directory, settings, trace=trace)
    stamp = _reusable(directory, fingerprint)
    if stamp is not None:
        # hls4ml has no public call that attaches a library it built earlier
        hls_model._top_function_lib = ctypes.cdll.LoadLibrary(str(directory / stamp["hls4ml"]))
        words = WordRunner(
            directory / stamp["word_runner"],
            settings.input_format,
            settings.output_format,
            weights=directory / "firmware" / "weights",
        )
        return HLSProject(name, hls_model, settings, directory, stamp["seconds"], words, True)
    (directory / PROJECT_STAMP).unlink(missing_ok=True)
    # hls4ml stamps a new library name on every compile and never removes the old ones
    for stale in (directory / "firmware").glob(f"{name}-*.so"):
        stale.unlink()
    start = time.perf_counter()
    with quiet_qkeras_serialization():  # write() writes the model's configuration too
        hls_model.compile()  # write() + g++ build of hls4ml's C simulation
    words = build_word_runner(directory, name, settings)
    seconds = time.perf_counter() - start
    libraries = [
        Path(hls_model._top_function_lib._name).relative_to(directory),
        words.library_path.relative_to(directory),
    ]
    artifacts.write_json(
        directory / PROJECT_STAMP,
        {
            "fingerprint": fingerprint,
            "hls4ml": str(libraries[0]),
            "word_runner": str(libraries[1]),
            "sha256": {str(lib): sha256_file(directory / lib) for lib in libraries},
            "seconds": seconds,
        },
    )
    return HLSProject(name, hls_model, settings, directory, seconds, words)


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
    from dataclasses import asdict

    from pynq_ia import models

    hls_scores = project.predict(dataset.x_test)
    reference = models.predict(reference_model, dataset.x_test)
    return {
        **models.metrics_from_scores(hls_scores, dataset.y_test, dataset.class_names),
        "agreement": compare(reference, hls_scores),
        "compile_seconds": project.compile_seconds,
        "settings": asdict(project.settings),
        "part": PART,
        "board": BOARD,
        "data": dataset.provenance,
    }
