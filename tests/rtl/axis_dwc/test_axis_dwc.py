"""RTL test of rtl/axis_dwc.v: the output bit stream equals the input bit stream, under idle
and back-pressure and for widths in both directions; the narrower side runs at one word per
cycle."""

from __future__ import annotations

import json
import math
import os

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import uint_type
from fpgagen.sim.axis_tb import assert_words_equal, run_stream

#: the gearbox (11to29, 13to9: the narrower width is more than 8 gcds; 16to6 with
#: CHAIN_MAX = 0, as kernel_unpack has it), the chain through the
#: least common multiple (2to3, 16to6, 12to8, 75to6), the unload path (40to8: K = 5;
#: 12to3: K = 4; 2to1), the collect path (8to64: K = 8; 3to6 and 1to2: K = 2; 5to15: K = 3)
CONFIGS = {
    "11to29": (11, 29),
    "16to6_gearbox": (16, 6, 0),
    "13to9": (13, 9),
    "2to3": (2, 3),
    "16to6": (16, 6),
    "12to8": (12, 8),
    "75to6": (75, 6),
    "8to64": (8, 64),
    "3to6": (3, 6),
    "1to2": (1, 2),
    "5to15": (5, 15),
    "40to8": (40, 8),
    "12to3": (12, 3),
    "2to1": (2, 1),
}


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_axis_dwc(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    w_in, w_out, *chain = CONFIGS[name]
    params = {"IN_WIDTH": w_in, "OUT_WIDTH": w_out}
    if chain:
        params["CHAIN_MAX"] = chain[0]
    run_module_test(
        "axis_dwc",
        params,
        __file__,
        tmp_path,
        rtl_build_root,
        {"FPGAGEN_TB_PARAMS": json.dumps(params)},
    )


#: width pairs of every implementation, and CHAIN_MAX 0 / 8
KIND_PAIRS = [(2, 3), (16, 6), (12, 8), (75, 6), (11, 29), (13, 9), (8, 64), (3, 6), (1, 2)]
KIND_PAIRS += [(5, 15), (40, 8), (12, 3), (2, 1), (128, 24), (128, 32), (24, 128), (17, 4)]


@pytest.mark.rtl
@pytest.mark.parametrize("chain_max", [8, 0])
def test_axis_dwc_elaborates_the_implementation_the_cost_model_prices(chain_max, tmp_path):
    """The submodules Verilator elaborates for each width pair are those of
    ``cost.model.dwc_kind`` (unload, collect, both for a chain, none for the gearbox): the
    RTL's choice and the DWC model's agree."""
    import subprocess

    from fpgagen.codegen.rtl import module_files
    from fpgagen.cost.model import dwc_kind
    from fpgagen.sim.runner import ensure_verilator

    want = {
        "unload": {"axis_dwc_unload"},
        "collect": {"axis_dwc_collect"},
        "chain": {"axis_dwc_unload", "axis_dwc_collect"},
        "gearbox": set(),
    }
    exe = str(ensure_verilator().executable)
    for a, b in KIND_PAIRS:
        out = tmp_path / f"{a}_{b}"
        cmd = [exe, "--json-only", "--top-module", "axis_dwc", "-Mdir", str(out)]
        cmd += [f"-GIN_WIDTH={a}", f"-GOUT_WIDTH={b}", f"-GCHAIN_MAX={chain_max}"]
        cmd += [str(f) for f in module_files("axis_dwc")]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 0, r.stderr
        tree = next(out.glob("*.tree.json")).read_text()
        got = {m for m in ("axis_dwc_unload", "axis_dwc_collect") if f'"origName":"{m}"' in tree}
        assert got == want[dwc_kind(a, b, chain_max)], (a, b, chain_max, got)


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _streams(n_bits_min: int, seed: int):
    """Random bit stream -> (input words, expected output words) as ints, via fpgagen.packing."""
    p = json.loads(os.environ["FPGAGEN_TB_PARAMS"])
    w_in, w_out = p["IN_WIDTH"], p["OUT_WIDTH"]
    lcm = w_in * w_out // math.gcd(w_in, w_out)
    n_bits = lcm * max(1, -(-n_bits_min // lcm))
    bits = np.random.default_rng(seed).integers(0, 2, n_bits)
    u1 = uint_type(1)
    ins = packing.words_to_ints(packing.pack(bits, u1, w_in))
    outs = packing.words_to_ints(packing.pack(bits, u1, w_out))
    return w_in, w_out, ins, outs


@cocotb.test()
async def dwc_random_stream(dut):
    """Idle and back-pressure: output words equal the re-cut input bit stream."""
    _, _, ins, exp = _streams(2000, seed=5)
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=11)
    assert_words_equal(out, exp)


@cocotb.test()
async def dwc_throughput(dut):
    """No idle/back-pressure: the narrower side moves one word per cycle."""
    w_in, w_out, ins, exp = _streams(3000, seed=6)
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    span = cycles[-1] - cycles[0]
    ideal = (len(exp) - 1) * max(1.0, w_out / w_in)
    assert span <= ideal + 2, f"{len(exp)} output words took {span} cycles, ideal {ideal:.0f}"
