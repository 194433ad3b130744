"""The sub-block tables of the cost model (benchmarks/cost/blocks.py): how Yosys runs of the
blocks become the per-PE figures of generator/fpgagen/cost/_blocks.py."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "cost"))

import blocks


def _run(spec: dict, lut: int, bram18: int = 0) -> dict:
    return {"spec": spec, "yosys": {"lut": lut, "bram18": bram18}}


def test_comparator_tables_hold_the_slope_of_two_pe_counts():
    """A comparator block measured at two PE counts gives the LUTs of one more PE, one measured
    once its LUTs per PE; the slope's second run is not a table entry of its own, nor is a
    soft-ROM block that Yosys mapped to block RAM. What a soft-ROM block's PEs share (its
    intercept beyond the 2-word blocks', which is the counter and skid control that the layers
    count themselves) is a table of its own."""
    soft = {"block": "act", "mode": "soft", "bits": 4, "n": 3, "depth": 2}
    fold = {"block": "fold", "bits": 8, "n": 1, "depth": 64}
    const = {"block": "act", "mode": "const", "bits": 6, "n": 7}
    data = {
        "designs": {
            "a": _run({**soft, "id": "a", "pe": 2}, 13),
            "b": _run({**soft, "id": "b", "pe": 6}, 29),
            "c": _run({**fold, "id": "c", "pe": 2}, 38),
            "d": _run({**const, "id": "d", "pe": 8}, 100),
            # a soft ROM that Yosys put in block RAM is no soft-ROM figure
            "e": _run({**fold, "id": "e", "depth": 256, "pe": 2}, 40, bram18=2),
            # an 8-word ROM whose address logic the PEs share: 20 LUTs of intercept, 15 beyond
            # the 2-word block's 5
            "f": _run({**soft, "id": "f", "depth": 8, "pe": 2}, 60),
            "g": _run({**soft, "id": "g", "depth": 8, "pe": 6}, 140),
        }
    }
    t = blocks.tables(data)
    assert t["act_soft"] == {4: {3: {2: pytest.approx((29 - 13) / 4), 8: pytest.approx(20)}}}
    # the 8-word block's intercept less the columns its PEs have in common (D0), at its LUTs
    # per column (no `rom` comparator block here: all 20 LUTs per PE are its m columns')
    # (the 2-word block's own, less its own common columns, is the control both subtract)
    m, d0, _bits = blocks.marginal_columns(data["designs"]["f"]["spec"])
    _m2, d02, _bits = blocks.marginal_columns(data["designs"]["a"]["spec"])
    assert m >= blocks.COLUMN_MIN and d0 > 0
    col = t["act_soft_col"]
    assert col[8] == pytest.approx(20 / m, abs=1e-3) and col[2] == col[8]
    shared = 15 - col[8] * d0 + col[2] * d02
    assert t["act_soft_fix"] == {4: {3: {2: pytest.approx(0), 8: pytest.approx(shared, abs=0.05)}}}
    assert t["act_fold_fix"] == {}  # one PE count: no intercept
    assert t["act_fold"] == {8: {1: {64: pytest.approx(38 / 2)}}}
    assert t["act"]["const"] == {6: {7: pytest.approx(100 / 8)}}
    # the distinct varying columns one more PE adds, as a fraction of its ROM bits: none at 2
    # words (a column is the address bit or its inverse, both there at 2 PEs)
    assert t["act_soft_var"][4][3][2] == 0 and 0 < t["act_fold_var"][8][1][64] <= 1


def test_slope_runs_are_in_the_grid():
    """Every small comparator block has its second PE count in the grid, with its own id."""
    grid = {s["id"]: s for s in blocks.designs("soft")}
    lo = grid["act_soft_b4_n3_d2"]
    hi = grid[f"act_soft_b4_n3_d2_p{blocks.SLOPE_PE['soft']}"]
    assert hi["pe"] > lo["pe"] and {**hi, "id": lo["id"], "pe": lo["pe"]} == lo


def test_threshold_rom_costs_by_distinct_columns_at_more_pes():
    """The ``fold`` blocks measured again at 24 and 48 PEs (``blocks.py --only pe``): an
    8-word ROM has at most 256 different bit columns, so that at many PEs most repeat and its
    LUTs per PE fall (7-bit values, 3 thresholds: 39.5 per PE at 2 PEs, 23.3 at 48), where a
    32- or 64-word ROM's do not. The model, from the blocks' first two PE counts and the
    layer's own distinct columns (fpgagen.cost.model.threshold_columns), follows both to
    within 16% (counting varying columns, it was 42% high on the 8-word ROMs at 48 PEs)."""
    from fpgagen.cost import model

    checks = [r for r in blocks._load()["designs"].values() if r["spec"].get("check")]
    assert len(checks) == len(blocks.PE_CHECK_POINTS) * len(blocks.PE_CHECK)
    worst = 0.0
    for r in checks:
        s, y = r["spec"], r["yosys"]["lut"]
        b, n, d, pe = s["bits"], s["n"], s["depth"], s["pe"]
        cols, _bits = blocks.rom_columns(s, pe)
        # the block's control besides the comparators and the ROM (counter, valid, skid): 6
        est = pe * model.act_soft_luts(n, b + 1, d, cols / pe, "act_out", pe) + 6
        worst = max(worst, abs(est - y) / y)
    assert worst <= 0.16, worst


def test_rom_fed_tables_hold_each_pe_count():
    """A ROM-fed block (``rdot``) measured at 4, 12 and 32 PEs gives its LUTs per PE at each,
    its fixed part included (products the PEs share, which a layer of as many PEs shares
    too), not the slope; a wide block measured at 4 PEs only gives that one figure."""
    small = {"block": "rdot", "in": "INT2", "w": "TERNARY", "depth": 2, "simd": 4}
    wide = {**small, "simd": 16}
    data = {
        "designs": {
            "a": _run({**small, "id": "a", "pe": 4}, 81),
            "b": _run({**small, "id": "b", "pe": 12}, 179),
            "c": _run({**small, "id": "c", "pe": 32}, 407),
            "d": _run({**wide, "id": "d", "pe": 4}, 215),
        }
    }
    t = blocks.tables(data)["rdot"]["i2s_wt"][2]
    assert t[4] == {
        4: pytest.approx(81 / 4, abs=1e-3),
        12: pytest.approx(179 / 12, abs=1e-3),
        32: pytest.approx(407 / 32, abs=1e-3),
    }
    assert t[16] == {4: pytest.approx(215 / 4, abs=1e-3)}
    # the share of 0 among the blocks' random weights, from the values they are drawn from
    zero = blocks.tables(data)["rdot_zero"]
    assert zero == {"i2s_wt": pytest.approx(1 / 3, abs=1e-5)}
    assert blocks.rdot_values("TERNARY") == [-1, 0, 1] and blocks.rdot_values("INT2") == [
        -2,
        -1,
        0,
        1,
    ]
    assert blocks.rdot_values("BIPOLAR") == [-1, 1]

    # the designs ask for the second and third PE counts up to 8 lanes, and at every width
    # for the binary pairs (small, quick blocks)
    def pes_of(ind, wd):
        specs = [s for s in blocks.designs("rdot") if s["in"] == ind and s["w"] == wd]
        pes = {(s["simd"], s["depth"]): set() for s in specs}
        for s in specs:
            pes[(s["simd"], s["depth"])].add(s["pe"])
        return pes

    multi, xnor = pes_of("INT2", "TERNARY"), pes_of("BIPOLAR", "BIPOLAR")
    assert multi[(4, 2)] == multi[(5, 2)] == multi[(8, 2)] == {4, 12, 32}
    assert multi[(16, 2)] == {4}
    assert xnor[(16, 8)] == {4, 12, 32}


def test_rom_context_factor_is_the_median_ratio():
    """The deep weight ROM's coefficient (crossval.FIXED) is the median of the measured ROM
    in its layer over the ROM alone; 1 when nothing is measured."""
    import rom_context

    runs = {k: {"ratio": r} for k, r in zip("abcd", (0.68, 1.17, 1.3, 1.05))}
    assert rom_context.context_factor({"designs": runs}) == pytest.approx(1.11)
    assert rom_context.context_factor({"designs": {}}) == 1.0
    assert rom_context.context_factor() == pytest.approx(1.17)  # the stored measurements


def test_constant_comparator_table_is_the_least_squares_slope():
    """A comparator block with constant thresholds measured at several PE counts gives the
    least-squares slope through all of them (its LUTs per PE beyond a fixed part), not the
    line through its first two: at 8 and 16 PEs alone (93 and 154 LUTs, as Yosys measured the
    6-bit, 3-threshold block) the slope was 7.6 where 1-32 PEs say 10."""
    const = {"block": "act", "mode": "const", "bits": 6, "n": 3}
    runs = {1: 15, 2: 27, 4: 50, 8: 93, 16: 154, 32: 320}
    data = {
        "designs": {
            f"c{p}": _run({**const, "id": f"c{p}", "pe": p}, lut) for p, lut in runs.items()
        }
    }
    slope = blocks.tables(data)["act"]["const"][6][3]
    pes, luts = zip(*runs.items())
    n = len(pes)
    mp, ml = sum(pes) / n, sum(luts) / n
    ls = sum((p - mp) * (y - ml) for p, y in zip(pes, luts)) / sum((p - mp) ** 2 for p in pes)
    assert slope == pytest.approx(ls, abs=1e-3) and 9.5 < slope < 10.5
    # two counts: the line through both, as before
    two = {"designs": {k: data["designs"][k] for k in ("c8", "c16")}}
    assert blocks.tables(two)["act"]["const"][6][3] == pytest.approx((154 - 93) / 8, abs=1e-3)
    # the grid asks for every constant block at 2, 4, 8, 16 and 32 PEs
    specs = [s for s in blocks.designs("act") if s.get("mode") == "const"]
    pts = {}
    for s in specs:
        pts.setdefault((s["bits"], s["n"]), set()).add(s["pe"])
    assert set(map(frozenset, pts.values())) == {frozenset({2, 4, 8, 16, 32})}


def test_constant_weight_tables_hold_each_pe_count():
    """A constant-weight block (``cdot``) measured at several PE counts gives its LUTs per PE
    and its own share of distinct products and adder nodes at each (a layer reads both at its
    own PE count); the grid measures every pair at 1, 4, 16 and 48 PEs, the widest XNOR rows
    (64-256 lanes) at 1, 4 and 16 only."""
    spec = {"block": "cdot", "in": "INT2", "w": "TERNARY", "simd": 8}
    data = {
        "designs": {
            f"t{p}": _run({**spec, "id": f"t{p}", "pe": p}, lut)
            for p, lut in ((1, 37), (4, 82), (16, 167))
        }
    }
    t = blocks.tables(data)
    assert t["cdot"]["i2s_wt"][8] == {
        1: pytest.approx(37),
        4: pytest.approx(82 / 4),
        16: pytest.approx(167 / 16, abs=1e-3),
    }
    share = t["cdot_share"]["i2s_wt"][8]
    assert share[1] == 1.0 and share[1] > share[4] > share[16] > 0
    grid = {}
    for s in blocks.designs("cdot"):
        grid.setdefault((blocks.cdot_key(s["in"], s["w"]), s["simd"]), set()).add(s["pe"])
    assert grid[("i2s_wt", 32)] == {1, 4, 16, 48}
    assert grid[("i1b_w1b", 256)] == {1, 4, 16}


def test_jitter_families_keep_their_structure_and_references_leave_one_out():
    """benchmarks/cost/jitter.py: a swept family changes no structural feature but the one
    stepped (the narrowing converters keep gcd 2 and two write slots), a redrawn family only
    its seed; each member's reference is computed without it (a quadratic through the
    others, or their mean), so a member off the line is not its own reference."""
    import math

    import jitter
    import numpy as np

    fam = jitter.families()
    for f in fam.values():
        assert len({s["id"] for s in f["specs"]}) == len(f["specs"]) == len(f["x"])
        if f["kind"] == "redrawn":
            shapes = [{k: v for k, v in s.items() if k not in ("id", "seed")} for s in f["specs"]]
            assert all(sh == shapes[0] for sh in shapes) and len(f["specs"]) == 12
    for s in fam["DWC 2k -> 2 bits"]["specs"]:
        i, o = s["in_elems"] * s["bits"], s["out_elems"] * s["bits"]
        g = math.gcd(i, o)
        assert g == 2 and (i + o + min(i, o) - g - i) // g + 1 == 2
    x = np.arange(8.0)
    y = 3 + 2 * x + 0.5 * x**2
    y[4] += 40  # one member off the curve
    ref = jitter.loo_reference("swept", x, y)
    assert ref[4] == pytest.approx(3 + 8 + 8) and abs(ref[0] - y[0]) > 0.01
    assert jitter.loo_reference("redrawn", x, np.array([1.0, 2, 3, 6]))[3] == pytest.approx(2)


def test_twins_redraw_only_the_contents_of_the_hold_out_designs():
    """benchmarks/cost/jitter.py --twins: each twin is its design's spec with the next seed
    and an id of its own, only for the layer types whose build draws random contents, and
    its weights differ from the design's (a twin that came out the same would measure
    nothing)."""
    import calibrate
    import jitter
    import numpy as np

    pairs = jitter.twin_pairs()
    assert len(pairs) == len({t["id"] for _, t in pairs}) >= 100
    assert {s["type"] for s, _ in pairs} == set(jitter.CONTENT_TYPES)
    for s, t in pairs:
        assert {k: v for k, v in t.items() if k not in ("id", "seed")} == {
            k: v for k, v in s.items() if k not in ("id", "seed")
        }
        assert t["seed"] == s["seed"] + 1 and t["id"] == s["id"] + "_twin"
    s, t = next((s, t) for s, t in pairs if s["type"] == "MVAU")
    a, b = calibrate.build(s), calibrate.build(t)
    assert a.weights.shape == b.weights.shape and not np.array_equal(a.weights, b.weights)
    assert jitter.twin_class(a, 59) == "under 60 LUTs"


def test_a_stored_set_is_kept_as_it_was_synthesized():
    """benchmarks/cost/random_sweep.py: a set drawn again today may differ from the one
    stored (the draw rejects designs by the model of the day); the designs of a set are the
    stored ones where they exist, so that neither a sweep nor the twins replace a scored
    hold-out design with another."""
    import random_sweep

    drawn = random_sweep.random_designs("holdout15")
    first = dict(drawn[0], mw=drawn[0].get("mw", 1) + 1, seed=1)
    got = random_sweep.set_designs("holdout15", {first["id"]: {"spec": first}})
    assert got[0] == first and got[1:] == drawn[1:]
    assert random_sweep.set_designs("holdout15", {}) == drawn


def test_converter_tables_key_collects_by_count_and_unloads_by_count_and_width():
    """blocks.py ``dwc``: a collect run is the LUTs of its word count (measured at 1 bit), an
    unload run the LUTs of its word count at its width; the grid is every count 2..64 at the
    narrow widths and the wider widths only up to their largest count."""
    data = {
        "designs": {
            "c": _run({"id": "c", "block": "dwc", "kind": "collect", "k": 5}, 8),
            "u1": _run({"id": "u1", "block": "dwc", "kind": "unload", "k": 7, "w": 1}, 12),
            "u2": _run({"id": "u2", "block": "dwc", "kind": "unload", "k": 7, "w": 16}, 72),
        }
    }
    t = blocks.tables(data)
    assert t["dwc_collect"] == {5: 8} and t["dwc_unload"] == {7: {1: 12, 16: 72}}
    grid = blocks.designs("dwc")
    ks = {s["k"] for s in grid}
    assert ks == set(range(2, 65)) and all(s["block"] == "dwc" for s in grid)
    for w, kmax in blocks.DWC_WIDE.items():
        assert max(s["k"] for s in grid if s.get("w") == w) == kmax
    assert sum(s["kind"] == "collect" for s in grid) == 63
