"""Where a layer's memories go: the RAM_STYLE of the RTL and the HLS storage binding.

Resources of the memories are estimated by :mod:`fpgagen.cost.model` (which maps them the way
Yosys does); this module only makes the style decision both backends are generated with.

Weight memory styles of the MVAU/VVAU (settable per layer as ``"ram_style"`` in the folding
file): ``auto`` (by size: LUTs up to :data:`LUTRAM_MAX_BITS`, else block RAM),
``distributed``, ``block``, ``ultra`` (UltraRAM) and ``external`` (no weight memory on chip:
the memory-mapped kernel streams the layer's weight words from a weight buffer in DDR, once
per input vector; docs/kernel.md "External weights"). UltraScale+ URAM288 has no
configuration-time initialisation, so an ``ultra`` weight memory is a RAM that the kernel
loads through the same weight streamer at the first start after a new weight address
(docs/kernel.md "Weights in UltraRAM"); :func:`uram_blocks` costs it. Both backends build
every style: the HLS kernel streams and loads the weights the same way (docs/hls.md).
"""

from __future__ import annotations

import math

from ..errors import FpgagenError

__all__ = [
    "EXTERNAL",
    "LUTRAM_MAX_BITS",
    "URAM_DEPTH",
    "URAM_WORD_BITS",
    "WEIGHT_STYLES",
    "check_board",
    "check_style",
    "memory_style",
    "uram_blocks",
]

#: up to this many bits a ROM/RAM is placed in LUTs (distributed memory)
LUTRAM_MAX_BITS = 4096
#: weight memory styles a folding file may set
WEIGHT_STYLES = ("auto", "distributed", "block", "ultra", "external")
#: styles whose weights are not in a memory initialised by the bitstream
EXTERNAL = "external"
#: one URAM288 block: 4096 words of 72 bits (its only aspect ratio on UltraScale+)
URAM_DEPTH = 4096
URAM_WORD_BITS = 72


def memory_style(depth: int, width: int, style: str = "auto") -> str:
    """``"distributed"``, ``"block"``, ``"ultra"`` or ``"external"``: an explicit style, or
    by size when ``"auto"`` (``auto`` never picks UltraRAM or external weights; the optimiser
    sets those explicitly)."""
    if style in ("distributed", "block", "ultra", "external"):
        return style
    return "distributed" if depth * width <= LUTRAM_MAX_BITS else "block"


def uram_blocks(depth: int, width: int) -> int:
    """URAM288 blocks of a ``depth x width`` memory: each word is packed into
    ``ceil(width / 72)`` side-by-side blocks (width cascade; the last one partly used, a
    word is never split over two addresses) and ``ceil(depth / 4096)`` blocks deep (depth
    cascade through the URAM288 cascade chain)."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(depth / URAM_DEPTH) * math.ceil(width / URAM_WORD_BITS)


def check_style(where: str, layer, style) -> str:
    """``style`` if it is a weight memory style, else a one-line :class:`FpgagenError`."""
    if style not in WEIGHT_STYLES:
        raise FpgagenError(
            f"{where}: layer {layer.name} ({layer.op_type}): ram_style {style!r} is not a "
            f"weight memory style; allowed: {', '.join(WEIGHT_STYLES)}"
        )
    return style


def check_board(dataflow, board) -> None:
    """Refuse ``ultra`` weight memories on a board without UltraRAM (one line)."""
    if board.resources.uram > 0:
        return
    for l in dataflow.layers:
        if getattr(l, "ram_style", None) == "ultra":
            raise FpgagenError(
                f"layer {l.name} ({l.op_type}): ram_style 'ultra' needs UltraRAM, but board "
                f"{board.name} has {board.resources.uram} URAM; use block, distributed or auto"
            )
