"""FixedPoint against the real ap_fixed semantics of Vivado HLS' headers (bundled with hls4ml)."""

import ctypes
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynq_ia.fixed_point import FixedPoint

FORMATS = [
    "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
    "ap_fixed<16,1,AP_RND_CONV,AP_SAT>",
    "ap_fixed<16,6>",
    "ap_fixed<8,3,AP_RND,AP_SAT>",
    "ap_ufixed<16,4,AP_RND_CONV,AP_SAT>",
    "ap_fixed<32,12,AP_TRN,AP_WRAP>",
]

SOURCE = """
#include <stdint.h>
#include "ap_fixed.h"
extern "C" {
%s
}
"""
FUNCTION = """
int64_t convert_%d(double x) { %s v = x; return (int64_t)v.range().to_uint64(); }
"""


@pytest.fixture(scope="module")
def ap_fixed_library(tmp_path_factory):
    """A tiny C++ library converting doubles with each format, built with hls4ml's ap_types."""
    import hls4ml

    headers = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    folder = tmp_path_factory.mktemp("ap_fixed")
    source = folder / "convert.cpp"
    source.write_text(SOURCE % "".join(FUNCTION % (i, f) for i, f in enumerate(FORMATS)))
    library = folder / "convert.so"
    subprocess.run(
        [
            "g++",
            "-O1",
            "-fPIC",
            "-shared",
            "-std=c++11",
            f"-I{headers}",
            str(source),
            "-o",
            str(library),
        ],
        check=True,
    )
    lib = ctypes.CDLL(str(library))
    functions = []
    for i in range(len(FORMATS)):
        function = getattr(lib, f"convert_{i}")
        function.argtypes = [ctypes.c_double]
        function.restype = ctypes.c_int64
        functions.append(function)
    return functions


def _as_signed(raw: int, fmt: FixedPoint) -> int:
    raw &= (1 << fmt.width) - 1
    if fmt.signed and raw >= 1 << (fmt.width - 1):
        raw -= 1 << fmt.width
    return raw


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(FORMATS) - 1),
    x=st.one_of(
        st.floats(-100, 100, allow_nan=False, width=32),
        # exact ties: odd multiples of half a step, where the rounding modes differ
        st.integers(-40_000, 40_000).map(lambda k: (k + 0.5) / 1024),
    ),
)
def test_encode_matches_ap_fixed(ap_fixed_library, index, x):
    fmt = FixedPoint.parse(FORMATS[index])
    expected = _as_signed(ap_fixed_library[index](float(x)), fmt)
    words, _ = fmt.encode(np.array([x]))
    assert int(words[0]) == expected, (FORMATS[index], x)


def test_parse_and_ranges():
    fmt = FixedPoint.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
    assert (fmt.width, fmt.integer, fmt.signed) == (16, 6, True)
    assert fmt.rounding == "AP_RND_CONV" and fmt.overflow == "AP_SAT"
    assert fmt.value_range == (-32.0, 32.0 - 2**-10)
    assert fmt.dtype == np.int16
    default = FixedPoint.parse("ap_fixed<16,6>")
    assert (default.rounding, default.overflow) == ("AP_TRN", "AP_WRAP")
    assert FixedPoint.parse("ap_ufixed<8,0>").dtype == np.uint8
    with pytest.raises(ValueError):
        FixedPoint.parse("float")
    with pytest.raises(ValueError):
        FixedPoint.parse("ap_fixed<18,8>")  # not a whole AXI word


def test_saturation_is_counted_and_clipped():
    fmt = FixedPoint.parse("ap_fixed<16,6,AP_RND_CONV,AP_SAT>")
    words, saturated = fmt.encode(np.array([0.5, 100.0, -100.0, 31.9990234375, -32.0]))
    assert saturated == 2
    assert words.tolist() == [512, 32767, -32768, 32767, -32768]


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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-2000, 2000, allow_nan=False, width=32), min_size=1, max_size=64),
    st.sampled_from(FORMATS[:5]),
)
def test_float32_fast_path_equals_float64(values, text):
    fmt = FixedPoint.parse(text)
    x32 = np.array(values, dtype=np.float32)
    words32, count32 = fmt.encode(x32)
    words64, count64 = fmt.encode(x32.astype(np.float64))
    np.testing.assert_array_equal(words32, words64)
    assert count32 == count64
