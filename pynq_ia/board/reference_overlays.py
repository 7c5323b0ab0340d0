"""Real overlays built by others, fetched by checksum: board code from elsewhere, run here.

The original PYNQ_IA project (github Gabriele-bot/PYNQ_IA) published the overlays it ran on a
PYNQ-Z2: Vivado 2020.1 builds of its MNIST DNN and CNN with hls4ml's block design (the DMA at
``hier_0/axi_dma_0``, 32-bit float stream words). The project has no licence, so no file of
theirs is in this repository: :func:`find` takes them, at one pinned commit, from a folder of
local copies (``$PYNQ_IA_OVERLAYS``; CI points it at ``../shared/hwh``) or downloads them from
the project's repository into a cache, and uses them only when their sha256 is the one below.
Standard library only: it ships to the board.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from pynq_ia.board.overlays import sha256_file

#: the folder of local, read-only copies (``<name>.bit`` and ``<name>.hwh``)
OVERLAYS_ENV = "PYNQ_IA_OVERLAYS"
REPOSITORY = "Gabriele-bot/PYNQ_IA"
COMMIT = "f77db009fe6ee5acc2feddddc9691de480336803"
FOLDER = "PYNQ_files/MNIST"
SOURCE = f"github.com/{REPOSITORY}, commit {COMMIT[:7]}, {FOLDER}"
#: sha256 of each file, as the original project's commit holds it
SHA256 = {
    "PYNQ_DMA_DNN_float.bit": "e81847e861ea880e023c86364ee5597a9790552010e5e6800b8a9171abe11de2",
    "PYNQ_DMA_DNN_float.hwh": "f13dd7aa471575216a29af9450cb0eda194b8a1d40428dec5585897e2a39eaf1",
    "PYNQ_DMA_CNN_float.bit": "bb807caad5fb922d29ec3ff96af0d6bbbdfdb05d1c65b6d6ff5c54167c5ac258",
    "PYNQ_DMA_CNN_float.hwh": "18da4d50c02a30681333d5a2ec5d516ff1e122b2411f7e73405bf8e4d711a44c",
}
NAMES = tuple(sorted({name.rsplit(".", 1)[0] for name in SHA256}))


class ReferenceOverlayUnavailable(RuntimeError):
    """A reference overlay is neither among the local copies nor downloadable (or damaged)."""


def default_cache() -> Path:
    """Where downloads go: ``$XDG_CACHE_HOME/pynq_ia/reference_overlays`` (``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pynq_ia" / "reference_overlays"


def _checked(path: Path) -> bool:
    return path.is_file() and sha256_file(path) == SHA256[path.name]


def _download(file_name: str, target: Path, timeout_s: float) -> None:
    url = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/{FOLDER}/{file_name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as part:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                shutil.copyfileobj(response, part)
        except OSError as error:  # URLError, timeouts and HTTP errors are all OSErrors
            Path(part.name).unlink()
            raise ReferenceOverlayUnavailable(
                f"{file_name}: not among the local copies and the download from {url} failed "
                f"({error}); put a copy of {SOURCE}/{file_name} into a folder and set "
                f"{OVERLAYS_ENV} to it"
            ) from None
    Path(part.name).replace(target)  # complete files only: a cut download never lands


def find(name: str, *, cache: Path | None = None, timeout_s: float = 60.0) -> Path:
    """The ``.bit`` of reference overlay ``name`` (its ``.hwh`` beside it), checked by sha256.

    Local copies in ``$PYNQ_IA_OVERLAYS`` first (read only: a damaged copy is an error, never
    replaced); else the cache, downloading what is missing or damaged. Raises
    :class:`ReferenceOverlayUnavailable` saying what to do when neither works.
    """
    if name not in NAMES:
        raise ValueError(f"no reference overlay {name!r}; there are {NAMES}")
    files = (f"{name}.bit", f"{name}.hwh")
    local = os.environ.get(OVERLAYS_ENV)
    if local:
        folder = Path(local)
        for file_name in files:
            if not _checked(folder / file_name):
                problem = "missing" if not (folder / file_name).is_file() else "damaged"
                raise ReferenceOverlayUnavailable(
                    f"{OVERLAYS_ENV}/{file_name} is {problem} (its sha256 must be "
                    f"{SHA256[file_name][:16]}...): copy it again from {SOURCE}, or unset "
                    f"{OVERLAYS_ENV} to download it"
                )
        return folder / files[0]
    folder = cache or default_cache()
    for file_name in files:
        if not _checked(folder / file_name):
            _download(file_name, folder / file_name, timeout_s)
            if not _checked(folder / file_name):
                (folder / file_name).unlink()
                raise ReferenceOverlayUnavailable(
                    f"{file_name} from {SOURCE} does not match its sha256: not used"
                )
    return folder / files[0]
