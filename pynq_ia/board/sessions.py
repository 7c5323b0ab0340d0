"""A design ready to run: its driver, its test frames and the scores it must give back.

:func:`open_design` opens a design folder (see :mod:`pynq_ia.board.overlays`) wherever the code
runs: a Vivado overlay is loaded onto the board with ``pynq.Overlay``, an emulation bundle onto
the emulated board (:func:`open_emulated`). Either way the result is a :class:`DesignSession`:
the course driver (:class:`pynq_ia.board.driver.NeuralNetworkOverlay`) and the design's test
data, whose reference scores are hls4ml's C simulation. numpy, pynq and the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pynq.ps

from pynq_ia.board.csim import WordRunner
from pynq_ia.board.driver import NeuralNetworkOverlay
from pynq_ia.board.emulation import EmulatedBoard, EmulatedIP, EmulatedOverlay
from pynq_ia.board.overlays import (
    MANIFEST,
    TEST_DATA,
    OverlayError,
    f_max_mhz,
    read_manifest,
    running_on_board,
    verify_files,
)
from pynq_ia.board.words import word_format


@dataclass
class DesignSession:
    """A driver ready to run, with the test frames and the expected (C-simulation) scores."""

    name: str
    driver: NeuralNetworkOverlay
    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    reference_scores: np.ndarray
    fidelity: str  # "board" or "emulation"
    #: the design's manifest (frame sizes, words, clock, the IP's cycles, checksums)
    manifest: dict[str, Any]


def load_session_data(folder: Path, manifest: dict[str, Any], driver, *, fidelity: str):
    """A :class:`DesignSession` with the test data of a design folder (shapes checked)."""
    io = manifest["io"]
    path = Path(folder) / TEST_DATA
    with np.load(path) as data:
        x, y, scores = data["x"], data["y"], data["hls4ml_scores"]
        class_names = tuple(str(c) for c in data["class_names"])
    if x.ndim != 2 or x.shape[1] != io["n_in"] or scores.shape != (len(x), io["n_out"]):
        raise OverlayError(
            f"{path}: test frames {x.shape} and scores {scores.shape} do not fit the design's "
            f"{io['n_in']} -> {io['n_out']} values per frame"
        )
    return DesignSession(manifest["design"], driver, x, y, class_names, scores, fidelity,
                         manifest)


def _driver_options(manifest: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The driver's options: the manifest's (its ``driver`` section, and whether the DMA's soft
    reset reaches the IP), unless given here."""
    wiring = {"ip_reset_by_dma": bool(manifest.get("dma", {}).get("resets_ip", False))}
    return {**wiring, **manifest.get("driver", {}), **given}


def _synchronized(session: DesignSession) -> DesignSession:
    """The session with its driver in step with the IP and checked on the design's own test
    frames (a known-answer probe, kept by the driver for the checks after any fault)."""
    driver = session.driver
    if driver.reference is None:
        driver.set_reference(session.x, session.reference_scores)
    driver.synchronize()
    return session


def open_design(folder: str | Path, **driver_options) -> DesignSession:
    """The design in ``folder``: its overlay on the board, its emulation anywhere else.

    ``driver_options`` (``buffer_frames``, ``timeout_s``) override the manifest's."""
    folder = Path(folder)
    manifest = read_manifest(folder / MANIFEST)
    if manifest.get("kind", "overlay") == "emulation":
        return open_emulated(folder, **driver_options)
    if not running_on_board():
        raise OverlayError(
            f"{folder}: a bitstream for the PYNQ-Z2, and this is not a PYNQ board; off the "
            "board, run the emulation package instead (make -C hw_builds package EMULATION=1)"
        )
    driver = NeuralNetworkOverlay.load(folder / f"{manifest['design']}.bit",
                                       **_driver_options(manifest, driver_options))
    return _synchronized(load_session_data(folder, manifest, driver, fidelity="board"))


def open_emulated(folder: str | Path, *, ip_reset_by_dma: bool | None = None,
                  **driver_options) -> DesignSession:
    """The design of an emulation bundle (a folder written by the host side), ready to run.

    The bundle holds ``manifest.json`` (``kind: emulation``: frame sizes, word types, the DMA's
    parameters, checksums), the IP's C-simulation library with its weights (or, for an RTL
    overlay, the Verilated RTL and its ``stream_ip.json``), and ``test_data.npz``. The
    session's fidelity is ``"emulation"``. ``ip_reset_by_dma`` overrides the manifest's wiring
    for the emulated board and the driver together: ``False`` emulates the design as a block
    design without the course's reset wiring would build it (hls4ml's, the original
    project's), where the DMA's soft reset does not reach the IP.
    """
    folder = Path(folder)
    manifest = read_manifest(folder / MANIFEST, kind="emulation")
    verify_files(folder, manifest)
    io = manifest["io"]
    if "stream_ip" in manifest:  # an RTL overlay's: the Verilated RTL, clocked cycle by cycle
        from pynq_ia.board.rtl_ip import CycleAccurateIP

        ip = CycleAccurateIP(folder)
        sizes, words = (ip.stream.n_in, ip.stream.n_out), (ip.input_format, ip.output_format)
    else:
        runner = WordRunner(
            folder / manifest["ip_library"],
            word_format(io["input"]),
            word_format(io["output"]),
            weights=folder / manifest["weights"],
        )
        ip, sizes, words = EmulatedIP(runner), (runner.n_in, runner.n_out), None
    if sizes != (io["n_in"], io["n_out"]) or (
            words and words != (word_format(io["input"]), word_format(io["output"]))):
        raise ValueError(
            f"{folder}: the IP computes {sizes[0]} -> {sizes[1]} values, the manifest says "
            f"{io['n_in']} -> {io['n_out']} (or other words than the IP's)"
        )
    dma = manifest["dma"]
    if ip_reset_by_dma is None:
        ip_reset_by_dma = bool(dma.get("resets_ip", False))
    driver_options["ip_reset_by_dma"] = ip_reset_by_dma
    board = EmulatedBoard(ip, name=f"emulated PYNQ-Z2 ({manifest['design']})",
                          ip_reset_by_dma=ip_reset_by_dma, f_max_mhz=f_max_mhz(manifest))
    # the design's clock, set as a download of its overlay sets it (PYNQ's Clocks, its dividers)
    pynq.ps.Clocks.set_pl_clk(0, clk_mhz=float(manifest.get("fclk0_mhz", 100.0)))
    board.attach_dma(int(dma["base_address"], 0), int(dma["address_range"], 0))
    overlay = EmulatedOverlay(board, dma["parameters"])
    driver = NeuralNetworkOverlay.from_overlay(overlay, manifest["io"],
                                               **_driver_options(manifest, driver_options))
    return _synchronized(load_session_data(folder, manifest, driver, fidelity="emulation"))
