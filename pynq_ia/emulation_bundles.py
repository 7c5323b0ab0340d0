"""Emulation bundles: the course's designs written as folders the emulated board can run.

The emulated board itself is board-side code (:mod:`pynq_ia.board.emulation`): PYNQ's real DMA
driver, emulated DMA registers, and the IP's C simulation behind them. What it runs comes in an
*emulation bundle*, a design folder (see :mod:`pynq_ia.board.overlays`) with

- ``<design>_csim.so``: the IP's AXI wrapper compiled from the design's hls4ml project (the
  word runner of :mod:`pynq_ia.word_runner`), and ``weights/``, which hls4ml's C simulation
  reads when it starts;
- ``test_data.npz``: test frames and labels, and the scores hls4ml's own ``predict`` gives for
  them, which the DMA path must reproduce bit for bit;
- ``manifest.json``: frame sizes, word types, the DMA's parameters as its ``.hwh`` would give
  them (from :mod:`pynq_ia.blockdesign`), and the sha256 of every file.

:func:`emulation_bundle` writes one into the artifact cache (training and compiling through it
when needed); chapter 8 opens every bundle of :func:`emulated_designs_folder` with the same code
that opens a board package's overlays. The board package's emulation variant ships these
bundles, so the chapter runs, unchanged, in an environment with nothing but numpy and pynq.
"""

from __future__ import annotations

import platform
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts
from pynq_ia.board import performance
from pynq_ia.board.csim import WordRunner
from pynq_ia.board.emulation import EmulatedBoard, EmulatedIP, EmulatedOverlay
from pynq_ia.board.overlays import MANIFEST, TEST_DATA, sha256_file
from pynq_ia.board.sessions import DesignSession, open_emulated

#: bump when the bundle's layout changes, so cached bundles are written again
BUNDLE_VERSION = 4
#: the folder of the IP's weights in a bundle (hls4ml's C simulation reads them at run time)
WEIGHTS = "weights"


def emulated_driver(block_design, ip, *, io=None, **driver_options):
    """The course driver on an emulated board that plays ``block_design`` with the IP ``ip``.

    ``block_design`` is a :class:`pynq_ia.blockdesign.BlockDesign`; ``ip`` a
    :class:`pynq_ia.board.csim.WordRunner` (the C simulation) or an emulated IP
    (:class:`pynq_ia.board.rtl_ip.CycleAccurateIP`: the RTL); ``io`` replaces the block
    design's frame sizes and words (another IP's). The driver's ``overlay`` attribute is the
    emulated overlay (``overlay.device.ip`` is the emulated IP).
    """
    from pynq_ia.board.driver import NeuralNetworkOverlay

    name = f"emulated {block_design.board} ({block_design.design})"
    wired = block_design.ip_reset_by_dma
    ip = ip if isinstance(ip, EmulatedIP) else EmulatedIP(ip)
    board = EmulatedBoard(ip, name=name, ip_reset_by_dma=wired)
    board.attach_dma(block_design.dma.base_address, block_design.dma.address_range)
    overlay = EmulatedOverlay(board, block_design.dma.hwh_parameters(), block_design.dma.name)
    return NeuralNetworkOverlay.from_overlay(overlay, io or block_design.io(),
                                             **{"ip_reset_by_dma": wired, **driver_options})


def write_bundle(
    folder: Path,
    block_design,
    project,
    x: np.ndarray,
    y: np.ndarray,
    class_names: tuple[str, ...],
    provenance: dict[str, Any],
    *,
    ip: dict[str, Any] | None = None,
    post_route: dict[str, Any] | None = None,
) -> Path:
    """Write an emulation bundle of ``block_design`` (its compiled hls4ml ``project``) into the
    empty folder ``folder``. The reference scores are hls4ml's own ``predict`` on ``x``.

    ``ip``: the IP's cycles per frame and latency (:func:`pynq_ia.estimate.ip_timing`); with
    them the manifest also says how many frames the driver sends per transfer: the knee of the
    board model (:func:`pynq_ia.board.performance.knee`). ``post_route``: Vivado's timing and
    utilization of the design's overlay, when one is built (its f_max bounds FCLK0 on the
    emulated board)."""
    if project.words is None:
        raise ValueError(f"{block_design.design}: the hls4ml project has no compiled word runner")
    folder = Path(folder)
    x = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    library = f"{block_design.design}_csim.so"
    shutil.copyfile(project.words.library_path, folder / library)
    shutil.copytree(project.words.weights, folder / WEIGHTS, ignore=shutil.ignore_patterns("*.h"))
    np.savez_compressed(
        folder / TEST_DATA,
        x=x,
        y=np.asarray(y),
        class_names=np.array(class_names),
        hls4ml_scores=project.hls4ml_predict(x),
    )
    files = sorted([folder / library, folder / TEST_DATA, *(folder / WEIGHTS).glob("*")])
    manifest = _manifest(folder, block_design, files, provenance, ip=ip, post_route=post_route,
                         ip_library=library, weights=WEIGHTS,
                         platform=f"{sys.platform} {platform.machine()} (the C-simulation library)")
    artifacts.write_json(folder / MANIFEST, manifest)
    return folder


def write_stream_bundle(folder: Path, block_design, stream_folder: Path, x: np.ndarray,
                        y: np.ndarray, class_names: tuple[str, ...], scores: np.ndarray,
                        provenance: dict[str, Any]) -> Path:
    """Write an emulation bundle of an RTL overlay (``block_design``, from
    :func:`pynq_ia.blockdesign.describe_rtl`) into the empty folder ``folder``: the Verilated
    stream IP of ``stream_folder`` (:func:`pynq_ia.rtl.stream_ip`), which the emulated board
    clocks cycle by cycle (:class:`pynq_ia.board.rtl_ip.CycleAccurateIP`). ``x`` are the test
    frames' input values, ``scores`` the C simulation's logits for them (the IP returns
    logits); the IP's timing comes from the RTL simulation."""
    from pynq_ia.board.rtl_stream import DESCRIPTION, VerilatedStream

    folder = Path(folder)
    stream = VerilatedStream(stream_folder)
    library = stream.description["library"]
    for name in (library, DESCRIPTION):
        shutil.copyfile(Path(stream_folder) / name, folder / name)
    np.savez_compressed(folder / TEST_DATA, x=np.asarray(x, np.float32).reshape(len(x), -1),
                        y=np.asarray(y), class_names=np.array(class_names),
                        hls4ml_scores=np.asarray(scores))
    files = sorted([folder / library, folder / DESCRIPTION, folder / TEST_DATA])
    manifest = _manifest(folder, block_design, files, provenance, ip=stream.timing(),
                         stream_ip=DESCRIPTION,
                         platform=f"{sys.platform} {platform.machine()} (the Verilated RTL)")
    manifest["io"]["values"] = stream.description["values"]
    artifacts.write_json(folder / MANIFEST, manifest)
    return folder


def _manifest(folder: Path, block_design, files: list[Path], provenance: dict[str, Any], *,
              ip: dict[str, Any] | None, post_route: dict[str, Any] | None = None,
              **ip_fields: str) -> dict[str, Any]:
    """An emulation bundle's manifest: the design's words, DMA and clock, the IP's files and
    the platform they were built for (``ip_fields``), provenance and checksums; with ``ip``,
    the driver's frames per transfer."""
    dma = block_design.dma
    manifest = {
        "design": block_design.design,
        "kind": "emulation",
        "bundle_version": BUNDLE_VERSION,
        "io": block_design.io(),
        "dma": {
            "base_address": hex(dma.base_address),
            "address_range": hex(dma.address_range),
            "parameters": dma.hwh_parameters(),
            # the DMA's soft reset reaches the IP (its stream-side reset outputs drive ap_rst_n)
            "resets_ip": block_design.ip_reset_by_dma,
        },
        "fclk0_mhz": block_design.fclk0_mhz,
        **ip_fields,
        "source": provenance,
        "sha256": {path.relative_to(folder).as_posix(): sha256_file(path) for path in files},
    }
    if post_route:
        manifest["post_route"] = post_route
    if ip:
        manifest["ip"] = ip
        manifest["driver"] = {"buffer_frames": performance.chunk_frames(manifest,
                                                                        dma.max_transfer_bytes)}
    return manifest


def bundle_folder(profile: str | None = None) -> Path:
    """Where the course's emulation bundles live (per profile, in the artifact cache)."""
    return artifacts.stage_dir("emulation", profile=profile)


def emulation_bundle(name: str, *, profile=None) -> Path:
    """The emulation bundle of design ``name``, written if it is missing or outdated.

    Loads (or trains) the QKeras model and compiles its hls4ml project through the artifact
    cache, exactly as chapter 4 does; the test frames are the dataset's test set.
    """
    from pynq_ia import convert, data, designs, estimate, hwbuild, training
    from pynq_ia.blockdesign import describe
    from pynq_ia.profile import active_profile

    profile = profile or active_profile()
    design = designs.design(name)
    dataset = data.load_dataset(design.task, profile)
    model = training.trained_model(name, "qkeras", dataset, profile=profile)
    project = convert.hls_project(name, model, profile=profile.name)
    ip = estimate.ip_timing(estimate.recorded_resources(project, model, profile=profile.name),
                            design)
    provenance = {
        "model_fingerprint": artifacts.load_metrics(name, profile=profile.name)["qkeras"][
            "fingerprint"],
        "ip_library": project.words.library_path.name,
        "data": dataset.provenance.get("label", dataset.provenance["dataset"]),
        "data_sha256": training.data_fingerprint(dataset),
        "profile": profile.name,
        "test_frames": len(dataset.y_test),
    }
    post_route = hwbuild.post_route(name)  # None until Vivado has built the design's overlay
    # the board model chooses the transfer size: a change of the model writes the bundle again
    inputs = {"bundle_version": BUNDLE_VERSION, "source": provenance, "ip": ip,
              "post_route": post_route,
              "board_model": artifacts.sha256_file(performance.__file__),
              "project": artifacts.read_json(project.directory / artifacts.RECORD)["key"]}

    def write(folder: Path) -> None:
        write_bundle(folder, describe(design), project, dataset.x_test, dataset.y_test,
                     dataset.class_names, provenance, ip=ip, post_route=post_route)

    return artifacts.cached(bundle_folder(profile.name), name, inputs, write)


def emulated_designs_folder(names: tuple[str, ...] | None = None) -> Path:
    """The folder holding an up-to-date emulation bundle of each design (default: all)."""
    from pynq_ia import designs

    for name in names or designs.names():
        emulation_bundle(name)
    return bundle_folder()


def open_emulated_design(name: str, **driver_options) -> DesignSession:
    """Design ``name`` on the emulated board, with its test frames and reference scores."""
    return open_emulated(emulation_bundle(name), **driver_options)


@dataclass
class FloatWordIP:
    """A course design compiled with hls4ml's 32-bit float AXI words: the IP an emulated board
    plays behind an overlay built with them (the original project's)."""

    design: str
    runner: WordRunner
    #: hls4ml's PYNQ driver, which its VivadoAccelerator writer put into the project
    driver_file: Path
    x: np.ndarray
    y: np.ndarray
    #: hls4ml's own ``predict`` (the C simulation) on ``x``
    reference_scores: np.ndarray


def float_word_ip(name: str, *, profile=None) -> FloatWordIP:
    """Design ``name`` (trained as chapter 3 trains it) converted with float AXI words and
    compiled, once (the hls4ml project is cached beside the design's own)."""
    from pynq_ia import convert, data, designs, training
    from pynq_ia.profile import active_profile

    profile = profile or active_profile()
    design = designs.design(name)
    dataset = data.load_dataset(design.task, profile)
    model = training.trained_model(name, "qkeras", dataset, profile=profile)
    folder = artifacts.stage_dir("hls4ml", profile=profile.name) / f"{name}_float_words"
    project = convert.hls_project(name, model, settings=replace(design.hls, float_io=True),
                                  directory=folder)
    x = np.ascontiguousarray(dataset.x_test.reshape(len(dataset.x_test), -1), dtype=np.float32)
    return FloatWordIP(name, project.words, project.directory / "axi_stream_driver.py", x,
                       np.asarray(dataset.y_test), project.hls4ml_predict(x))
