"""Base class of hardware layers.

A hardware layer is one streaming stage of the dataflow accelerator. It knows its shapes,
folded shapes, stream widths and data types, executes bit-exactly on integer numpy arrays
(the golden model), and states its expected cycles and resources. Cost methods are abstract:
a layer that cannot estimate itself is an error, never a silent zero.
"""

from __future__ import annotations

import abc
import re

import numpy as np

from ..datatypes import DataType
from ..errors import FoldingError

__all__ = ["HWLayer", "check_identifier"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a safe identifier for C++, Verilog, Tcl and paths."""
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return name


def sanitize(name: str) -> str:
    """Turn an arbitrary ONNX name into a safe identifier."""
    s = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", name)).strip("_")
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = "n_" + s
    return s


class HWLayer(abc.ABC):
    """One streaming hardware stage.

    Streams carry ``num_vectors`` vectors of ``in_channels`` elements per frame (NHWC order:
    one vector per pixel). Words carry ``in_elems`` / ``out_elems`` elements.
    """

    op_type: str = "HWLayer"
    #: Verilog module implementing the layer (file rtl/<rtl_module>.v)
    rtl_module: str = ""

    def __init__(self, name: str):
        self.name = check_identifier(name)

    # -- shapes and types ------------------------------------------------------------------
    in_dtype: DataType
    out_dtype: DataType
    num_vectors: int = 1

    @property
    @abc.abstractmethod
    def in_channels(self) -> int: ...

    @property
    @abc.abstractmethod
    def out_channels(self) -> int: ...

    @property
    @abc.abstractmethod
    def in_elems(self) -> int:
        """Elements per input word."""

    @property
    @abc.abstractmethod
    def out_elems(self) -> int:
        """Elements per output word."""

    @property
    def in_width(self) -> int:
        return self.in_elems * self.in_dtype.bits

    @property
    def out_width(self) -> int:
        return self.out_elems * self.out_dtype.bits

    def in_vectors(self) -> int:
        """Input vectors (pixels) per frame; differs from ``num_vectors`` for window layers."""
        return self.num_vectors

    @property
    def in_words_per_frame(self) -> int:
        return self.in_vectors() * self.in_channels // self.in_elems

    @property
    def out_words_per_frame(self) -> int:
        return self.num_vectors * self.out_channels // self.out_elems

    #: stream ports of the RTL module: input prefixes, output prefixes
    in_ports: tuple = ("s_axis",)
    out_ports: tuple = ("m_axis",)

    # -- behaviour ---------------------------------------------------------------------------
    @abc.abstractmethod
    def execute(self, x: np.ndarray) -> np.ndarray:
        """Golden model: ``(batch, in_vectors, in_channels)`` int64 -> output values."""

    def execute_reference(self, x: np.ndarray) -> np.ndarray:
        """Golden model in plain int64 arithmetic, the specification :meth:`execute` must
        meet value for value (layers with a faster :meth:`execute` override this)."""
        return np.asarray(self.execute(np.asarray(x, dtype=np.int64)), dtype=np.int64)

    def execute_streams(self, xs: list) -> list:
        """Golden model on all input streams -> all output streams (flat ``(batch, -1)``)."""
        (x,) = xs
        n = x.shape[0]
        y = self.execute(x.reshape(n, self.in_vectors(), self.in_channels))
        return [np.asarray(y).reshape(n, -1)]

    # -- costs -------------------------------------------------------------------------------
    @abc.abstractmethod
    def expected_cycles(self) -> int:
        """Cycles per frame in steady state."""

    # -- folding -----------------------------------------------------------------------------
    #: single folding parameter of the layer ("PE" or "SIMD"), stored in ``self.pe`` /
    #: ``self.simd``; it must divide :meth:`fold_total`. Layers with several parameters
    #: (MVAU) override the three folding methods.
    fold_param: str | None = None
    #: what :meth:`fold_total` counts, for error messages
    fold_what: str = "channels"

    def fold_total(self) -> int:
        return self.ch

    def folding(self) -> dict:
        """Current folding parameters (e.g. {"PE": 4, "SIMD": 8})."""
        if self.fold_param is None:
            return {}
        return {self.fold_param: getattr(self, self.fold_param.lower())}

    def folding_options(self) -> dict:
        """Allowed values of each folding parameter."""
        if self.fold_param is None:
            return {}
        return {self.fold_param: divisors(self.fold_total())}

    def set_folding(self, **kw) -> None:
        p = self.fold_param
        unknown = sorted(k for k in kw if k != p)
        if unknown:
            raise FoldingError(
                f"layer {self.name} ({self.op_type}) has no folding parameters "
                f"{unknown}; allowed: {p or 'none'}"
            )
        if p is not None and kw.get(p) is not None:
            check_divides(self, p, kw[p], self.fold_total(), self.fold_what)
            setattr(self, p.lower(), int(kw[p]))

    def resources(self) -> dict:
        """Resource estimate (lut, ff, bram18, uram, dsp) from the calibrated cost model
        (docs/cost_model.md); an unknown layer type is an error, never a silent zero."""
        from ..cost.model import estimate

        return estimate(self)

    # -- backends ----------------------------------------------------------------------------
    @abc.abstractmethod
    def rtl_params(self, mem_dir: str) -> dict:
        """Verilog parameters of the layer's module; memory files live in ``mem_dir``."""

    def write_memories(self, outdir) -> list:
        """Write memory initialisation files; returns their paths."""
        return []

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.op_type,
            "in_dtype": str(self.in_dtype),
            "out_dtype": str(self.out_dtype),
            "in_shape": [self.in_vectors(), self.in_channels],
            "out_shape": [self.num_vectors, self.out_channels],
            "in_width": self.in_width,
            "out_width": self.out_width,
            "folding": self.folding(),
            "expected_cycles": int(self.expected_cycles()),
            "resources": self.resources(),
        }


def divisors(n: int) -> list:
    return [d for d in range(1, n + 1) if n % d == 0]


def check_divides(layer: HWLayer, pname: str, value, total: int, what: str) -> None:
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or value < 1
        or total % value
    ):
        raise FoldingError(
            f"layer {layer.name} ({layer.op_type}): {pname}={value!r} does not divide "
            f"{what}={total}; allowed: {divisors(total)}"
        )


def thresholds_apply(
    acc: np.ndarray, thresholds: np.ndarray, out_bias: int, out_dtype: DataType
) -> np.ndarray:
    """Multi-threshold activation: ``out_bias + #{k : acc >= T[c, k]}`` per channel.

    ``acc`` has channels on its last axis; ``thresholds`` is ``(channels, n_thresholds)``.
    For a BIPOLAR output the count (0 or 1) becomes the value -1 or +1.
    """
    cnt = (acc[..., None] >= thresholds).sum(axis=-1).astype(np.int64)
    if out_dtype.is_bipolar:
        return 2 * cnt - 1
    return cnt + out_bias
