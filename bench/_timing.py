"""The benchmarks' one way to time a call: the best of a few runs (machines are noisy)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_time(function: Callable[..., Any], *args: Any, repeats: int = 3) -> tuple[float, Any]:
    """The shortest of ``repeats`` runs of ``function(*args)`` in seconds, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result
