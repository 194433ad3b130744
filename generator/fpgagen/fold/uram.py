"""Weights in UltraRAM: the optimiser's choice when block RAM binds.

:func:`optimize_uram` runs :func:`fpgagen.fold.optimize.optimize`; while the result is limited
by BRAM18 (or does not fit because of it) and the board has UltraRAM, it moves the weight
memory of the MVAU/VVAU holding the most BRAM18 at the current folding to ``ram_style =
"ultra"`` (:mod:`fpgagen.layers.memory`) and optimises again. It keeps the best result (a fit
first, then the fewest cycles per frame, then the fewest URAM) and leaves the dataflow folded
and styled that way. A layer's URAM cost is ``ceil(depth/4096) * ceil(width/72)`` blocks for
every folding, so the optimiser trades folding for URAM exactly like for BRAM.

``ultra`` weight memories are built by the RTL backend (a URAM loaded by the kernel's
weight streamer, docs/kernel.md); :func:`optimize_weights` (``--weights``) adds external
weights streamed from DDR.
"""

from __future__ import annotations

from ..cost.model import estimate
from .optimize import DEFAULT_CAP, optimize

__all__ = ["WEIGHT_MODES", "optimize_uram", "optimize_weights"]


def _weight_bram(l) -> int:
    """BRAM18 of the layer's weight memory at its current folding (0 if not in BRAM)."""
    if getattr(l, "ram_style", None) in (None, "ultra") or l.weight_ram_style != "block":
        return 0
    saved = l.ram_style
    try:
        with_bram = estimate(l)["bram18"]
        l.ram_style = "ultra"
        without = estimate(l)["bram18"]
    finally:
        l.ram_style = saved
    return with_bram - without


def _key(res: dict) -> tuple:
    return (not res["fits"], res["cycles"], res["totals"].get("uram", 0))


def optimize_uram(
    df,
    board,
    target_cycles=None,
    cap: float = DEFAULT_CAP,
    plumbing=None,
    options_cache: dict | None = None,
) -> dict:
    """:func:`optimize` with weights moved to UltraRAM while BRAM binds (see module).

    The returned summary also has ``"uram_layers"``: the layers whose weights went to URAM.
    ``options_cache`` as in :func:`optimize` (one is made for this call if None).
    """
    cache = {} if options_cache is None else options_cache
    res = optimize(df, board, target_cycles, cap=cap, plumbing=plumbing, options_cache=cache)
    res["uram_layers"] = []
    if board.resources.uram <= 0:
        return res
    best = (res, {}, {l.name: l.folding() for l in df.layers})
    moved = {}
    while res["limiting"].startswith("bram18"):
        cand = max(df.layers, key=_weight_bram)
        if _weight_bram(cand) <= 0:
            break
        moved[cand.name] = cand.ram_style
        cand.ram_style = "ultra"
        cand.ram_style_by_optimizer = False  # planned here: the folding search keeps it
        res = optimize(df, board, target_cycles, cap=cap, plumbing=plumbing, options_cache=cache)
        if res["totals"].get("uram", 0) > cap * board.resources.uram and not res["fits"]:
            break
        if _key(res) < _key(best[0]):
            best = (res, dict(moved), {l.name: l.folding() for l in df.layers})
    res, keep, folding = best
    layers = {l.name: l for l in df.layers}
    for name, old in moved.items():
        if name not in keep:
            layers[name].ram_style = old
    for name, f in folding.items():
        if f:
            layers[name].set_folding(**f)
    res["uram_layers"] = sorted(keep)
    return res


#: ``--weights`` modes of :func:`optimize_weights`
WEIGHT_MODES = ("onchip", "uram", "external", "auto")


def _onchip_weight_bits(l) -> int:
    """Bits of the layer's weight memory if it is on chip in BRAM, URAM or LUTs (0 otherwise)."""
    if getattr(l, "ram_style", None) is None:
        return 0
    if l.weight_ram_style not in ("block", "ultra", "distributed"):
        return 0
    ws = l.weight_stream()
    return ws["word_bits"] * ws["words"]


def optimize_weights(
    df,
    board,
    target_cycles=None,
    cap: float = DEFAULT_CAP,
    plumbing=None,
    mode: str = "auto",
    rate=None,
    options_cache: dict | None = None,
) -> dict:
    """Where the weights go, by the cost model (``--weights``): ``onchip`` (plain
    :func:`optimize`), ``uram`` (:func:`optimize_uram`), ``external`` (while block RAM or
    UltraRAM or LUTs bind, the largest on-chip weight memory streams from DDR instead, until
    two moves in a row bring nothing) or ``auto``
    (UltraRAM first where the board has it, then external). Keeps the best result: a fit first,
    then the highest ``rate(summary)`` (frames per second of the dataflow as it is folded and
    styled, e.g. the roofline's predicted fps, where the external weights' bandwidth counts),
    or without ``rate`` the fewest cycles per frame. Returns the summary with
    ``"uram_layers"`` and ``"external_layers"``. ``options_cache`` as in :func:`optimize` (one
    is made for this call if None)."""
    cache = {} if options_cache is None else options_cache
    kw = {"cap": cap, "plumbing": plumbing, "options_cache": cache}
    if mode == "onchip":
        res = optimize(df, board, target_cycles, **kw)
        return {**res, "uram_layers": [], "external_layers": []}
    if mode in ("uram", "auto"):
        res = optimize_uram(df, board, target_cycles, **kw)
    else:
        res = optimize(df, board, target_cycles, **kw)
        res["uram_layers"] = []
    if mode == "uram":
        res["external_layers"] = []
        return res

    def key(r):
        return (not r["fits"], -rate(r) if rate is not None else r["cycles"])

    best = (res, {}, {l.name: l.folding() for l in df.layers}, key(res))
    moved = {}
    misses = 0
    while misses < 2 and (res["limiting"].startswith(("bram18", "uram", "lut")) or not res["fits"]):
        cand = max(df.layers, key=_onchip_weight_bits)
        if _onchip_weight_bits(cand) <= 0:
            break
        moved[cand.name] = cand.ram_style
        cand.ram_style = "external"
        cand.ram_style_by_optimizer = False  # planned here: the folding search keeps it
        res = optimize(df, board, target_cycles, **kw)
        k = key(res)
        if k < best[3]:
            best = (res, dict(moved), {l.name: l.folding() for l in df.layers}, k)
            misses = 0
        else:
            misses += 1
    res, keep, folding, _ = best
    layers = {l.name: l for l in df.layers}
    for name, old in moved.items():
        if name not in keep:
            layers[name].ram_style = old
    for name, f in folding.items():
        if f:
            layers[name].set_folding(**f)
    res["uram_layers"] = sorted(
        l.name for l in df.layers if getattr(l, "ram_style", None) == "ultra"
    )
    res["external_layers"] = sorted(keep)
    return res
