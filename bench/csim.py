"""Benchmark: hls4ml C simulation, frames per second and compile time, for each course model.

For each model (QKeras flavour from the artifact cache, trained if missing) this converts and
compiles the hls4ml project, then runs the same test frames, side by side in this process,
through the variants of :func:`pynq_ia.word_runner.word_runner_variants`
- hls4ml's dense code as written, every product computed, on one core: the baseline;
- the C-simulation kernel that skips zero weights, on one core;
- the same on every core (the course's default);
and through hls4ml's own ``predict`` (a Python loop calling its library once per frame), for
reference; checks that all outputs are identical, and prints frames/s, ratios to the baseline
and each design's target where the design table sets one (``csim_frames_per_second``: the jet
tagger 100k frames/s, the MNIST CNN 1k frames/s on a 2-core laptop).

Usage: python bench/csim.py [--frames N]   (PYNQ_IA_PROFILE / PYNQ_IA_DATA as for the book)
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best_time

from pynq_ia import convert, data, designs, training, word_runner
from pynq_ia.board.csim import available_cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4000)
    args = parser.parse_args()
    print(f"{available_cores()} cores; frames/s (ratio to the first line of each design)")
    for name, design in designs.DESIGNS.items():
        dataset = data.load_dataset(design.task)
        model = training.trained_model(name, "qkeras", dataset, verbose=0)
        project = convert.hls_project(name, model)
        frames = min(args.frames, 1000) if design.convolutional else args.frames
        x = np.resize(dataset.x_test, (frames, *dataset.x_test.shape[1:]))

        variants = word_runner.word_runner_variants(project)
        runs = {label: r.predict for label, r in variants.items()}
        runs["hls4ml predict"] = project.hls4ml_predict
        results = {label: best_time(run, x) for label, run in runs.items()}
        baseline_seconds, expected = next(iter(results.values()))
        for label, (_, out) in results.items():
            assert np.array_equal(out, expected), f"{name}: {label} differs from the baseline"
        target = design.csim_frames_per_second
        best = frames / min(seconds for seconds, _ in results.values())
        verdict = (
            f"target {target:,} frames/s {'met' if best >= target else 'MISSED'}" if target else ""
        )
        print(f"{name}: write+compile {project.compile_seconds:.1f} s, {frames} frames {verdict}")
        for label, (seconds, _) in results.items():
            ratio = baseline_seconds / seconds
            print(f"  {label:40s} {frames / seconds:10.0f} frames/s   x{ratio:5.2f}")


if __name__ == "__main__":
    main()
