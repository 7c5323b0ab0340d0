"""Fixed-point words as the hls4ml IP sees them on its AXI stream, in vectorized numpy.

An ``ap_fixed<W,I,Q,O>`` value is a W-bit two's-complement integer ``k`` standing for
``k / 2**(W-I)``. Converting a float to it rounds (``Q``) and handles overflow (``O``) the way
Vivado HLS does:

- ``AP_RND_CONV``: round to nearest, ties to even (numpy's ``rint``); ``AP_RND``: ties toward
  +infinity; ``AP_TRN`` (the default): toward -infinity (floor).
- ``AP_SAT``: clip to the representable range; ``AP_WRAP`` (the default): keep the low W bits.

This module is used on the board (numpy only) and off it; it never imports TensorFlow or hls4ml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_AP_TYPE = re.compile(
    r"\s*ap_(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+))?\s*(?:,\s*(\w+))?.*>\s*"
)
_ROUNDING = {"AP_TRN", "AP_RND", "AP_RND_CONV"}
_OVERFLOW = {"AP_WRAP", "AP_SAT"}


@dataclass(frozen=True)
class FixedPoint:
    """One ap_fixed / ap_ufixed format and its float <-> word conversions."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    def __post_init__(self) -> None:
        if self.width not in (8, 16, 32):
            # AXI words are whole bytes; hls4ml rounds its I/O types up to them
            raise ValueError(f"AXI word width must be 8, 16 or 32 bits, not {self.width}")
        if self.rounding not in _ROUNDING or self.overflow not in _OVERFLOW:
            raise ValueError(f"unsupported modes {self.rounding}, {self.overflow}")

    @classmethod
    def parse(cls, text: str) -> FixedPoint:
        """From a C++ type such as ``ap_fixed<16,6,AP_RND_CONV,AP_SAT>``."""
        match = _AP_TYPE.fullmatch(text)
        if not match:
            raise ValueError(f"not an ap_fixed/ap_ufixed type: {text!r}")
        unsigned, width, integer, rounding, overflow = match.groups()
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
    def word_range(self) -> tuple[int, int]:
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    @property
    def value_range(self) -> tuple[float, float]:
        low, high = self.word_range
        return low / self.scale, high / self.scale

    def encode(self, x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Words for the floats ``x`` and how many values were out of range (saturated/wrapped).

        ``out`` (same shape, dtype :attr:`dtype`) receives the words when given, e.g. a DMA
        buffer, avoiding a copy.
        """
        x = np.asarray(x)
        # float32 inputs stay float32: scaling by a power of two and rounding are exact there
        # for 8- and 16-bit words; anything else is computed in float64
        work = np.float32 if x.dtype == np.float32 and self.width < 32 else np.float64
        ints = np.multiply(x, work(self.scale), dtype=work)
        if self.rounding == "AP_RND_CONV":
            np.rint(ints, out=ints)
        elif self.rounding == "AP_RND":
            np.floor(np.add(ints, work(0.5), out=ints), out=ints)
        else:
            np.floor(ints, out=ints)
        low, high = self.word_range
        out_of_range = int(np.count_nonzero(ints < low) + np.count_nonzero(ints > high))
        if self.overflow == "AP_SAT":
            np.clip(ints, low, high, out=ints)
        elif out_of_range:
            modulus = float(1 << self.width)
            ints = np.mod(ints.astype(np.float64) - low, modulus) + low
        if out is None:
            out = np.empty(ints.shape, dtype=self.dtype)
        out[...] = ints
        return out, out_of_range

    @property
    def float_dtype(self) -> np.dtype:
        """float32 holds every 8- and 16-bit word exactly; 32-bit words need float64."""
        return np.dtype(np.float64 if self.width == 32 else np.float32)

    def decode(self, words: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Floats for words, into ``out`` when given (a new array, never the buffer itself)."""
        words = np.asarray(words)
        if words.dtype != self.dtype:
            words = words.view(self.dtype)
        if out is None:
            out = np.empty(words.shape, dtype=self.float_dtype)
        np.multiply(words, out.dtype.type(1.0 / self.scale), out=out, casting="unsafe")
        return out

    def cpp(self) -> str:
        kind = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{kind}<{self.width},{self.integer},{self.rounding},{self.overflow}>"
