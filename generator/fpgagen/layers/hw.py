"""Backend-neutral hardware parameters of a layer.

:meth:`HWLayer.hw_params <fpgagen.layers.base.HWLayer.hw_params>` returns one ordered mapping of
neutral names to values; both backends render from it, so the Verilog parameters and the HLS
configuration struct of a layer cannot drift apart. Values are

* plain ints (widths, counts, folding, codes);
* :class:`Kind` — how a stream element is interpreted (the HLS ``fpgagen::KIND_*`` constant);
* :class:`SignedInt` — an int that the HLS configuration declares ``int`` (may be negative);
* :class:`Memory` — a parameter memory (weights, thresholds, multipliers): its packed words
  once, rendered as a ``.mem`` file by the RTL backend and as a ``static const`` table by the
  HLS backend.

Each layer class names which neutral values each backend takes and under which name
(``rtl_names`` / ``hls_names``: ``"NAME"`` or ``"BACKEND_NAME=neutral_name"``; the HLS backend
also accepts ``"NAME=memory.attr"`` for the chunking of a memory's table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..datatypes import DataType

__all__ = [
    "BitVector",
    "Kind",
    "Memory",
    "SignedInt",
    "dsp_per_product",
    "dtype_fields",
    "parse_names",
    "product_operands",
]


class Kind(str):
    """Interpretation of a stream element: ``"BIPOLAR"``, ``"SIGNED"`` or ``"UNSIGNED"``."""

    @classmethod
    def of(cls, dt: DataType) -> Kind:
        if dt.is_bipolar:
            return cls("BIPOLAR")
        return cls("SIGNED" if dt.signed else "UNSIGNED")


class SignedInt(int):
    """An integer parameter that may be negative (declared ``int``, not ``unsigned``, in C++)."""


@dataclass(frozen=True)
class Memory:
    """One parameter memory of a layer.

    ``words`` is the packed ``(depth, bytes)`` uint8 matrix (docs/conventions.md), or None when
    the layer runs without this memory (the RTL gets an empty file name, the HLS a one-line
    placeholder table). Each word of ``bits`` bits holds ``pe`` equal slices (PE ``p`` at bits
    ``[p*bits/pe +: bits/pe]``). ``style`` is ``"distributed"`` or ``"block"``. The file is
    ``<layer>_<name>.mem``.
    """

    name: str
    words: np.ndarray | None
    bits: int
    pe: int
    style: str = "distributed"

    def file(self, layer_name: str) -> str:
        return f"{layer_name}_{self.name}.mem"


@dataclass(frozen=True)
class BitVector:
    """A ``bits``-wide constant parameter, ``hex`` its value in hex digits (a Verilog sized
    literal ``bits'hhex``)."""

    bits: int
    hex: str

    def literal(self) -> str:
        """The sized Verilog literal ``bits'hhex`` (templates and Verilator's ``-G``)."""
        if (
            self.bits < 1
            or not self.hex
            or any(c not in "0123456789abcdefABCDEF" for c in self.hex)
        ):
            raise ValueError(f"bad bit-vector parameter {self!r}")
        return f"{self.bits}'h{self.hex}"


def dtype_fields(prefix: str, dt: DataType) -> dict:
    """``<prefix>_BITS``, ``_SIGNED``, ``_BIPOLAR`` and ``_KIND`` of an element type.

    SIGNED is 1 for two's complement values only (a BIPOLAR bit is unsigned 0/1 in hardware).
    """
    bip = dt.is_bipolar
    return {
        f"{prefix}_BITS": dt.bits,
        f"{prefix}_SIGNED": int(dt.signed and not bip),
        f"{prefix}_BIPOLAR": int(bip),
        f"{prefix}_KIND": Kind.of(dt),
    }


def parse_names(names) -> list[tuple[str, str]]:
    """``("A", "B=c")`` -> ``[("A", "A"), ("B", "c")]``: (backend name, neutral name)."""
    out = []
    for n in names:
        b, _, k = n.partition("=")
        out.append((b, k or b))
    return out


# ------------------------------------------------------------------------------------------
# the products of rtl/mvau.v and vvau.v, and how Yosys maps them (the cost model and the RTL
# choices of the layers both read them)
# ------------------------------------------------------------------------------------------
def product_operands(ind, wd) -> tuple:
    """(XE, WE, P_BITS, kind) of products of ``ind`` inputs by ``wd`` weights (rtl/mvau.v)."""
    ib, wb = ind.bits, wd.bits
    isg = ind.signed and not ind.is_bipolar
    wsg = wd.signed and not wd.is_bipolar
    xe, we = ib + (0 if isg else 1), wb + (0 if wsg else 1)
    if ind.is_bipolar and wd.is_bipolar:
        return xe, we, 1, "xnor"
    if ind.is_bipolar:
        return xe, we, wb + 1, "neg"
    if wd.is_bipolar:
        return xe, we, ib + 1, "neg"
    return xe, we, xe + we, "mul"


def dsp_per_product(a: int, b: int, y_bits: int | None = None) -> int:
    """DSP48E2 per signed a x b multiplier under Yosys' mul2dsp (27x18, >= 2x2, >= 9 bits).
    ``y_bits``: the bits of the product that are used (an MVAU's or VVAU's accumulator width):
    Yosys' ``wreduce`` narrows the product to them before ``mul2dsp``, which leaves a product
    of fewer than 9 bits to LUTs (every UINT4 x INT4 layer of the cost sets with an 8-bit
    accumulator, 5 of 5, has no DSP; every one with 9 bits or more has one per product)."""
    y = a + b if y_bits is None else min(a + b, y_bits)
    if a < 2 or b < 2 or y < 9:
        return 0
    a, b = max(a, b), min(a, b)
    if b > 18:
        return math.ceil(a / 26) * math.ceil(b / 17)
    return math.ceil(max(0, a - 27) / 17) + 1 if a > 27 else 1
