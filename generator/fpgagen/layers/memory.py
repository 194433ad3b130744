"""Memory cost helpers shared by layer resource estimates."""

from __future__ import annotations

import math

#: (depth, width) aspect ratios of one RAMB18E2 in simple dual-port mode.
BRAM18_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))

#: below this many bits a ROM/RAM is placed in LUTs (distributed memory)
LUTRAM_MAX_BITS = 4096


def bram18_count(depth: int, width: int) -> int:
    """RAMB18 blocks for a ``depth x width`` memory (best aspect ratio)."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in BRAM18_SHAPES)


def lutram_luts(depth: int, width: int) -> int:
    """LUTs of a distributed memory: one LUT6 holds 64x1 bits (RAM64X1D uses 2 for SDP)."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(depth / 64) * width


def memory_cost(depth: int, width: int, style: str = "auto") -> dict:
    """Resources of a memory given a style: auto, distributed or block."""
    bits = depth * width
    if style == "distributed" or (style == "auto" and bits <= LUTRAM_MAX_BITS):
        return {"lut": lutram_luts(depth, width), "bram18": 0, "style": "distributed"}
    return {"lut": 0, "bram18": bram18_count(depth, width), "style": "block"}
