"""Where chapter outputs are cached, so that any chapter can run on its own.

A chapter that needs a model trained two chapters earlier asks this module for it: if the
artifact exists it is loaded, otherwise it is recomputed (by the same package function the earlier
chapter calls) and stored. Outputs live in ``<root>/<profile>/<stage>/...``; the profile is part of
the path so a quick ``ci`` model is never mistaken for a ``full`` one.

The root is ``$PYNQ_IA_ARTIFACTS`` when set, else ``.artifacts/`` at the top of the repository
(git-ignored), else ``~/.cache/pynq_ia`` when the package is installed outside a checkout.

Writes are atomic: a file or folder is built under a temporary name and renamed into place
when complete, so an interrupted run never leaves a half-written artifact that looks finished.

One integrity rule for every cached file: it is written with a ``<name>.sha256`` companion,
which is written last (atomically too), and checked whenever the file is used. A file without a
companion, with an empty or foreign one, or whose bytes no longer match it (a full disk, a killed
process, an edit by hand) is *damaged*: :func:`build_once` says so, naming it, and builds it
again; what cannot be rebuilt raises :class:`ArtifactDamaged` with the file and the way out.
Folders carry their own record: an hls4ml project its ``pynq_ia_project.json`` (with the sha256 of
its libraries), an emulation bundle its ``manifest.json``.
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


class ArtifactDamaged(RuntimeError):
    """A cached file is missing its checksum, does not match it, or cannot be read."""

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
    """Write ``data`` as indented JSON, atomically (a record inside a folder artifact)."""
    text = _json_text(data)
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


def checksum_path(path: Path) -> Path:
    """The ``.sha256`` companion of a cached file."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def _sha256(path: Path) -> str:
    from pynq_ia.board.overlays import sha256_file

    return sha256_file(path)


def write_checked(path: Path, write: Callable[[Path], None]) -> str:
    """Write a file through ``write(tmp)`` atomically, then its ``.sha256`` companion; its sha256.

    The companion goes first away and last in place: a run killed in between leaves a file
    without a companion, which :func:`verify_checked` reports as damaged.
    """
    path, digests = Path(path), []

    def write_and_hash(tmp: Path) -> None:
        write(tmp)
        if tmp.is_file():  # (atomic_write reports a write that wrote nothing)
            digests.append(_sha256(tmp))

    checksum_path(path).unlink(missing_ok=True)
    atomic_write(path, write_and_hash)
    line = f"{digests[0]}  {path.name}\n"
    atomic_write(checksum_path(path), lambda tmp: tmp.write_text(line))
    return digests[0]


def verify_checked(path: Path) -> str:
    """The sha256 of a cached file, after checking it against its companion.

    Raises :class:`ArtifactDamaged` naming the file and what is wrong with it.
    """
    path = Path(path)
    where = display_path(path)
    if not path.is_file():
        raise ArtifactDamaged(f"{where} is missing")
    companion = checksum_path(path)
    try:
        fields = companion.read_text().split()
    except (OSError, UnicodeDecodeError):
        raise ArtifactDamaged(f"{where} has no readable checksum file {companion.name}") from None
    if len(fields) != 2 or fields[1] != path.name or len(fields[0]) != 64:
        raise ArtifactDamaged(f"{where}: its checksum file {companion.name} is empty or damaged")
    actual = _sha256(path)
    if actual != fields[0]:
        raise ArtifactDamaged(
            f"{where} is damaged: sha256 {actual[:12]}..., recorded {fields[0][:12]}..."
        )
    return actual


def build_once(path: Path, build: Callable[[Path], None], *, rebuild: bool = False) -> Path:
    """Return ``path``, first building it with ``build(tmp)`` if it is missing or damaged.

    A file is checked against its ``.sha256`` companion (written with it); a damaged one is
    reported and built again. A folder (a path without a suffix) is only built when missing.
    The build is atomic (see :func:`atomic_write`): a crash leaves no partial artifact behind.
    """
    path = Path(path)
    is_file = bool(path.suffix)
    if path.exists() and not rebuild:
        if not is_file:
            return path
        try:
            verify_checked(path)
            return path
        except ArtifactDamaged as damage:
            print(f"{damage}: building it again")
    if is_file:
        write_checked(path, build)
        return path
    return atomic_write(path, build)


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"


def write_checked_json(path: Path, data: Any) -> Path:
    """:func:`write_json` with a ``.sha256`` companion: for cached results (metrics, sweeps)."""
    text = _json_text(data)
    write_checked(path, lambda tmp: tmp.write_text(text))
    return Path(path)


def read_checked_json(path: Path) -> Any:
    """A cached JSON file, checked against its companion; :class:`ArtifactDamaged` otherwise."""
    verify_checked(path)
    try:
        return json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:  # matched its checksum, yet no JSON
        raise ArtifactDamaged(f"{display_path(path)} is not JSON ({error})") from None


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
    metrics = load_metrics(model_name)
    metrics[section] = values
    write_checked_json(metrics_path(model_name), metrics)
    return metrics


def load_metrics(model_name: str) -> dict[str, Any]:
    """All sections recorded so far for a model (empty when none).

    A damaged metrics file is reported and set aside: its sections are computed again by the
    chapters (or the package functions) that need them, a model whose training record is gone
    is trained again.
    """
    path = metrics_path(model_name)
    if not path.exists():
        return {}
    try:
        metrics = read_checked_json(path)
    except ArtifactDamaged as damage:
        print(f"{damage}: starting the metrics of {model_name} over")
        path.unlink()
        return {}
    if not isinstance(metrics, dict):
        print(f"{display_path(path)} holds no metrics: starting the metrics of {model_name} over")
        path.unlink()
        return {}
    return metrics
