"""The course's two changes to hls4ml 1.3.0, applied at run time (no file of hls4ml is edited).

Each says what it works around and since which version; ``tests/test_hls4ml_patches.py`` checks,
for each, that the hls4ml installed here still needs it, and fails when an hls4ml release makes
it unnecessary (then delete it).

1. :func:`fix_axi_word_types` - **a bug**: hls4ml 1.3.0's VivadoAccelerator writer prints the
   AXI wrapper's word types in hls4ml's internal notation (``fixed<16,6,RND_CONV,SAT,0>``)
   whenever they are not floats, so a project with ``ap_fixed`` stream words does not compile.
   ``VivadoAcceleratorConfig.get_corrected_types`` hands the writer generic precision objects;
   converted with hls4ml's own ``APTypeConverter`` they print as C++
   (``ap_fixed<16,6,AP_RND_CONV,AP_SAT,0>``). Seen in 1.3.0 (``hls4ml/backends/
   vivado_accelerator/vivado_accelerator_config.py`` and the writer's ``typedef`` lines).
2. :func:`add_dense_csim_shortcut` - **a C-simulation speed-up**, not a fix: hls4ml's
   ``dense_latency`` (``nnet_dense_latency.h``) multiplies by every weight, zero or not. In
   hardware the zero ones cost nothing in a fully unrolled Latency design (synthesis removes
   constant-zero multipliers); in C simulation each is an emulated ap_fixed multiply. The hook
   puts a C-simulation-only path into every written project (``pynq_ia/cpp/
   pynq_ia_dense_csim.h``) that multiplies only the nonzero weights, in hls4ml's order and
   types: the same bits, several times faster for pruned models, and invisible to synthesis
   (``__SYNTHESIS__``). Needed as long as ``dense_latency`` computes every product.

:func:`apply` makes both changes, once per process, before any project is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def apply() -> None:
    """Both changes, before any project is written (idempotent)."""
    fix_axi_word_types()
    add_dense_csim_shortcut_on_write()


def fix_axi_word_types() -> None:
    """Make hls4ml's VivadoAccelerator writer emit C++ types for ap_fixed AXI words (1.)."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter
    from hls4ml.backends.vivado_accelerator.vivado_accelerator_config import (
        VivadoAcceleratorConfig,
    )

    if hasattr(VivadoAcceleratorConfig, "_pynq_ia_original_corrected_types"):
        return
    original = VivadoAcceleratorConfig.get_corrected_types

    def as_cpp(precision):
        if isinstance(precision, str):  # "float" or "double"
            return precision
        return APTypeConverter().convert(precision).definition_cpp()

    def get_corrected_types(self):
        input_type, output_type, inputs, outputs = original(self)
        return as_cpp(input_type), as_cpp(output_type), inputs, outputs

    VivadoAcceleratorConfig._pynq_ia_original_corrected_types = original
    VivadoAcceleratorConfig.get_corrected_types = get_corrected_types


#: the C-simulation-only dense kernel that skips zero weights (see its comments)
DENSE_CSIM_HEADER = Path(__file__).parent / "cpp" / "pynq_ia_dense_csim.h"
#: where the hook goes in hls4ml's nnet_dense_latency.h (refused if it is not there once)
DENSE_INCLUDE_ANCHOR = '#include "nnet_mult.h"\n'
DENSE_BODY_ANCHOR = "    data_T cache;\n"
_DENSE_HOOK = """\
#ifdef PYNQ_IA_SKIP_ZERO_WEIGHTS
    if (pynq_ia::dense_nonzero_weights<data_T, res_T, CONFIG_T>(data, res, weights, biases)) {
        return;  // C simulation only: the same sums without the products by zero weights
    }
#endif
"""


def add_dense_csim_shortcut(nnet_utils: Path) -> None:
    """Hook the zero-weight-skipping C-simulation kernel into a written ``nnet_dense_latency.h``
    (2.). Idempotent. Raises if hls4ml's file no longer looks as expected rather than guessing.
    """
    target = nnet_utils / "nnet_dense_latency.h"
    text = target.read_text()
    shutil.copyfile(DENSE_CSIM_HEADER, nnet_utils / DENSE_CSIM_HEADER.name)
    if DENSE_CSIM_HEADER.name in text:
        return
    if text.count(DENSE_INCLUDE_ANCHOR) != 1 or text.count(DENSE_BODY_ANCHOR) != 1:
        raise RuntimeError(f"{target} is not the dense_latency this course knows how to hook")
    text = text.replace(
        DENSE_INCLUDE_ANCHOR,
        f'{DENSE_INCLUDE_ANCHOR}#include "{DENSE_CSIM_HEADER.name}"\n',
    ).replace(DENSE_BODY_ANCHOR, _DENSE_HOOK + DENSE_BODY_ANCHOR)
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


def source_files() -> list[Path]:
    """This module and the C++ it puts into projects: what a compiled project depends on."""
    return [Path(__file__), DENSE_CSIM_HEADER]
