"""What the machine running the course has: the pinned stack, compilers, Vivado, a PYNQ board.

Used by the setup chapter (which then runs hls4ml itself) and by every chapter that has an
offline path (no Vivado, no board). Nothing here imports TensorFlow or hls4ml, so it also runs
on the board.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from pynq_ia.artifacts import REPO_ROOT

REQUIREMENTS_FILE = REPO_ROOT / "requirements.in"

#: Vivado HLS releases the course's hls4ml flow supports (hls4ml's VivadoAccelerator backend)
SUPPORTED_VIVADO = ("2019.2", "2020.1")

_PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


class ToolUnavailable(RuntimeError):
    """A hardware tool (Vivado HLS, Vivado) is not installed; the message says what to do."""


@dataclass(frozen=True)
class PackageStatus:
    name: str
    pinned: str
    installed: str | None

    @property
    def ok(self) -> bool:
        # a local version label ("2.13.0+cpu") satisfies the pin "2.13.0", as it does for pip
        return self.installed is not None and self.installed.split("+")[0] == self.pinned


def pinned_packages(requirements: Path = REQUIREMENTS_FILE) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a requirements file."""
    pins = {}
    for line in Path(requirements).read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def stack_status(requirements: Path = REQUIREMENTS_FILE) -> list[PackageStatus]:
    """Pinned vs installed version of each package the course asks for directly."""
    return [
        PackageStatus(name, pinned, installed_version(name))
        for name, pinned in pinned_packages(requirements).items()
    ]


@dataclass(frozen=True)
class Tool:
    name: str
    path: str | None
    version: str | None

    @property
    def found(self) -> bool:
        return self.path is not None


def _first_version(text: str) -> str | None:
    match = re.search(r"(?<![\d.])(\d{1,4}\.\d+(?:\.\d+)?)", text)
    return match.group(1) if match else None


def find_tool(name: str, version_args: tuple[str, ...] = ("--version",)) -> Tool:
    """Locate a command on PATH and ask it for its version (None when it is absent)."""
    path = shutil.which(name)
    if path is None:
        return Tool(name, None, None)
    try:
        result = subprocess.run(
            [path, *version_args], capture_output=True, text=True, timeout=60, check=False
        )
        version = _first_version(result.stdout + result.stderr)
    except (OSError, subprocess.TimeoutExpired):
        version = None
    return Tool(name, path, version)


def toolchain() -> dict[str, Tool]:
    """The compilers and FPGA tools the course can use."""
    return {
        "g++": find_tool("g++"),
        "vivado_hls": find_tool("vivado_hls", ("-version",)),
        "vivado": find_tool("vivado", ("-version",)),
    }


def vivado_hls_available() -> bool:
    """True when HLS synthesis (hls4ml ``build()``) can run on this machine."""
    return shutil.which("vivado_hls") is not None
