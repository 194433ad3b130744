"""fold.optimize against brute force on small networks: for a cycle target the per-layer
choice minimises the summed normalised cost over every combination of foldings; with no target
the bisection finds the fastest design that fits (a single binding resource); greedy_fold
reaches the target as FINN's SetFolding does."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from fpgagen.cost.model import estimate, top_glue, total_lut_band
from fpgagen.datatypes import BIPOLAR, int_type, uint_type
from fpgagen.fold.optimize import (
    RESOURCE_KEYS,
    _budget,
    _cost,
    greedy_fold,
    layer_options,
    optimize,
)
from fpgagen.fold.simple import fold_to_cycles
from fpgagen.layers import MVAU, Thresholding


def _board(lut=200_000, ff=400_000, bram18=600, uram=80, dsp=1_500):
    r = SimpleNamespace(lut=lut, ff=ff, bram18=bram18, uram=uram, dsp=dsp)
    return SimpleNamespace(name="toy", resources=r)


def _net(seed=0):
    """Three small layers with a few dozen foldings each (thousands of combinations)."""
    rng = np.random.default_rng(seed)
    m1 = MVAU("m1", rng.integers(-1, 2, (12, 8)), uint_type(2), int_type(2), num_vectors=4)
    m2 = MVAU("m2", rng.choice([-1, 1], (6, 12)), BIPOLAR, BIPOLAR, num_vectors=4)  # XNOR layer
    t = Thresholding(
        "t", np.sort(rng.integers(-8, 8, (6, 3)), axis=1), int_type(5), uint_type(2), num_vectors=4
    )
    return SimpleNamespace(name="net", layers=[m1, m2, t])


def _all_combos(df):
    opts = [layer_options(l) for l in df.layers]
    return list(itertools.product(*opts))


def _total(combo):
    return {k: sum(o.resources[i] for o in combo) for i, k in enumerate(RESOURCE_KEYS + ("ff",))}


@pytest.mark.parametrize("seed", [0, 1])
def test_target_mode_is_the_cheapest_combination(seed):
    df = _net(seed)
    board = _board()
    budget = _budget(board, 0.7)
    combos = _all_combos(df)
    assert len(combos) > 1000
    cycles = sorted({max(o.cycles for o in c) for c in combos})
    for target in (cycles[0], cycles[len(cycles) // 3], cycles[len(cycles) // 2], cycles[-1]):
        res = optimize(df, board, target, cap=0.7)
        got = sum(_cost(o, budget) for o in res["pick"].values())
        best = min(
            sum(_cost(o, budget) for o in c) for c in combos if max(o.cycles for o in c) <= target
        )
        assert got == pytest.approx(best, abs=1e-12), target
        assert res["cycles"] <= target
        # the layers are left folded as picked, and the estimate agrees with the options
        for l in df.layers:
            o = res["pick"][l.name]
            assert l.folding() == dict(o.folding) and l.expected_cycles() == o.cycles
            assert estimate(l)["lut"] == o.resources[0]


def test_budget_mode_is_the_fastest_design_that_fits():
    # LUT is the only scarce resource: the fastest folding whose LUT total plus its
    # uncertainty band (the margin the optimiser keeps, docs/cost_model.md) fits the cap
    df = _net(2)
    combos = _all_combos(df)

    def lut_with_band(c):
        # the stitching glue scales with the PEs of the combination's folding
        for l, o in zip(df.layers, c):
            l.set_folding(**dict(o.folding))
        luts = [o.resources[0] for o in c]
        return sum(luts) + top_glue(df.layers) + total_lut_band(df.layers, luts)

    luts = sorted(lut_with_band(c) for c in combos)
    for lut_budget in (luts[len(luts) // 4], luts[len(luts) // 2], luts[-1]):
        board = _board(lut=lut_budget, ff=10**9, bram18=10**6, uram=10**6, dsp=10**6)
        res = optimize(df, board, None, cap=1.0)
        fitting = [c for c in combos if lut_with_band(c) <= lut_budget]
        best = min(max(o.cycles for o in c) for c in fitting)
        assert res["fits"] and res["cycles"] == best, lut_budget
        t = res["totals"]
        assert t["lut"] + t["lut_glue"] + t["lut_band"] <= lut_budget


def test_unreachable_target_names_the_limiting_layer():
    df = _net(0)
    fastest = max(min(o.cycles for o in layer_options(l)) for l in df.layers)
    with pytest.raises(Exception, match=r"cannot be reached; the fastest folding needs"):
        optimize(df, _board(), fastest - 1)


@pytest.mark.parametrize("target", [1, 6, 24, 100])
def test_greedy_and_simple_reach_the_target_like_brute_force(target):
    """greedy_fold (SIMD first, then PE) and fold_to_cycles both meet any reachable target;
    fold_to_cycles uses the least PE x SIMD that does (brute force over every folding)."""
    for fold in (greedy_fold, fold_to_cycles):
        df = _net(0)
        fold(df, target)
        for l in df.layers:
            reach = [o for o in layer_options(l) if o.cycles <= target]
            if reach:
                assert l.expected_cycles() <= target, (fold.__name__, l.name)
            else:  # unreachable: the fastest folding
                assert l.expected_cycles() == min(o.cycles for o in layer_options(l))
            if fold is fold_to_cycles and reach:
                least = min(int(np.prod([v for _, v in o.folding])) for o in reach)
                assert int(np.prod(list(l.folding().values()))) == least
