"""Helpers of the window layers (convolution and pooling): attributes, padding, the sliding
window."""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedModelError
from ...ir import Node
from ...layers import FMPadding, SlidingWindow
from .values import IntV

__all__ = ["attr_pair", "pad_stage", "pad_value", "sliding_window"]


def attr_pair(node: Node, name: str, default) -> tuple[int, int]:
    """A two-element integer attribute (kernel_shape, strides, dilations)."""
    v = node.attrs.get(name, default)
    return int(v[0]), int(v[1])


def pad_value(lw, node: Node, x: IntV, what: str) -> int:
    """The integer code of 0.0 on stream ``x`` (what ONNX pads a Conv/AveragePool with)."""
    a, b = x.uniform()
    z = -b / a
    if x.dtype.is_bipolar or z != np.round(z) or not x.dtype.allowed([z]):
        raise UnsupportedModelError(
            f"{lw.where(node)}: {what} pads with 0.0, which this {x.dtype} stream "
            "cannot represent; remove the padding or use a signed/unsigned int quantizer"
        )
    return int(z)


def pad_stage(lw, node: Node, x: IntV, stream: str, hw: tuple, pads, value) -> tuple:
    """Add an FMPadding of ``x``'s channels on ``stream`` (a map of ``hw`` pixels); returns
    ``(stream, (h, w))`` after it."""
    pad = FMPadding(lw.uniq(f"{node.name}_pad"), x.dtype, hw, x.channels, pads, value)
    (stream,) = lw.add(pad, [stream])
    return stream, (pad.ofm_h, pad.ofm_w)


def sliding_window(lw, node: Node, x: IntV, hw: tuple, kernel, stride) -> SlidingWindow:
    """A SlidingWindow over ``x``'s channels on a map of ``hw`` pixels (not yet added)."""
    return SlidingWindow(lw.uniq(f"{node.name}_swu"), x.dtype, hw, x.channels, kernel, stride)
