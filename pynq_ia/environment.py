"""What the machine running the course has: the pinned stack, compilers, Vivado, a PYNQ board.

Used by the setup chapter and by every chapter that has an offline path (no Vivado, no board).
Nothing here imports TensorFlow or hls4ml at module level, so it also runs on the board.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

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


@dataclass(frozen=True)
class SmokeTestResult:
    """Outcome of converting, compiling and running a tiny model with hls4ml."""

    output_dir: Path
    compile_seconds: float
    max_abs_difference: float
    argmax_agreement: float


def hls4ml_smoke_test(output_dir: Path, *, samples: int = 256, seed: int = 0) -> SmokeTestResult:
    """Convert a tiny Keras model with hls4ml, build its C simulation with g++ and compare it.

    This needs TensorFlow, hls4ml and a C++ compiler but no Vivado: ``write()`` emits the HLS
    C++ and ``compile()`` builds it as a shared library with hls4ml's bundled ap_types.
    """
    import hls4ml
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Input(shape=(8,)),
            tf.keras.layers.Dense(16, activation="relu", name="dense_1"),
            # linear output: softmax is a lookup table in hls4ml whose precision needs care
            # (chapter 4); the smoke test checks the fixed-point arithmetic alone
            tf.keras.layers.Dense(4, activation="linear", name="output"),
        ]
    )
    config = hls4ml.utils.config_from_keras_model(model, granularity="model")
    config["Model"]["Precision"] = "ap_fixed<18,8>"
    hls_model = hls4ml.converters.convert_from_keras_model(
        model,
        hls_config=config,
        output_dir=str(output_dir),
        backend="Vivado",
        io_type="io_parallel",
        part="xc7z020clg400-1",
    )
    start = time.perf_counter()
    hls_model.compile()  # write() + g++ build of the C-simulation library
    compile_seconds = time.perf_counter() - start

    x = np.random.default_rng(seed).uniform(-2, 2, size=(samples, 8)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    got = hls_model.predict(np.ascontiguousarray(x)).reshape(expected.shape)
    return SmokeTestResult(
        output_dir=Path(output_dir),
        compile_seconds=compile_seconds,
        max_abs_difference=float(np.max(np.abs(got - expected))),
        argmax_agreement=float(np.mean(got.argmax(1) == expected.argmax(1))),
    )
