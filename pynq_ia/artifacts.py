"""Where chapter outputs are cached, and the one way every stage caches them.

A chapter that needs a model trained two chapters earlier asks for it: if the artifact exists
it is loaded, otherwise it is built (by the same package function the earlier chapter calls)
and stored. So any chapter can run on its own.

Everything cached is an **entry**, made by :func:`cached`: a folder ``<stage>/<name>`` in a
stage folder, ``<root>/<profile>/<stage>`` (:func:`stage_dir`; the profile is part of the path,
so a quick ``ci`` model is never mistaken for a ``full`` one) or, for datasets, which the two
profiles share, ``<root>/datasets``. For every entry, the same five steps:

1. **key**: the sha256 of its inputs' fingerprints, a JSON value the caller gives (data
   checksums, architecture, settings, the versions of the code that builds it);
2. **verify on load**: an entry whose record has that key, and whose every file matches the
   sha256 the record holds, is used as it is;
3. **build**: otherwise ``build(folder)`` writes the entry into a build folder of its own,
   ``<stage>/.builds/<name>-<key>-<random>``, where nothing looks yet;
4. **checksum**: the sha256 of every file it wrote go into its record, ``entry.json``, written
   last;
5. **atomic rename**: the entry ``<stage>/<name>`` is a link to its build, replaced by a link to
   the new build in one rename; older builds of the entry are removed.

An interrupted build leaves no entry that looks finished. A damaged entry (a file missing or
changed: a full disk, a killed process, an edit by hand; a record missing or unreadable) is
reported, naming the file, and built again; what cannot be built again raises
:class:`ArtifactDamaged` with the file and the way out. Builds of one entry take turns (a lock
file), so two processes never build the same thing at once.

Why a link is renamed rather than the build folder itself: hls4ml compiles the absolute path of
its weights into its C simulation, so a project must be built where it stays.

The root is ``$PYNQ_IA_ARTIFACTS`` when set, else ``.artifacts/`` at the top of the repository
(git-ignored), else ``~/.cache/pynq_ia`` when the package is installed outside a checkout.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pynq_ia.board.overlays import sha256_file
from pynq_ia.profile import active_profile

ARTIFACTS_ENV = "PYNQ_IA_ARTIFACTS"
#: the record of an entry: its key, inputs and the sha256 of every file it holds
RECORD = "entry.json"
#: where the builds of a stage's entries live (each entry links to one of them)
BUILDS = ".builds"
#: an unfinished build (no record) older than this is left over from a killed run
ABANDONED_AFTER_S = 24 * 3600

REPO_ROOT = Path(__file__).resolve().parents[1]


class ArtifactDamaged(RuntimeError):
    """A cached entry is missing, incomplete, or does not match its record."""


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
    cache (``$PYNQ_IA_ARTIFACTS/...``), or to the home folder; never this machine's layout.

    Links are not followed: an entry is shown by its name, not by the build it points to."""
    path = Path(os.path.abspath(path))
    for base, label in ((REPO_ROOT, None), (root(), f"${ARTIFACTS_ENV}"), (Path.home(), "~")):
        try:
            relative = path.relative_to(os.path.abspath(base))
        except ValueError:
            continue
        parts = [label, relative.as_posix()] if label else [relative.as_posix()]
        return "/".join(p for p in parts if p and p != ".") or "."
    return "…/" + "/".join(path.parts[-2:])


def stage_dir(stage: str, *, profile: str | None = None) -> Path:
    """Folder for the entries of one stage (``"models"``, ``"hls4ml"``, ...) in a profile."""
    if not stage or "/" in stage or stage.startswith("."):
        raise ValueError(f"invalid stage name {stage!r}")
    path = root() / (profile or active_profile().name) / stage
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------------------ fingerprints


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, Paths: written as their plain equivalents
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a JSON artifact")


def json_text(data: Any) -> str:
    """``data`` as indented JSON with sorted keys (numpy values as plain numbers and lists)."""
    return json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"


def fingerprint(inputs: Any) -> str:
    """The sha256 of a JSON value (the key of what was built from ``inputs``)."""
    text = json.dumps(inputs, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (inside a build folder: the entry's atomicity covers it)."""
    path = Path(path)
    path.write_text(json_text(data))
    return path


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


# ------------------------------------------------------------------------------------ entries


def _record(entry: Path) -> dict[str, Any]:
    """An entry's record, after checking every file against it; :class:`ArtifactDamaged` if not.
    """
    where = display_path(entry)
    if not entry.is_dir():
        raise ArtifactDamaged(f"{where} is missing")
    try:
        record = json.loads((entry / RECORD).read_text())
        files = record["sha256"]
        if not isinstance(record["key"], str) or not isinstance(files, dict) or not files:
            raise TypeError("no files")
    except (OSError, ValueError, KeyError, TypeError):
        raise ArtifactDamaged(
            f"{where} has no readable record ({RECORD}): unfinished or damaged"
        ) from None
    for name, expected in files.items():
        path = entry / name
        if not path.is_file():
            raise ArtifactDamaged(f"{display_path(path)} is missing (its entry lists it)")
        actual = sha256_file(path)
        if actual != expected:
            raise ArtifactDamaged(
                f"{display_path(path)} is damaged: sha256 {actual[:12]}..., recorded "
                f"{expected[:12]}..."
            )
    return record


def verify_entry(entry: Path) -> dict[str, Any]:
    """The record of a cached entry (its key, inputs and the sha256 of its files), after
    checking every file against it. Raises :class:`ArtifactDamaged` naming what is wrong."""
    return _record(Path(entry))


def entry_sha256(entry: Path, name: str) -> str:
    """The recorded (and just verified) sha256 of the file ``name`` of an entry."""
    return verify_entry(entry)["sha256"][name]


@contextmanager
def _turn(stage: Path, name: str) -> Iterator[None]:
    """Builds of one entry take turns, across processes (a lock file beside its builds)."""
    builds = stage / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    with open(builds / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _files(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.name != RECORD
    }


def _link(entry: Path, build: Path) -> None:
    """Point the entry at ``build`` in one atomic rename (a relative link: the cache may move)."""
    link = entry.with_name(f".{entry.name}.link-{secrets.token_hex(4)}")
    link.symlink_to(os.path.relpath(build, entry.parent), target_is_directory=True)
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)  # an entry of an earlier layout: a plain folder
    os.replace(link, entry)


def _collect(stage: Path, name: str, keep: Path | None) -> None:
    """Remove the entry's other builds: finished ones, and unfinished ones a killed run left."""
    for build in (stage / BUILDS).glob(f"{name}-*"):
        if not build.is_dir() or build == keep or build.name.count("-") != name.count("-") + 2:
            continue
        finished = (build / RECORD).is_file()
        if finished or time.time() - build.stat().st_mtime > ABANDONED_AFTER_S:
            shutil.rmtree(build, ignore_errors=True)


def _discard(entry: Path) -> None:
    """Remove an entry's link and the build it points to."""
    build = entry.resolve() if entry.is_symlink() else None
    if entry.is_symlink() or entry.is_file():
        entry.unlink()
    elif entry.is_dir():
        shutil.rmtree(entry)
    if build is not None and build.parent.name == BUILDS:
        shutil.rmtree(build, ignore_errors=True)


def cached(
    stage: Path,
    name: str,
    inputs: Any,
    build: Callable[[Path], None] | None,
    *,
    rebuild: bool = False,
    quiet: bool = False,
) -> Path:
    """The entry ``name`` of the stage folder ``stage``, built from ``inputs`` if needed.

    ``build(folder)`` writes the entry's files into ``folder`` (empty, its final place). The
    entry is reused when its record has the key of ``inputs`` and every file is intact (see the
    module docstring); ``rebuild`` builds it anyway. A damaged entry is reported (unless
    ``quiet``) and built again; one that cannot be (``build`` is None) raises
    :class:`ArtifactDamaged`. Returns ``stage / name``.
    """
    stage, key = Path(stage), fingerprint(inputs)
    if not name or "/" in name or name.startswith(".") or name == BUILDS:
        raise ValueError(f"invalid entry name {name!r}")
    entry = stage / name
    with _turn(stage, name):
        if not rebuild and entry.exists():
            try:
                if _record(entry)["key"] == key:
                    return entry
                if not quiet:
                    print(f"{display_path(entry)} was built from other inputs: building it again")
            except ArtifactDamaged as damage:
                if build is None:
                    raise
                if not quiet:
                    print(f"{damage}: building it again")
                _discard(entry)  # a damaged entry never stays, even if the new build fails
        if build is None:
            raise ArtifactDamaged(f"{display_path(entry)} is missing and cannot be built here")
        folder = stage / BUILDS / f"{name}-{key[:12]}-{secrets.token_hex(4)}"
        folder.mkdir(parents=True)
        try:
            start = time.perf_counter()
            build(folder)
            files = _files(folder)
            if not files:
                raise RuntimeError(f"building {display_path(entry)}: nothing was written")
            record = {"name": name, "key": key, "inputs": inputs, "sha256": files,
                      "seconds": round(time.perf_counter() - start, 3)}
            partial = folder / f".{RECORD}.partial"
            partial.write_text(json_text(record))
            os.replace(partial, folder / RECORD)
            _link(entry, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _collect(stage, name, keep=folder)
    return entry


def remove(entry: Path) -> None:
    """Forget an entry (its link and builds); it is built again when next asked for."""
    entry = Path(entry)
    with _turn(entry.parent, entry.name):
        _discard(entry)
        _collect(entry.parent, entry.name, keep=None)


def copy_entry(entry: Path, stage: Path) -> Path:
    """A copy of a verified entry in another stage folder (another cache); its path there."""
    entry, stage = Path(entry), Path(stage)
    record = verify_entry(entry)
    build = stage / BUILDS / f"{entry.name}-{record['key'][:12]}-{secrets.token_hex(4)}"
    with _turn(stage, entry.name):
        shutil.copytree(entry, build, symlinks=True)
        _link(stage / entry.name, build)
        _collect(stage, entry.name, keep=build)
    return stage / entry.name


def cached_json(stage: Path, name: str, inputs: Any, compute: Callable[[], Any], **options) -> Any:
    """A JSON result computed by ``compute()`` once for ``inputs`` (an entry of one file)."""
    entry = cached(stage, name, inputs, lambda folder: write_json(folder / "result.json",
                                                                  compute()), **options)
    return read_json(entry / "result.json")


# -------------------------------------------------------------------------------- metrics


def _metrics_entry(model_name: str, profile: str | None) -> Path:
    return stage_dir("metrics", profile=profile) / model_name


def update_metrics(
    model_name: str, section: str, values: dict[str, Any], *, profile: str | None = None
) -> dict[str, Any]:
    """Replace one section (``"float"``, ``"hls4ml"``, ...) of a model's metrics entry: every
    chapter adds its own section, chapter 9 reads them all."""
    metrics = load_metrics(model_name, profile=profile)
    metrics[section] = json.loads(json.dumps(values, default=_json_default))
    cached(stage_dir("metrics", profile=profile), model_name, {"metrics": fingerprint(metrics)},
           lambda folder: write_json(folder / "metrics.json", metrics), rebuild=True)
    return metrics


def load_metrics(model_name: str, *, profile: str | None = None) -> dict[str, Any]:
    """All sections recorded so far for a model (empty when none).

    A damaged metrics entry is reported and set aside: its sections are computed again by the
    chapters (or the package functions) that need them.
    """
    entry = _metrics_entry(model_name, profile)
    if not entry.exists() and not entry.is_symlink():
        return {}
    try:
        verify_entry(entry)
        metrics = read_json(entry / "metrics.json")
        if not isinstance(metrics, dict):
            raise ArtifactDamaged(f"{display_path(entry)} holds no metrics")
    except (ArtifactDamaged, OSError, ValueError) as damage:
        print(f"{damage}: starting the metrics of {model_name} over")
        remove(entry)
        return {}
    return metrics
