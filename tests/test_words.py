"""The AXI word formats against the real ap_fixed of Vivado HLS' headers (bundled with hls4ml).

Every rounding and overflow mode the encoder accepts is compared with C++ ``ap_fixed`` on the
values where conversions go wrong: exact ties, their floating-point neighbours, float32 inputs of
2**23 steps and more, float64 inputs beyond 2**52 steps, values far out of range (where float64
can no longer hold the low bits), tiny and negative-zero inputs.
"""

import ctypes
import itertools
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynq_ia.board.words import (
    OVERFLOW_MODES,
    ROUNDING_MODES,
    FixedPoint,
    FloatWord,
    word_format,
)

#: every accepted mode, on signed and unsigned words of every width
FORMATS = [
    f"ap_{kind}<{width},{integer},{rounding},{overflow}>"
    for (kind, width, integer), rounding, overflow in itertools.product(
        [("fixed", 16, 6), ("ufixed", 16, 4), ("fixed", 8, 3), ("fixed", 32, 12), ("ufixed", 8, 0)],
        ROUNDING_MODES,
        OVERFLOW_MODES,
    )
] + ["ap_fixed<16,6>", "ap_fixed<16,1,AP_RND_CONV,AP_SAT,0>", "ap_fixed<16,20,AP_RND,AP_WRAP>"]

SOURCE = """
#include <stdint.h>
#include "ap_fixed.h"
extern "C" {
%s
}
"""
FUNCTIONS = """
void convert_{i}_d(const double *x, int64_t *out, long n) {{
    for (long k = 0; k < n; ++k) {{ {t} v = x[k]; out[k] = (int64_t)v.range().to_uint64(); }}
}}
void convert_{i}_f(const float *x, int64_t *out, long n) {{
    for (long k = 0; k < n; ++k) {{ {t} v = x[k]; out[k] = (int64_t)v.range().to_uint64(); }}
}}
"""


@pytest.fixture(scope="module")
def ap_fixed(tmp_path_factory):
    """Per format, C++ conversions of double and float arrays, built with hls4ml's ap_types."""
    import hls4ml

    headers = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    folder = tmp_path_factory.mktemp("ap_fixed")
    source = folder / "convert.cpp"
    source.write_text(
        SOURCE % "".join(FUNCTIONS.format(i=i, t=f) for i, f in enumerate(FORMATS))
    )
    library = folder / "convert.so"
    subprocess.run(
        ["g++", "-O1", "-fPIC", "-shared", "-std=c++11", f"-I{headers}", str(source), "-o",
         str(library)],
        check=True,
    )
    lib = ctypes.CDLL(str(library))

    def convert(index: int, x: np.ndarray) -> np.ndarray:
        suffix = "f" if x.dtype == np.float32 else "d"
        x = np.ascontiguousarray(x)
        out = np.empty(x.size, dtype=np.int64)
        function = getattr(lib, f"convert_{index}_{suffix}")
        function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
        function(x.ctypes.data, out.ctypes.data, x.size)
        fmt = FixedPoint.parse(FORMATS[index])
        out &= (1 << fmt.width) - 1  # the raw bits, as the word's integer
        if fmt.signed:
            out[out >= 1 << (fmt.width - 1)] -= 1 << fmt.width
        return out

    return convert


def hard_values(fmt: FixedPoint) -> np.ndarray:
    """The float64 values where a conversion is most easily wrong, for one format."""
    step = 2.0**-fmt.fractional
    low, high = fmt.value_range
    k = np.arange(-300, 300, dtype=np.float64)
    ties = np.concatenate([(k + 0.5) * step, (k + 0.5) * step + high, (k + 0.5) * step + low])
    neighbours = np.concatenate(
        [np.nextafter(ties, np.inf), np.nextafter(ties, -np.inf),
         np.nextafter(ties.astype(np.float32), np.float32(np.inf)).astype(np.float64),
         np.nextafter(ties.astype(np.float32), np.float32(-np.inf)).astype(np.float64)]
    )
    big = np.array([2.0**e for e in (22, 23, 24, 25, 30, 31, 32, 33, 51, 52, 53, 54, 60, 100)])
    big_steps = np.concatenate([big, big + 1, big + 0.5, big - 1.5]) * step
    far = np.array([1e10, 1e30, 3.0e38, 1e300, 1.7e308, 2.0**1023])
    tiny = np.array([0.0, -0.0, 1e-30, -1e-30, 5e-324, -5e-324, step / 2, -step / 2, step / 4])
    edges = np.array([low, high, low - step, high + step, low - step / 2, high + step / 2])
    rng = np.random.default_rng(fmt.width * 1000 + fmt.integer)
    scale = 2.0 ** (fmt.integer + 2)
    random = rng.uniform(-scale, scale, 2000)
    values = np.concatenate([ties, neighbours, big_steps, far, tiny, edges, random])
    return np.concatenate([values, -values])


@pytest.mark.parametrize("index", range(len(FORMATS)), ids=FORMATS)
def test_encode_matches_ap_fixed_on_hard_values(ap_fixed, index):
    fmt = FixedPoint.parse(FORMATS[index])
    x64 = hard_values(fmt)
    with np.errstate(over="ignore"):
        x32 = x64.astype(np.float32)
    x32 = x32[np.isfinite(x32)]
    for x in (x64, x32):
        words, _ = fmt.encode(x)
        expected = ap_fixed(index, x)
        wrong = np.flatnonzero(words.astype(np.int64) != expected)
        assert wrong.size == 0, (
            f"{FORMATS[index]}, {x.dtype}: {wrong.size} of {x.size} differ, e.g. "
            + ", ".join(f"{x[i]!r} -> {int(words[i])} (C++ {expected[i]})" for i in wrong[:4])
        )


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(0, len(FORMATS) - 1),
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(allow_nan=False, allow_infinity=False, width=32),
            st.integers(-(2**20), 2**20).map(lambda k: (k + 0.5) / 1024),
        ),
        min_size=1,
        max_size=32,
    ),
)
def test_encode_matches_ap_fixed_anywhere(ap_fixed, index, values):
    fmt = FixedPoint.parse(FORMATS[index])
    x = np.array(values, dtype=np.float64)
    np.testing.assert_array_equal(fmt.encode(x)[0].astype(np.int64), ap_fixed(index, x))


def test_out_of_range_values_are_counted_per_mode():
    x = np.array([0.5, 100.0, -100.0, 31.9990234375, -32.0])
    counts = {
        mode: FixedPoint.parse(f"ap_fixed<16,6,AP_RND_CONV,{mode}>").encode(x)[1]
        for mode in OVERFLOW_MODES
    }
    # -32 is representable, except in the symmetric range
    assert counts == {"AP_WRAP": 2, "AP_SAT": 2, "AP_SAT_ZERO": 2, "AP_SAT_SYM": 3}
    words, _ = FixedPoint.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>").encode(x)
    assert words.tolist() == [512, 32767, -32768, 32767, -32768]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("float", "not an ap_fixed"),
        ("ap_fixed<18,8>", "8, 16 or 32"),
        ("ap_fixed<16,6,AP_RND,AP_WRAP_SM>", "overflow mode AP_WRAP_SM"),
        ("ap_fixed<16,6,AP_ROUND,AP_SAT>", "rounding mode AP_ROUND"),
        ("ap_fixed<16,6,AP_RND,AP_SAT,2>", "saturation bits"),
    ],
)
def test_unsupported_types_are_refused(text, match):
    with pytest.raises(ValueError, match=match):
        FixedPoint.parse(text)


def test_parse_and_ranges():
    fmt = FixedPoint.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
    assert (fmt.width, fmt.integer, fmt.signed) == (16, 6, True)
    assert fmt.value_range == (-32.0, 32.0 - 2**-10)
    assert fmt.dtype == np.int16 and fmt.float_dtype == np.float32
    assert FixedPoint.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT,0>") == fmt
    default = FixedPoint.parse("ap_fixed<16,6>")
    assert (default.rounding, default.overflow) == ("AP_TRN", "AP_WRAP")
    assert FixedPoint.parse("ap_ufixed<8,0>").dtype == np.uint8
    assert FixedPoint.parse("ap_fixed<32,12>").float_dtype == np.float64


def test_word_format_reads_float_and_fixed():
    assert word_format("float") == FloatWord()
    assert word_format("ap_fixed<16,6>") == FixedPoint(16, 6)
    with pytest.raises(ValueError, match="double"):
        word_format("double")


def test_float_words_pass_values_through():
    fmt = FloatWord()
    x = np.array([[0.5, -3.25, 1e-3], [7.0, 1e39, -2.0]])
    words, overflowed = fmt.encode(x)
    assert words.dtype == np.float32 and overflowed == 1  # 1e39 does not fit a float32
    np.testing.assert_array_equal(fmt.decode(words), words)
    assert fmt.decode(words.view(np.uint32)).dtype == np.float32


def test_decode_is_exact_and_a_copy():
    fmt = FixedPoint.parse("ap_fixed<16,1,AP_RND_CONV,AP_SAT>")
    words = np.array([0, 1, -1, 32767, -32768], dtype=np.int16)
    values = fmt.decode(words)
    assert values.tolist() == [0.0, 2**-15, -(2**-15), 1 - 2**-15, -1.0]
    values[0] = 5
    assert words[0] == 0


def test_encode_into_a_buffer_and_roundtrip():
    fmt = FixedPoint.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
    x = np.random.default_rng(0).uniform(-31, 31, size=(100, 16)).astype(np.float32)
    buffer = np.zeros((100, 16), dtype=np.int16)
    words, saturated = fmt.encode(x, out=buffer)
    assert words is buffer and saturated == 0
    assert np.max(np.abs(fmt.decode(buffer) - x)) <= 2**-11
