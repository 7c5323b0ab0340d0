"""Board code not written for the emulation runs on it: downloads, PS clocks, hls4ml's driver.

On the two real overlays of ``../shared/hwh`` (the original project's MNIST designs, hls4ml's
``hier_0/axi_dma_0`` hierarchy), with the C-simulated float MNIST DNN behind the emulated DMA:

- hls4ml's own PYNQ-Z2 driver, as hls4ml ships it, which always downloads the bitstream;
- ``pynq.ps.Clocks``, which board notebooks use to set FCLK0 (the original project's set
  200 MHz for its CNN, 166 MHz for its DNN), and which ``pynq.Overlay.download`` uses to set
  the clocks of the ``.hwh``.

The emulation reaches PYNQ's clocks through two private names of ``pynq.ps``; the first test
pins them. These tests run with PYNQ 3.0.1 (course venv) and 3.1.2 (board venv).
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pynq
import pytest
from pynq import ps

from pynq_ia.board import zynq_clocks
from pynq_ia.board.overlays import OverlayError, parse_hwh
from pynq_ia.board.sessions import open_emulated


def test_the_private_clock_hooks_of_pynq_are_there(real_overlay_board):
    assert isinstance(ps.Clocks._real_instance, ps._ClocksZynq)  # attached at activation
    assert ps.Clocks._real_instance._slcr_mmio.device is real_overlay_board
    assert ps._ClocksZynq.SLCR_BASE_ADDRESS == zynq_clocks.SLCR_BASE
    offsets = {name: spec["address_offset"] for name, spec in ps.ZYNQ_SLCR_REGISTERS.items()}
    assert [offsets[f"FPGA{i}_CLK_CTRL"] for i in range(4)] == list(zynq_clocks.FPGA_CLK_CTRL)
    assert (offsets["ARM_PLL_CTRL"], offsets["DDR_PLL_CTRL"], offsets["IO_PLL_CTRL"],
            offsets["ARM_CLK_CTRL"]) == (zynq_clocks.ARM_PLL_CTRL, zynq_clocks.DDR_PLL_CTRL,
                                         zynq_clocks.IO_PLL_CTRL, zynq_clocks.ARM_CLK_CTRL)


def test_the_emulated_ps_boots_as_the_real_overlays_ps7_is_configured(real_overlay):
    parameters = parse_hwh(real_overlay.with_suffix(".hwh")).ip_dict["processing_system7_0"][
        "parameters"]
    slcr = zynq_clocks.SystemLevelControl()
    assert float(parameters["PCW_CRYSTAL_PERIPHERAL_FREQMHZ"]) == zynq_clocks.CRYSTAL_MHZ
    for register, name in ((zynq_clocks.ARM_PLL_CTRL, "ARMPLL"),
                           (zynq_clocks.DDR_PLL_CTRL, "DDRPLL"),
                           (zynq_clocks.IO_PLL_CTRL, "IOPLL")):
        feedback = (slcr.read(zynq_clocks.SLCR_BASE + register) >> 12) & 0x7F
        assert feedback == int(parameters[f"PCW_{name}_CTRL_FBDIV"])
    assert slcr.cpu_mhz() == float(parameters["PCW_APU_PERIPHERAL_FREQMHZ"])
    assert slcr.fclk_mhz(0) == float(parameters["PCW_FPGA0_PERIPHERAL_FREQMHZ"])


def test_hls4ml_shipped_driver_classifies_on_the_emulated_board(
    real_overlay, real_overlay_board, mnist_float_bundle, hls4ml_driver_module
):
    with np.load(mnist_float_bundle / "test_data.npz") as data:
        x, reference = data["x"].astype(np.float32), data["hls4ml_scores"]
    # hls4ml's driver downloads the bitstream and finds the DMA at hier_0/axi_dma_0
    accelerator = hls4ml_driver_module.NeuralNetworkOverlay(
        str(real_overlay), x_shape=x.shape, y_shape=reference.shape
    )
    assert real_overlay_board.downloads == 1 and accelerator.is_loaded()
    scores = accelerator.predict(x)
    np.testing.assert_array_equal(scores, reference)  # bit for bit: the hls4ml C simulation
    assert (scores.argmax(1) == reference.argmax(1)).all()
    assert real_overlay_board.ip.frames_computed == len(x)


def test_board_code_sets_fclk0_and_the_emulated_board_runs_at_it(real_overlay,
                                                                 real_overlay_board):
    overlay = pynq.Overlay(str(real_overlay))  # download=True: the .hwh's clocks
    assert ps.Clocks.fclk0_mhz == real_overlay_board.fclk0_mhz == 100.0
    assert ps.Clocks.cpu_mhz == 650.0
    ps.Clocks.fclk0_mhz = 200  # as the original project's notebook did for its CNN
    assert ps.Clocks.fclk0_mhz == real_overlay_board.fclk0_mhz == 200.0
    ps.Clocks.fclk0_mhz = 500 / 3
    assert real_overlay_board.fclk0_mhz == pytest.approx(500 / 3)
    overlay.download()  # a new download sets the .hwh's clocks again
    assert real_overlay_board.fclk0_mhz == 100.0 and real_overlay_board.downloads == 2


def test_a_transfer_at_fclk0_above_the_designs_f_max_warns(real_overlay, real_overlay_board):
    real_overlay_board.f_max_mhz = 150.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # dividers (10, 1); the download's (5, 2) pass through 200 MHz between its two writes,
        # which is no setting of the clock: nothing warns
        ps.Clocks.fclk0_mhz = 100
        overlay = pynq.Overlay(str(real_overlay))
        dma = overlay.hier_0.axi_dma_0
        frame = pynq.allocate(784, np.float32)
        dma.sendchannel.transfer(frame)
        dma.sendchannel.wait()
    ps.Clocks.fclk0_mhz = 200
    with pytest.warns(UserWarning, match="FCLK0 is 200 MHz, above the design's f_max of 150"):
        dma.sendchannel.transfer(frame)
    dma.sendchannel.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dma.sendchannel.transfer(frame)  # once per clock setting, not per transfer
        dma.sendchannel.wait()
        ps.Clocks.fclk0_mhz = 125  # within f_max: silent
        dma.sendchannel.transfer(frame)


def test_a_download_starts_the_pl_from_reset(real_overlay, real_overlay_board):
    overlay = pynq.Overlay(str(real_overlay))
    words = np.zeros(100, real_overlay_board.ip.input_dtype)
    real_overlay_board.ip.accept(words, np.zeros(100, np.uint8))  # a partial frame waits
    dma = overlay.hier_0.axi_dma_0
    dma.sendchannel.start()
    assert real_overlay_board.ip.input_words == 100 and dma.sendchannel.running
    overlay.download()
    assert real_overlay_board.ip.input_words == 0 and not dma.sendchannel.running


def test_a_damaged_or_foreign_bitstream_is_refused(tmp_path, real_overlay, real_overlay_board):
    shutil.copyfile(real_overlay.with_suffix(".hwh"), tmp_path / "design.hwh")
    whole = real_overlay.read_bytes()
    (tmp_path / "design.bit").write_bytes(whole[:100_000])
    with pytest.raises(OverlayError, match="design.bit: not a valid bitstream"):
        pynq.Overlay(str(tmp_path / "design.bit"))
    (tmp_path / "design.bit").write_bytes(whole.replace(b"7z020clg400", b"7z010clg400", 1))
    with pytest.raises(OverlayError, match="built for part '7z010clg400'; the PYNQ-Z2 has "
                                           "xc7z020clg400-1"):
        pynq.Overlay(str(tmp_path / "design.bit"))
    assert real_overlay_board.downloads == 0


def test_an_emulation_bundle_runs_at_its_clock_and_knows_its_f_max(tmp_path, jet_bundle):
    bundle = tmp_path / "jet_dnn"
    shutil.copytree(jet_bundle, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["fclk0_mhz"] = 125.0
    manifest["post_route"] = {"timing": {"met": True, "fmax_mhz": 142.857}}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    session = open_emulated(bundle)
    board = session.driver.overlay.device
    assert board.fclk0_mhz == ps.Clocks.fclk0_mhz == 125.0  # IO PLL 1000 MHz / 8
    assert board.f_max_mhz == 142.857
    ps.Clocks.fclk0_mhz = 200
    with pytest.warns(UserWarning, match="FCLK0 is 200 MHz, above the design's f_max of 142.857"):
        session.driver.predict(session.x[:4])
    del manifest["post_route"]  # an emulation of a design no Vivado has built: f_max unknown
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    assert open_emulated(bundle).driver.overlay.device.f_max_mhz is None
