"""Benchmark: hls4ml C simulation, frames per second and compile time, for each course model.

For each model (QKeras flavour from the artifact cache, trained if missing) this converts and
compiles the hls4ml project, then runs the same test frames through
- hls4ml's ``predict`` (a Python loop calling the C++ library once per frame): the baseline;
- our word runner (one C++ call looping over all frames on raw AXI words),
and prints frames/s of both and their ratio, after checking the outputs are identical.

Usage: python bench/csim.py [--frames N]   (PYNQ_IA_PROFILE / PYNQ_IA_DATA as for the book)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pynq_ia import convert, models


def frames_per_second(function, x: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = function(x)
        best = min(best, time.perf_counter() - start)
    return len(x) / best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    for name, spec in models.SPECS.items():
        dataset = models.load_dataset(spec.task)
        model = models.trained_model(name, "qkeras", dataset, verbose=0)
        project = convert.hls_project(name, model)
        x = np.resize(dataset.x_test, (args.frames, *dataset.x_test.shape[1:]))
        frames = min(args.frames, 500) if spec.convolutional else args.frames
        x = x[:frames]
        baseline, expected = frames_per_second(project.hls4ml_predict, x)
        ours, got = frames_per_second(project.predict, x)
        assert np.array_equal(expected, got), f"{name}: outputs differ"
        print(
            f"{name:10s} write+compile {project.compile_seconds:5.1f} s | "
            f"hls4ml predict {baseline:9.0f} frames/s | word runner {ours:9.0f} frames/s | "
            f"ratio {ours / baseline:5.2f} ({frames} frames)"
        )


if __name__ == "__main__":
    main()
