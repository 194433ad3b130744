"""Integer data types of the hardware graph.

BIPOLAR is one bit (0 encodes -1, 1 encodes +1). TERNARY is {-1, 0, +1}, stored as INT2.
INTn is two's complement on n bits, UINTn unsigned on n bits. Values are always handled as
Python/numpy integers holding the *value* (e.g. -1 for a bipolar 0 bit); the bit encoding is
done only by :mod:`fpgagen.packing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import UnsupportedModelError

__all__ = ["BIPOLAR", "TERNARY", "DataType", "int_type", "smallest_int_type", "uint_type"]

_NAME_RE = re.compile(r"^(BIPOLAR|TERNARY|INT(\d+)|UINT(\d+))$")


@dataclass(frozen=True)
class DataType:
    """An integer data type: name, bit width and value range."""

    name: str

    def __post_init__(self):
        m = _NAME_RE.match(self.name)
        if not m:
            raise UnsupportedModelError(
                f"data type {self.name!r} is not supported; use BIPOLAR, TERNARY, INTn or UINTn"
            )
        n = m.group(2) or m.group(3)
        if n is not None and not 1 <= int(n) <= 64:
            raise UnsupportedModelError(f"data type {self.name!r}: bit width must be 1..64")
        if self.name == "INT1":
            raise UnsupportedModelError("data type INT1 is not supported; use BIPOLAR or UINT1")

    # -- properties -------------------------------------------------------------------------
    @property
    def bits(self) -> int:
        """Bits one element occupies in a stream or memory word."""
        if self.name == "BIPOLAR":
            return 1
        if self.name == "TERNARY":
            return 2
        return int(self.name.lstrip("UINT"))

    @property
    def signed(self) -> bool:
        """True when values can be negative (BIPOLAR, TERNARY, INTn)."""
        return not self.name.startswith("UINT")

    @property
    def is_bipolar(self) -> bool:
        return self.name == "BIPOLAR"

    @property
    def min(self) -> int:
        if self.name == "BIPOLAR":
            return -1
        if self.name == "TERNARY":
            return -1
        if self.signed:
            return -(1 << (self.bits - 1))
        return 0

    @property
    def max(self) -> int:
        if self.name in ("BIPOLAR", "TERNARY"):
            return 1
        if self.signed:
            return (1 << (self.bits - 1)) - 1
        return (1 << self.bits) - 1

    def allowed(self, values) -> bool:
        """True when every value is an integer this type can represent."""
        v = np.asarray(values)
        if v.size == 0:
            return True
        if not np.all(np.equal(np.round(v), v)):
            return False
        if self.name == "BIPOLAR":
            return bool(np.all((v == -1) | (v == 1)))
        return bool(v.min() >= self.min and v.max() <= self.max)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"DataType({self.name})"


BIPOLAR = DataType("BIPOLAR")
TERNARY = DataType("TERNARY")


def int_type(bits: int) -> DataType:
    return DataType(f"INT{bits}")


def uint_type(bits: int) -> DataType:
    return DataType(f"UINT{bits}")


def smallest_int_type(lo: int, hi: int) -> DataType:
    """The narrowest INTn/UINTn holding every integer in [lo, hi]."""
    lo, hi = int(lo), int(hi)
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    if lo >= 0:
        return uint_type(max(1, int(hi).bit_length()))
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return int_type(max(bits, 2))


def signed_bits_for(lo: int, hi: int) -> int:
    """Bits of the narrowest two's complement type holding [lo, hi] (at least 2)."""
    bits = 2
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits
