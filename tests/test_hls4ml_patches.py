"""The course's two run-time changes to hls4ml (pynq_ia.hls4ml_patches): each still needed, and
each doing what it says. A test here that fails after an hls4ml upgrade says which change the
new release made unnecessary."""

import re
import subprocess
from pathlib import Path

import pytest

from pynq_ia import designs, hls4ml_patches
from pynq_ia.compress import Quantization


@pytest.mark.slow
def test_hls4ml_still_writes_ap_fixed_axi_words_in_its_own_notation(tmp_path, monkeypatch):
    """Without fix_axi_word_types, hls4ml's wrapper header declares its AXI words with a type
    that is not C++ (``fixed<16,6,...>``): the project would not compile."""
    from hls4ml.backends.vivado_accelerator.vivado_accelerator_config import (
        VivadoAcceleratorConfig,
    )

    from pynq_ia import convert
    from pynq_ia.compress import quiet_qkeras_serialization

    hls4ml_patches.apply()
    monkeypatch.setattr(VivadoAcceleratorConfig, "get_corrected_types",
                        VivadoAcceleratorConfig._pynq_ia_original_corrected_types)
    hls_model = convert.convert(designs.jet_dnn(Quantization(bits=6)), "jet_dnn", tmp_path)
    with quiet_qkeras_serialization():  # writing a project writes the model's configuration
        hls_model.write()
    header = (tmp_path / "firmware" / "jet_dnn_axi.h").read_text()
    assert re.search(r"typedef fixed<16,\s*6[^>]*> T_in;", header), header
    assert "ap_fixed<16,6" not in header


def test_hls4ml_dense_latency_still_computes_every_product():
    """The C-simulation shortcut pays while hls4ml's dense_latency multiplies by every weight,
    zero or not (one product per index, no test of the weight), at the places it hooks."""
    import hls4ml

    template = (Path(hls4ml.__file__).parent / "templates" / "vivado" / "nnet_utils"
                / "nnet_dense_latency.h").read_text()
    assert template.count(hls4ml_patches.DENSE_INCLUDE_ANCHOR) == 1
    assert template.count(hls4ml_patches.DENSE_BODY_ANCHOR) == 1
    products = re.findall(r"mult\[index\] = [^;]*product\(cache, weights\[index\]\);", template)
    assert len(products) == 1 and "weights[index] == 0" not in template


def test_dense_csim_kernel_is_compiled_out_for_synthesis():
    """The zero-skipping kernel exists in C simulation only: with __SYNTHESIS__ it is gone."""

    def preprocessed(*defines: str) -> str:
        command = ["g++", "-E", "-x", "c++", *defines, str(hls4ml_patches.DENSE_CSIM_HEADER)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    assert "dense_nonzero_weights" in preprocessed()
    assert "dense_nonzero_weights" not in preprocessed("-D__SYNTHESIS__")
    assert "dense_nonzero_weights" not in preprocessed("-DPYNQ_IA_DENSE_ALL_PRODUCTS")


def test_dense_csim_hook_refuses_an_unknown_dense_latency(tmp_path):
    (tmp_path / "nnet_dense_latency.h").write_text("// not hls4ml's file\n")
    with pytest.raises(RuntimeError, match="knows how to hook"):
        hls4ml_patches.add_dense_csim_shortcut(tmp_path)


@pytest.mark.slow
def test_dense_csim_hook_is_in_every_written_project(compiled_jet_dnn, tmp_path):
    import shutil

    project, _ = compiled_jet_dnn
    nnet_utils = tmp_path / "nnet_utils"  # a copy: the cached project stays as recorded
    shutil.copytree(project.directory / "firmware" / "nnet_utils", nnet_utils)
    text = (nnet_utils / "nnet_dense_latency.h").read_text()
    assert text.count("pynq_ia::dense_nonzero_weights") == 1
    assert (nnet_utils / hls4ml_patches.DENSE_CSIM_HEADER.name).exists()
    hls4ml_patches.add_dense_csim_shortcut(nnet_utils)  # idempotent
    assert (nnet_utils / "nnet_dense_latency.h").read_text() == text
