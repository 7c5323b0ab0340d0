"""Benchmark: the board driver's host-side cost, against the hls4ml-generated driver's approach.

hls4ml's PYNQ driver template encodes and decodes with ``np.vectorize`` over a Python function
per element. Our driver encodes with vectorized numpy straight into the DMA buffer (rounding and
saturation included) and decodes into a new array. Both run here on the same jet-tagger inputs,
side by side; then the emulated board runs end to end (laptop timings: emulation, not FPGA).

Usage: python bench/driver.py [--frames N]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best_time

from pynq_ia.board.words import FixedPoint

N_IN, N_OUT = 16, 5
INPUT = FixedPoint.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
OUTPUT = FixedPoint.parse("ap_fixed<16,1,AP_RND_CONV,AP_SAT>")


def hls4ml_template(x: np.ndarray, words: np.ndarray):
    """The encode/decode the hls4ml driver template documents (per element, no saturation)."""
    encode = np.vectorize(lambda xi: np.int16(round(xi * 2**10)))
    decode = np.vectorize(lambda yi: yi * 2**-15)
    return encode(x), decode(words)


def ours(x: np.ndarray, words: np.ndarray, in_buffer: np.ndarray):
    INPUT.encode(x, out=in_buffer)
    return in_buffer, OUTPUT.decode(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, size=(args.frames, N_IN)).astype(np.float32)
    words = rng.integers(-(2**15), 2**15, size=(args.frames, N_OUT), dtype=np.int16)
    buffer = np.empty((args.frames, N_IN), dtype=np.int16)

    small = min(args.frames, 5_000)  # the per-element baseline is slow: time it on fewer frames
    baseline = best_time(hls4ml_template, x[:small], words[:small], repeats=2)[0] / small
    vectorized = best_time(ours, x, words, buffer, repeats=5)[0] / args.frames
    encoded_reference, _ = hls4ml_template(x[:small], words[:small])
    mismatched = int(
        np.count_nonzero(ours(x[:small], words[:small], buffer[:small])[0] != encoded_reference)
    )
    print(f"encode+decode, jet tagger ({N_IN} in, {N_OUT} out per frame):")
    print(f"  hls4ml template (np.vectorize): {1 / baseline:12,.0f} frames/s")
    print(f"  pynq_ia.board.driver (numpy):   {1 / vectorized:12,.0f} frames/s")
    print(
        f"  ratio: x{baseline / vectorized:,.0f}   (encoded words differing from the template's: "
        f"{mismatched} of {small * N_IN}; the template does not saturate)"
    )

    try:
        from pynq_ia import blockdesign, convert, designs, emulation_bundles, training

        name = designs.names()[0]  # the jet tagger: the design table's first
        model = training.trained_model(name, "qkeras")
        project = convert.hls_project(name, model)
        driver = emulation_bundles.emulated_driver(
            blockdesign.describe(name), project.words, buffer_frames=4096
        )
        frames = x[: min(args.frames, 20_000)]
        _, timing = driver.predict(frames, timing=True)
        print(
            f"emulated board end to end (emulation, laptop): {timing.frames_per_second:,.0f} "
            f"frames/s over {timing.frames} frames (encode {timing.encode:.3f} s, "
            f"DMA + C simulation {timing.transfer:.3f} s, decode {timing.decode:.3f} s)"
        )
    except ImportError as error:  # on the board: no TensorFlow / hls4ml, no emulation
        print(f"emulated board skipped ({error})")


if __name__ == "__main__":
    main()
