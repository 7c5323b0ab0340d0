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


def stage_dir(stage: str, *, profile: str | None = None) -> Path:
    """Folder for the outputs of one stage (``"models"``, ``"hls4ml"``, ...) in a profile."""
    if not stage or "/" in stage or stage.startswith("."):
        raise ValueError(f"invalid stage name {stage!r}")
    path = root() / (profile or active_profile().name) / stage
    path.mkdir(parents=True, exist_ok=True)
    return path


def _temporary_sibling(path: Path, *, directory: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.partial-"
    if directory:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
    fd, name = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    os.close(fd)
    return Path(name)


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    tmp = _temporary_sibling(path, directory=False)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


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

    ``build`` receives a temporary path next to ``path`` (an empty folder when ``path`` has no
    suffix, else a file name) and must write the artifact there; it is renamed to ``path`` only
    after ``build`` returns, so a crash leaves no partial artifact behind.
    """
    path = Path(path)
    if path.exists() and not rebuild:
        return path
    directory = not path.suffix
    tmp = _temporary_sibling(path, directory=directory)
    try:
        if not directory:
            tmp.unlink()  # let build() create the file the way it likes
        build(tmp)
        if not tmp.exists():
            raise RuntimeError(f"building {path.name}: the build function wrote nothing")
        if path.exists():
            _remove(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            _remove(tmp)
    return path


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
