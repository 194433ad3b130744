"""What lowering knows about a tensor: a host float (:class:`FloatV`) or an integer stream
with the float function that gives the ONNX tensor from it (:class:`IntV`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...datatypes import DataType
from ...layers import MVAU, VVAU

__all__ = ["FloatV", "IntV"]


@dataclass
class FloatV:
    """A float tensor on the host, before the first quantizer (input pre-processing)."""

    shape: tuple


@dataclass
class IntV:
    """An integer stream ``q`` and its float image ``post(float32(a * q + b))``.

    ``a, b`` are per channel; ``post`` is a list of elementwise ONNX nodes whose tensor input is
    named ``"__x__"``, evaluated exactly as ONNX does. Feature maps are NCHW in ONNX and travel
    NHWC in hardware: a shape ``(1, C, H, W)`` is a stream of ``H*W`` vectors of ``C`` channels.
    """

    src: object  # "head", "dup" or the HWLayer producing the stream
    stream: str  # name of the stream carrying q
    dtype: DataType  # type of the stream elements
    shape: tuple  # ONNX shape, (1, C) or (1, C, H, W)
    lo: np.ndarray  # per-channel integer range of the stream values
    hi: np.ndarray
    a: np.ndarray  # per-channel float64 affine from integers to float
    b: np.ndarray
    post: list = field(default_factory=list)  # elementwise nodes (inputs: "__x__" + consts)
    direction: np.ndarray | None = None  # +1/-1 per channel: monotonic direction of post
    perm: np.ndarray | None = None  # flattened maps: ONNX feature index of each stream element
    pools: list = field(default_factory=list)  # max-pools deferred until after thresholds

    @property
    def channels(self) -> int:
        return int(self.shape[1])

    @property
    def spatial(self) -> tuple:
        return tuple(int(s) for s in self.shape[2:])

    @property
    def num_vectors(self) -> int:
        return int(np.prod(self.shape[2:], dtype=np.int64)) if len(self.shape) > 2 else 1

    @property
    def pending(self) -> bool:
        """True when the stream is a raw MVAU/VVAU accumulator that can still take thresholds."""
        return isinstance(self.src, (MVAU, VVAU)) and self.src.thresholds is None

    @property
    def quantized(self) -> bool:
        """A plain de-quantized stream: no pending accumulator, no elementwise ops."""
        return not self.pending and not self.post and not self.pools

    def uniform(self) -> tuple[float, float] | None:
        """``(a, b)`` when they are the same for every channel, else None."""
        a, b = np.unique(self.a), np.unique(self.b)
        return (float(a[0]), float(b[0])) if a.size == 1 and b.size == 1 else None
