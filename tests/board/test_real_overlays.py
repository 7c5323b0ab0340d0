"""The driver through real Vivado overlays: ``pynq.Overlay(download=False)`` on their ``.hwh``.

The two overlays of ``../shared/hwh`` were built by Vivado 2020.1 for the PYNQ-Z2 and ran on the
board (the original project's MNIST DNN and CNN). PYNQ's own parser reads their ``.hwh``; the
emulated board plays the DMA it finds there (``hier_0/axi_dma_0``, hls4ml's hierarchy) and, behind
it, a C-simulated MNIST DNN with the same words (32-bit floats) and frame sizes (784 in, 10 out).
"""

from __future__ import annotations

import types

import numpy as np
import pynq
import pytest

from pynq_ia.board.driver import NeuralNetworkOverlay, find_dma
from pynq_ia.board.overlays import OverlayError
from pynq_ia.board.sessions import open_emulated

FLOAT_MNIST_IO = {"n_in": 784, "n_out": 10, "input": "float", "output": "float"}


@pytest.fixture
def overlay(real_overlay, real_overlay_board):
    return pynq.Overlay(str(real_overlay), download=False, device=real_overlay_board)


def test_pynq_parses_the_real_overlay(overlay, real_overlay_board):
    assert "hier_0/axi_dma_0" in overlay.ip_dict
    assert overlay.ip_dict["hier_0/axi_dma_0"]["type"] == "xilinx.com:ip:axi_dma:7.1"
    assert not hasattr(overlay, "axi_dma")  # where a driver that guesses the name looks
    assert real_overlay_board.dma_base == 0x4040_0000 == overlay.ip_dict["hier_0/axi_dma_0"][
        "phys_addr"
    ]


def test_the_dma_is_found_by_type_inside_the_hierarchy(overlay):
    dma = find_dma(overlay)
    assert isinstance(dma, pynq.lib.dma.DMA)
    assert dma is overlay.hier_0.axi_dma_0


def test_an_overlay_without_exactly_one_dma_says_what_it_holds(overlay):
    without = types.SimpleNamespace(
        ip_dict={k: v for k, v in overlay.ip_dict.items() if "dma" not in k}
    )
    with pytest.raises(OverlayError, match="holds 0; its IP: processing_system7_0"):
        find_dma(without)
    twice = types.SimpleNamespace(
        ip_dict={**overlay.ip_dict, "hier_1/axi_dma_0": overlay.ip_dict["hier_0/axi_dma_0"]}
    )
    with pytest.raises(OverlayError, match="holds 2"):
        find_dma(twice)


def test_the_driver_runs_through_the_real_overlay(overlay, mnist_float_bundle):
    reference = open_emulated(mnist_float_bundle)
    driver = NeuralNetworkOverlay.from_overlay(overlay, FLOAT_MNIST_IO, buffer_frames=16,
                                               timeout_s=1.0)
    scores, timing = driver.predict(reference.x, timing=True)
    np.testing.assert_array_equal(scores, reference.reference_scores)
    assert scores.dtype == np.float32 and timing.chunks == -(-len(reference.x) // 16)
    # PYNQ's DMA driver took its limits from the .hwh: 26-bit length registers
    assert driver.dma.sendchannel._max_size == 2**26 - 1
