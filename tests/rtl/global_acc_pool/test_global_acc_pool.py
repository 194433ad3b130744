"""RTL test of rtl/global_acc_pool.v against a numpy sum over the pixels of each frame:
unsigned and signed inputs, folded and unfolded channels; idle and back-pressure; frames back
to back; one input word per cycle."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType
from fpgagen.sim.axis_tb import CONFIG_ENV, assert_words_equal, config_name, run_stream

# pixels per frame, CH, PE, input type, output type
CONFIGS = {
    "uint4_49pix_pe2": dict(N_PIX=49, CH=8, PE=2, IN="UINT4", OUT="UINT10"),
    "int2_6pix_pe_full": dict(N_PIX=6, CH=3, PE=3, IN="INT2", OUT="INT5"),
}
N_FRAMES = 4


def _case(cfg: dict, seed: int = 0):
    """(parameters, input words, expected output words)."""
    rng = np.random.default_rng(seed)
    in_dt, out_dt = DataType(cfg["IN"]), DataType(cfg["OUT"])
    x = rng.integers(in_dt.min, in_dt.max + 1, size=(N_FRAMES, cfg["N_PIX"], cfg["CH"]))
    y = x.sum(axis=1)
    params = {
        "N_PIX": cfg["N_PIX"],
        "CH": cfg["CH"],
        "PE": cfg["PE"],
        "IN_BITS": in_dt.bits,
        "IN_SIGNED": int(in_dt.signed),
        "OUT_BITS": out_dt.bits,
    }
    ins = packing.words_to_ints(packing.pack(x, in_dt, cfg["PE"]))
    outs = packing.words_to_ints(packing.pack(y, out_dt, cfg["PE"]))
    return params, ins, outs


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_global_acc_pool(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, _, _ = _case(CONFIGS[name])
    run_module_test(
        "global_acc_pool", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name}
    )


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    name = config_name()
    return CONFIGS[name], _case(CONFIGS[name])


@cocotb.test()
async def global_acc_pool_random_stream(dut):
    """Idle and back-pressure: every output word equals the numpy per-frame channel sums."""
    _, (_, ins, exp) = _current()
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=7)
    assert_words_equal(out, exp)


@cocotb.test()
async def global_acc_pool_throughput(dut):
    """No idle/back-pressure: one input word per cycle, frames back to back."""
    cfg, (_, ins, exp) = _current()
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    cf = cfg["CH"] // cfg["PE"]
    ideal = (N_FRAMES - 1) * cfg["N_PIX"] * cf + cf - 1
    assert cycles[-1] - cycles[0] == ideal, f"span {cycles[-1] - cycles[0]} cycles, ideal {ideal}"
