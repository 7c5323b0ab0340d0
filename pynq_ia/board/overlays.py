"""The designs a board (or its emulation) can run: folders with a manifest, checked before use.

A *design folder* holds one network ready to run and ``manifest.json`` describing it:

- ``kind: "overlay"``: a Vivado build for the PYNQ-Z2, ``<design>.bit`` + ``<design>.hwh``
  (written by ``make -C hw_builds <design>``); it runs on the board only;
- ``kind: "emulation"``: the IP's C-simulation library and the DMA's parameters, for the
  emulated board (written by the course's host side, :mod:`pynq_ia.emulation`).

Both carry ``test_data.npz`` (test frames, labels, and the scores the hls4ml C simulation gives
for them, which the DMA path must reproduce bit for bit) and the sha256 of every file, checked
before anything runs: a stale, damaged or half-copied design is refused with a message naming
the file, never run. The board package (``make -C hw_builds package``) installs its design
folders inside this package (:func:`installed_designs`); :mod:`pynq_ia.board.sessions` opens
them. Standard library, numpy and pynq only.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pynq_ia.board.words import word_format

DEVICE_TREE_COMPATIBLE = Path("/proc/device-tree/compatible")
MANIFEST = "manifest.json"
TEST_DATA = "test_data.npz"
KINDS = ("overlay", "emulation")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class OverlayError(RuntimeError):
    """A design is missing, incomplete, damaged or does not match its manifest."""


def running_on_board(compatible: Path = DEVICE_TREE_COMPATIBLE) -> bool:
    """True on a Zynq-7000 board (where a PYNQ image can load bitstreams with ``pynq.Overlay``).

    The board's device tree names the SoC family; x86 machines have no device tree at all.
    """
    try:
        return b"xlnx,zynq-7000" in Path(compatible).read_bytes()
    except OSError:
        return False


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_problem(manifest: Any, kind: str | None) -> str | None:
    """What is wrong with a parsed manifest (None when it has what the driver needs)."""
    if not isinstance(manifest, dict):
        return f"holds a JSON {type(manifest).__name__}, not an object"
    if not isinstance(manifest.get("design"), str):
        return "has no 'design' name"
    if manifest.get("kind", "overlay") not in KINDS:
        return f"kind {manifest.get('kind')!r} is none of {KINDS}"
    if kind is not None and manifest.get("kind", "overlay") != kind:
        return f"describes an {manifest.get('kind', 'overlay')}, not an {kind}"
    io = manifest.get("io")
    if not isinstance(io, dict):
        return "has no 'io' section (frame sizes and word types)"
    for key in ("n_in", "n_out"):
        if not isinstance(io.get(key), int) or isinstance(io.get(key), bool) or io[key] < 1:
            return f"io.{key} is {io.get(key)!r}, not a positive integer"
    for key in ("input", "output"):
        try:
            word_format(str(io.get(key)))
        except ValueError as error:
            return f"io.{key}: {error}"
    driver = manifest.get("driver", {})
    frames = driver.get("buffer_frames", 1) if isinstance(driver, dict) else None
    if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
        return f"driver.buffer_frames is {frames!r}, not a positive integer"
    ip = manifest.get("ip", {"cycles_per_frame": 1})
    cycles = ip.get("cycles_per_frame") if isinstance(ip, dict) else None
    if not isinstance(cycles, int | float) or isinstance(cycles, bool) or not cycles > 0:
        return f"ip.cycles_per_frame is {cycles!r}, not a positive number"
    sha256 = manifest.get("sha256")
    if not isinstance(sha256, dict) or not sha256:
        return "has no 'sha256' section"
    bad = [name for name, digest in sha256.items() if not _SHA256.fullmatch(str(digest))]
    if bad:
        return f"sha256 of {bad} is not a sha256"
    return None


def read_manifest(path: str | Path, *, kind: str | None = None) -> dict[str, Any]:
    """A design's ``manifest.json``, after checking it has everything the driver needs.

    Raises :class:`OverlayError` naming the file and the problem: missing, not UTF-8, not JSON
    (truncated?), not an object, or missing a key (``design``, ``io`` with ``n_in``, ``n_out``,
    ``input``, ``output``, ``sha256``).
    """
    path = Path(path)
    fix = "rebuild the design or copy it again from its package"
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise OverlayError(f"{path}: no manifest, cannot verify the design ({fix})") from None
    except UnicodeDecodeError:
        raise OverlayError(f"{path}: not UTF-8 text, the file is damaged ({fix})") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        problem = "is empty" if not text.strip() else f"is not valid JSON ({error.msg})"
        raise OverlayError(f"{path}: {problem}; truncated or damaged? ({fix})") from None
    problem = _manifest_problem(manifest, kind)
    if problem:
        raise OverlayError(f"{path}: the manifest {problem} ({fix})")
    return manifest


def f_max_mhz(manifest: dict[str, Any]) -> float | None:
    """The highest FCLK0 the design meets timing at, from Vivado's post-route timing report
    (``post_route.timing.fmax_mhz`` of an overlay's manifest); None when no build measured it."""
    timing = manifest.get("post_route", {}).get("timing", {})
    value = timing.get("fmax_mhz") if isinstance(timing, dict) else None
    return float(value) if isinstance(value, int | float) and value > 0 else None


def verify_files(folder: str | Path, manifest: dict[str, Any]) -> None:
    """Check every file the manifest lists against its sha256 (missing files included)."""
    folder = Path(folder)
    for name, expected in manifest["sha256"].items():
        path = folder / name
        if not path.is_file():
            raise OverlayError(f"{path}: missing (the manifest lists it)")
        actual = sha256_file(path)
        if actual != expected:
            raise OverlayError(
                f"{path} does not match its manifest: sha256 {actual[:16]}..., manifest "
                f"{expected[:16]}... (rebuild it or restore the right file)"
            )


def verify_overlay(bitfile: str | Path) -> dict[str, Any]:
    """The manifest of ``<design>.bit``, after checking it and its ``.hwh`` against it.

    Both files and ``manifest.json`` must sit together, and each file's sha256 must be the
    manifest's: a stale or corrupted overlay is refused rather than run.
    """
    bit = Path(bitfile)
    hwh = bit.with_suffix(".hwh")
    present = [p for p in (bit, hwh) if p.is_file()]
    if len(present) != 2:
        found = present[0].name if present else "neither file"
        raise OverlayError(f"{bit.stem}: found {found} but not its partner (.bit + .hwh)")
    if not (bit.parent / MANIFEST).is_file():
        raise OverlayError(f"{bit.stem}: overlay files without {MANIFEST}, cannot verify them")
    manifest = read_manifest(bit.parent / MANIFEST, kind="overlay")
    for path in (bit, hwh):
        if path.name not in manifest["sha256"]:
            raise OverlayError(f"{bit.parent / MANIFEST}: no sha256 for {path.name}")
    verify_files(bit.parent, manifest)
    return manifest


def parse_hwh(hwh: str | Path):
    """PYNQ's own parser of an overlay's ``.hwh`` (the one a PYNQ board uses for a full
    bitstream, without the XRT part that only a board has): ``ip_dict`` and the rest."""
    from pynq.metadata.runtime_metadata_parser import RuntimeMetadataParser
    from pynqmetadata.frontends import Metadata

    hwh = Path(hwh)
    if not hwh.is_file():
        raise OverlayError(f"{hwh}: no such hardware handoff file")
    parser = RuntimeMetadataParser(Metadata(input=hwh))
    parser.refresh_hierarchy_dict()
    return parser


def designs_in(folder: str | Path) -> list[Path]:
    """The design folders (with a manifest) directly inside ``folder``, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / MANIFEST).is_file())


def installed_designs() -> Path | None:
    """Where an installed board package keeps its designs (None in the course repository)."""
    folder = Path(__file__).parent / "designs"
    return folder if designs_in(folder) else None
