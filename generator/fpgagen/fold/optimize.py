"""Folding optimiser: the cheapest balanced pipeline for a throughput target or a budget.

Throughput is set by the slowest layer, so for a target of ``T`` cycles per frame every layer
independently takes its cheapest folding with ``cycles <= T`` (ties go to the slower option,
which keeps the pipeline balanced: a layer is faster than needed only when that is free).
Cost is the layer's estimated resources normalised by the budget of the board (LUT, BRAM18,
URAM and DSP; the sum of the fractions). With no target, a bisection over the achievable
``T`` finds the highest throughput whose total (plumbing included) fits the utilisation cap.

The FINN-style baseline (:func:`greedy_fold`) increases SIMD up to its maximum and then PE,
layer by layer, until the target is met, as FINN's SetFolding does; the optimiser reaches the
same cycles with fewer resources because it searches every (PE, SIMD) pair with the cost
model (wide memories pack better into BRAM, SIMD and PE do not cost the same).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..cost.model import estimate, top_glue, total_lut_band
from ..errors import FpgagenError

__all__ = [
    "DEFAULT_CAP",
    "RESOURCE_KEYS",
    "Option",
    "UnreachableTarget",
    "cached_options",
    "fits",
    "greedy_fold",
    "layer_options",
    "optimize",
]

DEFAULT_CAP = 0.70
RESOURCE_KEYS = ("lut", "bram18", "uram", "dsp")


class UnreachableTarget(FpgagenError):
    """A cycles-per-frame target below what the fastest folding of the design reaches."""


@dataclass(frozen=True)
class Option:
    folding: tuple  # ((param, value), ...)
    cycles: int
    resources: tuple  # values for RESOURCE_KEYS (+ ff)
    #: weight memory style (``ram_style``) of a layer with weights whose style the optimiser
    #: chooses; None: the layer's own style is kept
    style: str | None = None
    #: LUTs the stitched top adds for this layer (cost.model.top_glue: per PE), counted with
    #: its LUTs in the cost, as fits() counts the design's glue
    glue: int = 0


def _budget(board, cap: float) -> dict:
    r = board.resources
    return {
        "lut": cap * r.lut,
        "bram18": cap * r.bram18,
        "uram": cap * r.uram,
        "dsp": cap * r.dsp,
        "ff": cap * r.ff,
    }


def _styles(layer) -> tuple:
    """Weight memory styles the optimiser tries for a layer whose style is free (``auto``, or
    chosen by an earlier run of the optimiser): ``auto`` and, if ``auto`` puts the weights in
    block RAM, ``distributed`` (LUTs) too. Wide, shallow weight memories of unrolled layers
    cost a BRAM18 per 36 bits of width in block RAM and fewer resources in LUTs. A style set
    by the user (folding file, URAM planning) is kept: ``(None,)``."""
    if not hasattr(layer, "weight_ram_style"):
        return (None,)
    if layer.ram_style != "auto" and not getattr(layer, "ram_style_by_optimizer", False):
        return (None,)
    saved = layer.ram_style
    layer.ram_style = "auto"
    try:
        block = layer.weight_ram_style == "block"
    finally:
        layer.ram_style = saved
    return ("auto", "distributed") if block else ("auto",)


def layer_options(layer) -> list:
    """Every folding of a layer with its cycles and resources (folding left unchanged)."""
    opts = layer.folding_options()
    if not opts:
        return []
    saved = layer.folding()
    saved_style = getattr(layer, "ram_style", None)
    out = []
    combos = [dict(zip(opts, vs)) for vs in itertools.product(*opts.values())]
    try:
        for c in combos:
            if not layer.folding_valid(**c):
                continue
            layer.set_folding(**c)
            styles = _styles(layer)
            for st in styles:
                if st is not None:
                    layer.ram_style = st
                r = estimate(layer)
                out.append(
                    Option(
                        tuple(sorted(c.items())),
                        int(layer.expected_cycles()),
                        tuple(int(r.get(k, 0)) for k in RESOURCE_KEYS + ("ff",)),
                        st,
                        top_glue([layer]),
                    )
                )
            if saved_style is not None:
                layer.ram_style = saved_style
    finally:
        layer.set_folding(**saved)
        if saved_style is not None:
            layer.ram_style = saved_style
    return out


def _cost(opt: Option, budget: dict) -> float:
    return sum(
        v / budget[k] if budget[k] else (0.0 if v == 0 else 1e9)
        for k, v in zip(RESOURCE_KEYS, (opt.resources[0] + opt.glue,) + opt.resources[1:])
    )


def _choose(options: dict, cycles: int, budget: dict) -> dict | None:
    """Per layer: cheapest option reaching ``cycles`` (ties: the slowest)."""
    pick = {}
    for name, opts in options.items():
        ok = [o for o in opts if o.cycles <= cycles]
        if not ok:
            return None
        pick[name] = min(ok, key=lambda o: (round(_cost(o, budget), 9), -o.cycles))
    return pick


def fits(totals: dict, board, cap: float) -> tuple[bool, str]:
    """Whether resource totals fit the cap; the limiting resource and its utilisation.

    LUTs count with the stitching glue and their uncertainty band (``totals["lut_glue"]``,
    ``totals["lut_band"]``, from :meth:`fpgagen.dataflow.Dataflow.total_resources`): the
    estimate plus glue plus band must fit, so a design the model cannot place within the
    budget with ~95% confidence is refused."""
    budget = _budget(board, cap)
    worst, frac = None, 0.0
    totals = dict(totals)
    totals["lut"] = totals.get("lut", 0) + totals.get("lut_glue", 0) + totals.get("lut_band", 0)
    for k in RESOURCE_KEYS + ("ff",):
        full = budget[k] / cap if cap else 0
        f = totals.get(k, 0) / full if full else (0.0 if totals.get(k, 0) == 0 else float("inf"))
        if f > frac:
            worst, frac = k, f
    return frac <= cap + 1e-12, f"{worst} {100 * frac:.1f}%"


def _apply(df, pick: dict) -> None:
    for l in df.layers:
        if l.name in pick:
            l.set_folding(**dict(pick[l.name].folding))
            if pick[l.name].style is not None:
                l.ram_style = pick[l.name].style
                l.ram_style_by_optimizer = True


def cached_options(layer, cache: dict | None) -> list:
    """:func:`layer_options` of ``layer``, memoised in ``cache`` (a dict the caller owns) per
    layer object and weight memory style: the options of a layer depend only on the layer and
    its ``ram_style`` (the weight-dependent ROM features make them costly to compute for big
    layers, and the weight placement search re-optimises after every move). ``cache=None``:
    no memo. The caller must not change a cached layer's weights or shapes."""
    if cache is None:
        return layer_options(layer)
    style = getattr(layer, "ram_style", None)
    if style == "auto" or getattr(layer, "ram_style_by_optimizer", False):
        style = "free"  # the optimiser tries the styles itself (_styles): same options
    key = (id(layer), style)
    hit = cache.get(key)
    if hit is None or hit[0] is not layer:
        hit = cache[key] = (layer, layer_options(layer))
    return hit[1]


def optimize(
    df,
    board,
    target_cycles: int | None = None,
    cap: float = DEFAULT_CAP,
    plumbing=None,
    options_cache: dict | None = None,
) -> dict:
    """Fold ``df`` (compute layers only; before FIFO/DWC insertion).

    ``plumbing(df) -> totals`` gives the full resource totals of a folded dataflow (FIFOs and
    DWCs included); without it only the compute layers count. ``options_cache``: a dict
    shared by repeated calls on the same dataflow (:func:`cached_options`). Returns a
    summary dict.
    """
    if not 0 < cap <= 1:
        raise FpgagenError(f"utilisation cap {cap} must be in (0, 1]")
    budget = _budget(board, cap)
    options = {l.name: cached_options(l, options_cache) for l in df.layers if l.folding_options()}
    options = {k: v for k, v in options.items() if v}

    def totals_for(pick):
        _apply(df, pick)
        if plumbing is not None:
            return plumbing(df)
        tot, luts = {}, []
        for l in df.layers:
            r = estimate(l)
            luts.append(r["lut"])
            for k, v in r.items():
                tot[k] = tot.get(k, 0) + v
        tot["lut_glue"] = top_glue(df.layers)
        tot["lut_band"] = total_lut_band(df.layers, luts)
        return tot

    slowest = max(max(o.cycles for o in opts) for opts in options.values())
    if target_cycles is not None:
        pick = _choose(options, target_cycles, budget)
        if pick is None:
            fastest = max(min(o.cycles for o in opts) for opts in options.values())
            raise UnreachableTarget(
                f"{df.name}: {target_cycles} cycles per frame cannot be reached; the fastest "
                f"folding needs {fastest} cycles per frame (limited by the layer "
                f"{_limiting(options, fastest)})"
            )
        if plumbing is not None:
            pick = _refine(df, options, pick, target_cycles, budget, plumbing)
        tot = totals_for(pick)
        ok, worst = fits(tot, board, cap)
        return {
            "cycles": max(o.cycles for o in pick.values()),
            "fits": ok,
            "limiting": worst,
            "totals": tot,
            "pick": pick,
        }
    # no target: the smallest T whose folding fits the budget. Fit is not monotone in T (the
    # FIFOs and width converters between layers depend on the neighbours' word widths), so
    # the bisection is followed by a descent while the next faster candidate fits, and the
    # search runs twice: over every option and over single-pixel options only (MMV = IPAR =
    # 1), keeping the faster result.
    single = {
        n: [o for o in opts if all(v == 1 for k, v in o.folding if k in ("MMV", "IPAR"))]
        for n, opts in options.items()
    }
    runs = [_search(options, budget, board, cap, totals_for, slowest)]
    if single != options:
        runs.append(_search(single, budget, board, cap, totals_for, slowest))
    found = [r for r in runs if r is not None]
    if not found:
        pick = _choose(options, slowest, budget)
        tot = totals_for(pick)
        ok, worst = fits(tot, board, cap)
        return {"cycles": slowest, "fits": ok, "limiting": worst, "totals": tot, "pick": pick}
    cyc, pick, tot, nxt, opts = min(found, key=lambda r: r[0])
    # what stops the next faster step: a layer's structure or the resource it would exceed
    if nxt is None:
        name = _limiting(opts, cyc)
        binding = _structure(df, opts, name)
    else:
        over = totals_for(_choose(opts, nxt, budget))
        binding = _resource(over, tot, board, cap, nxt)
    _apply(df, pick)
    return {
        "cycles": max(o.cycles for o in pick.values()),
        "fits": True,
        "limiting": binding["limiting"],
        "binding": binding,
        "totals": tot,
        "pick": pick,
    }


def _search(options, budget, board, cap, totals_for, slowest):
    """Bisection over the candidate cycle counts, then descent while the next faster one
    fits: ``(cycles, pick, totals, next faster candidate or None, options)`` or None."""
    cands = sorted({o.cycles for opts in options.values() for o in opts if o.cycles <= slowest})
    floor = max(min(o.cycles for o in opts) for opts in options.values())
    cands = [c for c in cands if c >= floor]

    def trial(i):
        pick = _choose(options, cands[i], budget)
        if pick is None:
            return None
        tot = totals_for(pick)
        return (pick, tot) if fits(tot, board, cap)[0] else None

    lo, hi = 0, len(cands) - 1
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        t = trial(mid)
        if t is not None:
            best = (mid, *t)
            hi = mid - 1
        else:
            lo = mid + 1
    if best is None:
        return None
    i, pick, tot = best
    while i > 0:
        t = trial(i - 1)
        if t is None:
            break
        i, (pick, tot) = i - 1, t
    return cands[i], pick, tot, (cands[i - 1] if i > 0 else None), options


def _structure(df, options: dict, name: str) -> dict:
    """The layer ``name`` is at its fastest folding: it binds by its structure."""
    layer = next(l for l in df.layers if l.name == name)
    saved = layer.folding()
    fastest = min(options[name], key=lambda o: o.cycles)
    layer.set_folding(**dict(fastest.folding))
    try:
        reason = layer.limit_reason()
    finally:
        layer.set_folding(**saved)
    return {
        "kind": "structure",
        "layer": name,
        "limiting": f"layer {name}",
        "detail": f"layer {name} ({layer.op_type}) at its fastest folding "
        f"{_fold_text(fastest.folding)}: {reason}",
    }


def _resource(over: dict, tot: dict, board, cap: float, cycles: int) -> dict:
    """The next faster step (``cycles``) needs ``over``: the resource most over the cap binds
    (named with its utilisation in the chosen design ``tot``)."""
    r = board.resources
    full = {"lut": r.lut, "bram18": r.bram18, "uram": r.uram, "dsp": r.dsp, "ff": r.ff}

    def with_band(t: dict) -> dict:  # LUTs as fits() counts them: + glue + band
        t = dict(t)
        t["lut"] = t.get("lut", 0) + t.get("lut_glue", 0) + t.get("lut_band", 0)
        return t

    over, tot = with_band(over), with_band(tot)
    frac = {
        k: over.get(k, 0) / full[k] if full[k] else (float("inf") if over.get(k) else 0.0)
        for k in full
    }
    k = max(frac, key=frac.get)
    used = tot.get(k, 0) / full[k] if full[k] else 0.0
    return {
        "kind": "resource",
        "resource": k,
        "limiting": f"{k} {100 * used:.1f}%",
        "detail": f"{k}: the next faster design ({cycles} cycles/frame) needs "
        f"{100 * frac[k]:.1f}% of the board's {k}, over the {100 * cap:g}% cap",
    }


def _fold_text(folding: tuple) -> str:
    return ",".join(f"{k}={v}" for k, v in folding) or "-"


def _total_cost(tot: dict, budget: dict) -> float:
    # LUTs with the stitching glue, as in _cost
    tot = {**tot, "lut": tot.get("lut", 0) + tot.get("lut_glue", 0)}
    return sum(
        tot.get(k, 0) / budget[k] if budget[k] else (0.0 if not tot.get(k) else 1e9)
        for k in RESOURCE_KEYS
    )


def _refine(df, options, pick, cycles, budget, plumbing, top: int = 4) -> dict:
    """Improve the per-layer choice with the plumbing in view (DWCs and FIFOs between layers
    depend on neighbouring foldings): one sweep of coordinate descent over each layer's
    cheapest alternatives, then the FINN-style greedy folding as one more candidate."""
    _apply(df, pick)
    best = _total_cost(plumbing(df), budget)
    for name, opts in options.items():
        ok = sorted(
            (o for o in opts if o.cycles <= cycles), key=lambda o: (_cost(o, budget), -o.cycles)
        )[:top]
        for o in ok:
            if o == pick[name]:
                continue
            trial = dict(pick, **{name: o})
            _apply(df, trial)
            c = _total_cost(plumbing(df), budget)
            if c < best - 1e-12:
                best, pick = c, trial
    _apply(df, pick)
    layers = {l.name: l for l in df.layers}
    saved = {n: layers[n].folding() for n in options}
    greedy_fold(df, cycles)
    g = {
        n: next(
            o
            for o in options[n]
            if dict(o.folding) == layers[n].folding()
            and o.style in (None, getattr(layers[n], "ram_style", None))
        )
        for n in options
    }
    if _total_cost(plumbing(df), budget) < best - 1e-12:
        return g
    for n, f in saved.items():
        layers[n].set_folding(**f)
    return pick


def _limiting(options: dict, cycles: int) -> str:
    for name, opts in options.items():
        if min(o.cycles for o in opts) == cycles:
            return name
    return "?"


def greedy_fold(df, target_cycles: int) -> None:
    """FINN-style SetFolding baseline: per layer, raise SIMD to its maximum, then PE."""
    for l in df.layers:
        opts = l.folding_options()
        if not opts:
            continue
        # innermost parameter first (SIMD before PE), each from its smallest value
        l.set_folding(**{p: v[0] for p, v in opts.items()})
        # multi-pixel parameters last: they only help once a layer is unrolled
        multi = [p for p in ("MMV", "IPAR") if p in opts]
        for param in [p for p in reversed(list(opts)) if p not in multi] + multi:
            done = False
            for v in opts[param]:
                if not l.folding_valid(**{param: v}):
                    continue
                l.set_folding(**{param: v})
                if l.expected_cycles() <= target_cycles:
                    done = True
                    break
            if done:
                break
