"""Where a layer's memories go: the RAM_STYLE of the RTL and the HLS storage binding.

Resources of the memories are estimated by :mod:`fpgagen.cost.model` (which maps them the way
Yosys does); this module only makes the style decision both backends are generated with.
"""

from __future__ import annotations

__all__ = ["LUTRAM_MAX_BITS", "memory_style"]

#: up to this many bits a ROM/RAM is placed in LUTs (distributed memory)
LUTRAM_MAX_BITS = 4096


def memory_style(depth: int, width: int, style: str = "auto") -> str:
    """``"distributed"`` or ``"block"``: an explicit style, or by size when ``"auto"``."""
    if style in ("distributed", "block"):
        return style
    return "distributed" if depth * width <= LUTRAM_MAX_BITS else "block"
