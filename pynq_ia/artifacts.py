"""Where chapter outputs are cached, so that any chapter can run on its own.

A chapter that needs a model trained two chapters earlier asks this module for it: if the
artifact exists it is loaded, otherwise it is recomputed (by the same package function the earlier
chapter calls) and stored. Outputs live in ``<root>/<profile>/<stage>/...``; the profile is part of
the path so a quick ``ci`` model is never mistaken for a ``full`` one.

The root is ``$PYNQ_IA_ARTIFACTS`` when set, else ``.artifacts/`` at the top of the repository
(git-ignored), else ``~/.cache/pynq_ia`` when the package is installed outside a checkout.

Writes are atomic: a file or folder is built under a temporary name and renamed into place
when complete, so an interrupted run never leaves a half-written artifact that looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynq_ia.profile import active_profile

ARTIFACTS_ENV = "PYNQ_IA_ARTIFACTS"

REPO_ROOT = Path(__file__).resolve().parents[1]


def in_checkout() -> bool:
    """True when the package runs from the course repository (an editable install)."""
    return (REPO_ROOT / "_toc.yml").is_file()


def root() -> Path:
    """Top folder of all cached outputs (not created)."""
    override = os.environ.get(ARTIFACTS_ENV)
    if override:
        return Path(override).expanduser().resolve()
    if in_checkout():
        return REPO_ROOT / ".artifacts"
    return Path.home() / ".cache" / "pynq_ia"


def display_path(path: Path) -> str:
    """A path as a reader should see it: relative to the course repository, or to the artifact
    cache (``$PYNQ_IA_ARTIFACTS/...``), or to the home folder; never this machine's layout."""
    path = Path(path).resolve()
    for base, label in ((REPO_ROOT, None), (root(), f"${ARTIFACTS_ENV}"), (Path.home(), "~")):
        try:
            relative = path.relative_to(base.resolve())
        except ValueError:
            continue
        parts = [label, relative.as_posix()] if label else [relative.as_posix()]
        return "/".join(p for p in parts if p and p != ".") or "."
    return "…/" + "/".join(path.parts[-2:])


def stage_dir(stage: str, *, profile: str | None = None) -> Path:
    """Folder for the outputs of one stage (``"models"``, ``"hls4ml"``, ...) in a profile."""
    if not stage or "/" in stage or stage.startswith("."):
        raise ValueError(f"invalid stage name {stage!r}")
    path = root() / (profile or active_profile().name) / stage
    path.mkdir(parents=True, exist_ok=True)
    return path


def _temporary_sibling(path: Path, *, directory: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the suffix: writers such as np.savez or Keras choose the format from it
    prefix, suffix = f".{path.stem}.partial-", path.suffix
    if directory:
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=path.parent))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Produce ``path`` with ``write(tmp)`` under a temporary name, then rename it into place.

    ``tmp`` is an empty folder when ``path`` has no suffix, else a file name that does not exist
    yet. A failing ``write`` leaves neither ``path`` nor the temporary behind.
    """
    path = Path(path)
    directory = not path.suffix
    tmp = _temporary_sibling(path, directory=directory)
    try:
        if not directory:
            tmp.unlink()  # let write() create the file the way it likes
        write(tmp)
        if not tmp.exists():
            raise RuntimeError(f"writing {path.name}: nothing was written")
        if path.exists():
            _remove(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            _remove(tmp)
    return path


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, Paths: written as their plain equivalents
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a JSON artifact")


def read_json(path: Path) -> Any:
    """Read a JSON artifact."""
    return json.loads(Path(path).read_text())


def build_once(path: Path, build: Callable[[Path], None], *, rebuild: bool = False) -> Path:
    """Return ``path``, first building it with ``build(tmp)`` if it does not exist yet.

    The build is atomic (see :func:`atomic_write`): a crash leaves no partial artifact behind.
    """
    path = Path(path)
    if path.exists() and not rebuild:
        return path
    return atomic_write(path, build)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def metrics_path(model_name: str, *, profile: str | None = None) -> Path:
    """The metrics file of one model: every chapter adds its own section to it."""
    return stage_dir("metrics", profile=profile) / f"{model_name}.json"


def update_metrics(model_name: str, section: str, values: dict[str, Any]) -> dict[str, Any]:
    """Replace one section (``"training"``, ``"hls4ml"``, ...) of a model's metrics file."""
    path = metrics_path(model_name)
    metrics = read_json(path) if path.exists() else {}
    metrics[section] = values
    write_json(path, metrics)
    return metrics


def load_metrics(model_name: str) -> dict[str, Any]:
    """All sections recorded so far for a model (empty when none)."""
    path = metrics_path(model_name)
    return read_json(path) if path.exists() else {}
