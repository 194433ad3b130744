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

from dataclasses import dataclass

import numpy as np

from ..datatypes import DataType

__all__ = ["Kind", "Memory", "SignedInt", "dtype_fields", "parse_names"]


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
