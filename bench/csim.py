"""Benchmark: hls4ml C simulation, frames per second and compile time, for each course model.

For each model (QKeras flavour from the artifact cache, trained if missing) this converts and
compiles the hls4ml project, then runs the same test frames, side by side in this process,
through
- the word runner built from hls4ml's dense code as written, every product computed, on one
  core: the baseline;
- the word runner with the C-simulation kernel that skips zero weights, on one core;
- the same on every core (the course's default);
- hls4ml's own ``predict`` (a Python loop calling its library once per frame), for reference;
checks that all outputs are identical, and prints frames/s, ratios to the baseline and the
issue's targets (jet tagger >= 100k frames/s, MNIST CNN >= 1k frames/s on this 2-core machine).

Usage: python bench/csim.py [--frames N]   (PYNQ_IA_PROFILE / PYNQ_IA_DATA as for the book)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pynq_ia import convert, models

TARGETS = {"jet_dnn": 100_000, "mnist_cnn": 1_000}


def frames_per_second(function, x: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = function(x)
        best = min(best, time.perf_counter() - start)
    return len(x) / best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4000)
    args = parser.parse_args()
    cores = convert.available_cores()
    print(f"{cores} cores; frames/s (ratio to hls4ml's dense code as written, 1 core)")
    for name, spec in models.SPECS.items():
        dataset = models.load_dataset(spec.task)
        model = models.trained_model(name, "qkeras", dataset, verbose=0)
        project = convert.hls_project(name, model)
        frames = min(args.frames, 1000) if spec.convolutional else args.frames
        x = np.resize(dataset.x_test, (frames, *dataset.x_test.shape[1:]))

        def runner(skip_zero_weights: bool, workers: int, project=project, name=name):
            return convert.build_word_runner(
                project.directory,
                name,
                project.settings,
                workers=workers,
                skip_zero_weights=skip_zero_weights,
            ).predict

        runs = {
            "as written, 1 core": runner(False, 1),
            "zero weights skipped, 1 core": runner(True, 1),
            f"zero weights skipped, {cores} cores": runner(True, cores),
            "hls4ml predict": project.hls4ml_predict,
        }
        results = {label: frames_per_second(run, x) for label, run in runs.items()}
        baseline, expected = results["as written, 1 core"]
        for label, (_, out) in results.items():
            assert np.array_equal(out, expected), f"{name}: {label} differs from the baseline"
        target = TARGETS.get(name)
        best = max(rate for rate, _ in results.values())
        verdict = (
            f"target {target:,} frames/s {'met' if best >= target else 'MISSED'}" if target else ""
        )
        print(f"{name}: write+compile {project.compile_seconds:.1f} s, {frames} frames {verdict}")
        for label, (rate, _) in results.items():
            print(f"  {label:32s} {rate:10.0f} frames/s   x{rate / baseline:5.2f}")


if __name__ == "__main__":
    main()
