"""RTL test of rtl/pool.v against numpy max/sum over windows in sliding_window order: signed
max with folded channels, BIPOLAR max (OR) with one channel group (partial-result bypass),
signed sum into a wider output; idle and back-pressure; one input word per cycle."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType
from fpgagen.sim.axis_tb import CONFIG_ENV, assert_words_equal, config_name, run_stream

# CH, PE, K (window elements), input type, output type, MODE (0 max, 1 sum)
CONFIGS = {
    "max_int4_pe2_k4": dict(CH=6, PE=2, K=4, IN="INT4", OUT="INT4", MODE=0),
    "max_bipolar_pe3_k9_cf1": dict(CH=3, PE=3, K=9, IN="BIPOLAR", OUT="BIPOLAR", MODE=0),
    "sum_int3_pe1_k9_out7": dict(CH=2, PE=1, K=9, IN="INT3", OUT="INT7", MODE=1),
}
N_PIXELS = 30


def _case(cfg: dict, seed: int = 0):
    """(parameters, input words, expected output words)."""
    rng = np.random.default_rng(seed)
    in_dt, out_dt = DataType(cfg["IN"]), DataType(cfg["OUT"])
    if in_dt.is_bipolar:
        x = rng.choice([-1, 1], size=(N_PIXELS, cfg["K"], cfg["CH"]), p=[0.8, 0.2])
    else:
        x = rng.integers(in_dt.min, in_dt.max + 1, size=(N_PIXELS, cfg["K"], cfg["CH"]))
    y = x.max(axis=1) if cfg["MODE"] == 0 else x.sum(axis=1)
    params = {
        "CH": cfg["CH"],
        "PE": cfg["PE"],
        "K": cfg["K"],
        "IN_BITS": in_dt.bits,
        # a BIPOLAR stream is unsigned 1-bit: max is OR
        "IN_SIGNED": int(in_dt.signed and not in_dt.is_bipolar),
        "OUT_BITS": out_dt.bits,
        "MODE": cfg["MODE"],
    }
    ins = packing.words_to_ints(packing.pack(x, in_dt, cfg["PE"]))
    outs = packing.words_to_ints(packing.pack(y, out_dt, cfg["PE"]))
    return params, ins, outs


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_pool(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, _, _ = _case(CONFIGS[name])
    run_module_test("pool", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name})


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    name = config_name()
    return CONFIGS[name], _case(CONFIGS[name])


@cocotb.test()
async def pool_random_stream(dut):
    """Idle and back-pressure: every output word equals the numpy max/sum."""
    _, (_, ins, exp) = _current()
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=6)
    assert_words_equal(out, exp)


@cocotb.test()
async def pool_throughput(dut):
    """No idle/back-pressure: one input word per cycle (outputs K*CF cycles apart per pixel)."""
    cfg, (_, ins, exp) = _current()
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    cf = cfg["CH"] // cfg["PE"]
    ideal = (N_PIXELS - 1) * cfg["K"] * cf + cf - 1
    assert cycles[-1] - cycles[0] == ideal, f"span {cycles[-1] - cycles[0]} cycles, ideal {ideal}"
