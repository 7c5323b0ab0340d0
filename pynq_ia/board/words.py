"""The words the hls4ml IP reads and writes on its AXI streams, in vectorized numpy.

Two kinds of word cross the DMA:

- **fixed point**, ``ap_fixed<W,I,Q,O>`` / ``ap_ufixed<...>``: a W-bit integer ``k`` standing
  for ``k / 2**(W-I)``. The course's designs use 16-bit words.
- **float**: hls4ml's default AXI type, a 32-bit IEEE float (the original project's overlays).

:func:`word_format` reads either from its C++ name. Encoding floats to fixed-point words follows
the conversion of Vivado HLS' ``ap_fixed`` exactly (a test compares it with the C++ headers on
ties, their neighbours, float32 and float64 inputs and values far out of range):

- rounding ``Q``: ``AP_TRN`` (the default: toward -infinity), ``AP_TRN_ZERO`` (toward zero), or
  to the nearest step with ties going to +infinity (``AP_RND``), toward zero (``AP_RND_ZERO``),
  to -infinity (``AP_RND_MIN_INF``), away from zero (``AP_RND_INF``) or to even (``AP_RND_CONV``);
- overflow ``O``: ``AP_WRAP`` (the default: keep the low W bits), ``AP_SAT`` (clip),
  ``AP_SAT_ZERO`` (out of range becomes 0), ``AP_SAT_SYM`` (clip to +-max).

Other modes (``AP_WRAP_SM``, a nonzero saturation-bit count) are refused rather than guessed.
This module runs on the board: numpy and the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_AP_TYPE = re.compile(
    r"\s*ap_(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?(?:,\s*(\d+)\s*)?>\s*"
)
ROUNDING_MODES = (
    "AP_TRN",
    "AP_TRN_ZERO",
    "AP_RND",
    "AP_RND_ZERO",
    "AP_RND_MIN_INF",
    "AP_RND_INF",
    "AP_RND_CONV",
)
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")
#: AXI words are whole bytes; hls4ml rounds its I/O types up to them
WORD_WIDTHS = (8, 16, 32)


class _Words:
    """What every word format shares: words back to floats."""

    dtype: np.dtype
    float_dtype: np.dtype
    scale: float

    def decode(self, words: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Floats for words, into ``out`` when given (a new array, never the buffer itself)."""
        words = np.asarray(words)
        if words.dtype != self.dtype:
            words = words.view(self.dtype)
        if out is None:
            out = np.empty(words.shape, dtype=self.float_dtype)
        np.multiply(words, out.dtype.type(1.0 / self.scale), out=out, casting="unsafe")
        return out


@dataclass(frozen=True)
class FixedPoint(_Words):
    """One ap_fixed / ap_ufixed word format and its exact float <-> word conversions."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    def __post_init__(self) -> None:
        if self.width not in WORD_WIDTHS:
            raise ValueError(f"AXI word width must be 8, 16 or 32 bits, not {self.width}")
        if self.rounding not in ROUNDING_MODES:
            raise ValueError(
                f"rounding mode {self.rounding} is not supported; use one of {ROUNDING_MODES}"
            )
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(
                f"overflow mode {self.overflow} is not supported; use one of {OVERFLOW_MODES}"
            )

    @classmethod
    def parse(cls, text: str) -> FixedPoint:
        """From a C++ type such as ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>`` (or ``...,AP_SAT,0>``)."""
        match = _AP_TYPE.fullmatch(text)
        if not match:
            raise ValueError(f"not an ap_fixed/ap_ufixed type: {text!r}")
        unsigned, width, integer, rounding, overflow, saturation_bits = match.groups()
        if saturation_bits not in (None, "0"):
            raise ValueError(f"{text}: saturation bits other than 0 are not supported")
        return cls(
            int(width), int(integer), not unsigned, rounding or "AP_TRN", overflow or "AP_WRAP"
        )

    @property
    def fractional(self) -> int:
        return self.width - self.integer

    @property
    def scale(self) -> float:
        return float(2.0**self.fractional)

    @property
    def dtype(self) -> np.dtype:
        """The numpy type of one word in a DMA buffer."""
        return np.dtype(f"{'i' if self.signed else 'u'}{self.width // 8}")

    @property
    def float_dtype(self) -> np.dtype:
        """float32 holds every 8- and 16-bit word exactly; 32-bit words need float64."""
        return np.dtype(np.float64 if self.width == 32 else np.float32)

    @property
    def word_range(self) -> tuple[int, int]:
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    @property
    def value_range(self) -> tuple[float, float]:
        low, high = self.word_range
        return low / self.scale, high / self.scale

    def _round(self, scaled: np.ndarray, work: type) -> np.ndarray:
        """``scaled`` (exactly x * 2**F) rounded to integers, in place where possible."""
        if self.rounding == "AP_RND_CONV":
            return np.rint(scaled, out=scaled)
        if self.rounding == "AP_TRN_ZERO":
            return np.trunc(scaled, out=scaled)
        floor = np.floor(scaled)
        if self.rounding == "AP_TRN":
            return floor
        # Compare with floor + 1/2 instead of adding 1/2 (which rounds in floating point): both
        # sides are exact as long as |floor| < 2**(mantissa bits); beyond, values are integers.
        half = floor + work(0.5)
        above = scaled > half
        tie = (scaled == half) & (np.abs(floor) < work(2.0 ** np.finfo(work).nmant))
        if self.rounding == "AP_RND":  # ties toward +infinity
            up = above | tie
        elif self.rounding == "AP_RND_MIN_INF":  # ties toward -infinity
            up = above
        elif self.rounding == "AP_RND_ZERO":  # ties toward zero
            up = above | (tie & (floor < 0))
        else:  # AP_RND_INF: ties away from zero
            up = above | (tie & (floor >= 0))
        return np.add(floor, up, out=floor)

    def encode(self, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Words for the finite floats ``x``, and how many values were out of range.

        ``out`` (same shape, dtype :attr:`dtype`) receives the words when given, e.g. a DMA
        buffer, avoiding a copy.
        """
        x = np.asarray(x)
        # Scaling by a power of two, floor, rint and comparisons are exact in float32 as long as
        # the words fit its 24-bit mantissa (8- and 16-bit words); anything else works in float64.
        work = np.float32 if x.dtype == np.float32 and self.width < 32 else np.float64
        with np.errstate(over="ignore"):  # a value too large to scale is out of range anyway
            ints = self._round(np.multiply(x, work(self.scale), dtype=work), work)
        low, high = self.word_range
        if self.overflow == "AP_SAT_SYM" and self.signed:
            low = -high  # the symmetric range leaves out the most negative word
        below, above = ints < low, ints > high
        out_of_range = int(np.count_nonzero(below) + np.count_nonzero(above))
        if out_of_range:
            if self.overflow in ("AP_SAT", "AP_SAT_SYM"):
                np.clip(ints, low, high, out=ints)
            elif self.overflow == "AP_SAT_ZERO":
                ints[below | above] = 0
            else:  # AP_WRAP: the low W bits, exactly (fmod is exact; no offset is added first)
                modulus = work(2.0**self.width)
                with np.errstate(invalid="ignore"):
                    ints = np.mod(ints, modulus)
                # a value so large that scaling overflowed has all its low bits zero
                ints[~np.isfinite(ints)] = 0
                if self.signed:
                    ints[ints > high] -= modulus
        if out is None:
            out = np.empty(ints.shape, dtype=self.dtype)
        out[...] = ints
        return out, out_of_range

    def cpp(self) -> str:
        kind = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{kind}<{self.width},{self.integer},{self.rounding},{self.overflow}>"


@dataclass(frozen=True)
class FloatWord(_Words):
    """hls4ml's default AXI word: a 32-bit IEEE float, sent as it is."""

    width: int = 32
    scale = 1.0

    def __post_init__(self) -> None:
        if self.width != 32:
            raise ValueError("only 32-bit float AXI words are supported")

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    float_dtype = dtype

    def encode(self, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """float32 words for ``x``; counts values too large for float32 (they become inf)."""
        x = np.asarray(x)
        if out is None:
            out = np.empty(x.shape, dtype=np.float32)
        with np.errstate(over="ignore"):
            out[...] = x
        overflowed = 0 if x.dtype == np.float32 else int(np.count_nonzero(np.isinf(out)))
        return out, overflowed

    def cpp(self) -> str:
        return "float"


WordFormat = FixedPoint | FloatWord


def word_format(text: str) -> WordFormat:
    """The word format of a C++ AXI type: ``float`` or an ``ap_fixed``/``ap_ufixed``."""
    if text.strip() == "float":
        return FloatWord()
    if text.strip() == "double":
        raise ValueError("64-bit double AXI words are not supported: use float or ap_fixed")
    return FixedPoint.parse(text)
