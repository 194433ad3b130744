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
    assert t["act_soft_fix"] == {4: {3: {2: pytest.approx(0), 8: pytest.approx(15)}}}
    assert t["act_fold_fix"] == {}  # one PE count: no intercept
    assert t["act_fold"] == {8: {1: {64: pytest.approx(38 / 2)}}}
    assert t["act"]["const"] == {6: {7: pytest.approx(100 / 8)}}
    assert 0 < t["act_soft_var"][4][3][2] <= 1 and 0 < t["act_fold_var"][8][1][64] <= 1


def test_slope_runs_are_in_the_grid():
    """Every small comparator block has its second PE count in the grid, with its own id."""
    grid = {s["id"]: s for s in blocks.designs("soft")}
    lo = grid["act_soft_b4_n3_d2"]
    hi = grid[f"act_soft_b4_n3_d2_p{blocks.SLOPE_PE['soft']}"]
    assert hi["pe"] > lo["pe"] and {**hi, "id": lo["id"], "pe": lo["pe"]} == lo
