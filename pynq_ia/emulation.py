"""The course's designs on the emulated board: emulation bundles written from the host side.

The emulated board itself is board-side code (:mod:`pynq_ia.board.emulation`): PYNQ's real DMA
driver, emulated DMA registers, and the IP's C simulation behind them. What it runs comes in an
*emulation bundle*, a design folder (see :mod:`pynq_ia.board.overlays`) with

- ``<design>_csim.so``: the IP's AXI wrapper compiled from the design's hls4ml project (the
  word runner of :func:`pynq_ia.convert.build_word_runner`), and ``weights/``, which hls4ml's
  C simulation reads when it starts;
- ``test_data.npz``: test frames and labels, and the scores hls4ml's own ``predict`` gives for
  them, which the DMA path must reproduce bit for bit;
- ``manifest.json``: frame sizes, word types, the DMA's parameters as its ``.hwh`` would give
  them (from :mod:`pynq_ia.blockdesign`), and the sha256 of both files.

:func:`emulation_bundle` writes one (training and compiling through the artifact cache when
needed); chapter 8 opens every bundle of :func:`emulated_designs_folder` with the same code that
opens a board package's overlays. The board package's emulation variant ships these bundles, so
the chapter runs, unchanged, in an environment with nothing but numpy and pynq.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pynq_ia import artifacts
from pynq_ia.board.emulation import EmulatedBoard, EmulatedIP, EmulatedOverlay, open_emulated
from pynq_ia.board.overlays import MANIFEST, TEST_DATA, DesignSession, sha256_file

#: bump when the bundle's layout changes, so cached bundles are written again
BUNDLE_VERSION = 1
#: the folder of the IP's weights in a bundle (hls4ml's C simulation reads them at run time)
WEIGHTS = "weights"


def emulated_driver(design, runner, **driver_options):
    """The course driver on an emulated board that plays ``design`` with the IP ``runner``.

    ``design`` is a :class:`pynq_ia.blockdesign.BlockDesign`, ``runner`` a
    :class:`pynq_ia.board.csim.WordRunner`; the driver's ``overlay`` attribute is the emulated
    overlay (``overlay.device.ip`` is the emulated IP).
    """
    from pynq_ia.board.driver import NeuralNetworkOverlay

    board = EmulatedBoard(EmulatedIP(runner), name=f"emulated {design.board} ({design.design})")
    board.attach_dma(design.dma.base_address, design.dma.address_range)
    overlay = EmulatedOverlay(board, design.dma.hwh_parameters(), design.dma.name)
    driver = NeuralNetworkOverlay.from_overlay(overlay, design.io(), **driver_options)
    return driver


def write_bundle(
    folder: Path,
    design,
    project,
    x: np.ndarray,
    y: np.ndarray,
    class_names: tuple[str, ...],
    provenance: dict[str, Any],
) -> Path:
    """Write an emulation bundle of ``design`` (its compiled hls4ml ``project``) into ``folder``.

    The reference scores are hls4ml's own ``predict`` on ``x``, computed here.
    """
    if project.words is None:
        raise ValueError(f"{design.design}: the hls4ml project has no compiled word runner")
    x = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)

    def write(tmp: Path) -> None:
        library = f"{design.design}_csim.so"
        shutil.copyfile(project.words.library_path, tmp / library)
        shutil.copytree(project.words.weights, tmp / WEIGHTS, ignore=shutil.ignore_patterns("*.h"))
        np.savez_compressed(
            tmp / TEST_DATA,
            x=x,
            y=np.asarray(y),
            class_names=np.array(class_names),
            hls4ml_scores=project.hls4ml_predict(x),
        )
        dma = design.dma
        manifest = {
            "design": design.design,
            "kind": "emulation",
            "bundle_version": BUNDLE_VERSION,
            "io": design.io(),
            "dma": {
                "base_address": hex(dma.base_address),
                "address_range": hex(dma.address_range),
                "parameters": dma.hwh_parameters(),
            },
            "ip_library": library,
            "weights": WEIGHTS,
            "platform": f"{sys.platform} {_machine()} (the C-simulation library)",
            "source": provenance,
            "sha256": {
                path.relative_to(tmp).as_posix(): sha256_file(path)
                for path in sorted([tmp / library, tmp / TEST_DATA, *(tmp / WEIGHTS).glob("*")])
            },
        }
        artifacts.write_json(tmp / MANIFEST, manifest)

    return artifacts.atomic_write(Path(folder), write)


def _machine() -> str:
    import platform

    return platform.machine()


def bundle_folder() -> Path:
    """Where the course's emulation bundles live (per profile, in the artifact cache)."""
    return artifacts.stage_dir("emulation")


def emulation_bundle(name: str) -> Path:
    """The emulation bundle of course model ``name``, written if it is missing or outdated.

    Loads (or trains) the QKeras model and compiles its hls4ml project through the artifact
    cache, exactly as chapter 4 does; the test frames are the dataset's test set.
    """
    from pynq_ia import convert, models
    from pynq_ia.blockdesign import describe_model
    from pynq_ia.board.overlays import OverlayError, read_manifest, verify_files

    spec = models.spec(name)
    dataset = models.load_dataset(spec.task)
    model = models.trained_model(name, "qkeras", dataset)
    project = convert.hls_project(name, model)
    provenance = {
        "model_fingerprint": artifacts.load_metrics(name).get("qkeras", {}).get("fingerprint"),
        "ip_library": project.words.library_path.name,
        "data": dataset.provenance.get("label", dataset.provenance["dataset"]),
        "data_sha256": models.data_fingerprint(dataset),
        "profile": dataset.provenance["profile"],
        "test_frames": len(dataset.y_test),
    }
    folder = bundle_folder() / name
    try:
        manifest = read_manifest(folder / MANIFEST, kind="emulation")
        current = manifest.get("bundle_version") == BUNDLE_VERSION
        if current and manifest.get("source") == provenance:
            verify_files(folder, manifest)
            return folder
    except OverlayError as damage:
        if (folder / MANIFEST).exists():
            print(f"{damage}: writing the bundle again")
    return write_bundle(
        folder,
        describe_model(name, model),
        project,
        dataset.x_test,
        dataset.y_test,
        dataset.class_names,
        provenance,
    )


def emulated_designs_folder(names: tuple[str, ...] | None = None) -> Path:
    """The folder holding an up-to-date emulation bundle of each course model."""
    from pynq_ia import models

    for name in names or tuple(models.SPECS):
        emulation_bundle(name)
    return bundle_folder()


def open_emulated_design(name: str, **driver_options) -> DesignSession:
    """Course model ``name`` on the emulated board, with its test frames and reference scores."""
    return open_emulated(emulation_bundle(name), **driver_options)
