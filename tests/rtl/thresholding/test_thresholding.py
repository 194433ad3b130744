"""RTL test of rtl/thresholding.v against a numpy multi-threshold reference, with idle and
back-pressure, folded and unfolded, signed/unsigned/1-bit inputs; full throughput."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType, int_type
from fpgagen.sim.axis_tb import CONFIG_ENV, assert_words_equal, config_name, run_stream

# C, PE, input type, threshold bits, N_THRES, output type, OUT_BIAS
CONFIGS = {
    "int8_pe3_int2out": dict(C=12, PE=3, IN="INT8", T_BITS=8, N_THRES=3, OUT="INT2", OUT_BIAS=-2),
    "uint4_pe_full_uint4out": dict(
        C=4, PE=4, IN="UINT4", T_BITS=6, N_THRES=15, OUT="UINT4", OUT_BIAS=0
    ),
    "uint1_pe1_1bit": dict(C=6, PE=1, IN="UINT1", T_BITS=2, N_THRES=1, OUT="UINT1", OUT_BIAS=0),
}
N_PIXELS = 40
THRES_FILE = "thresholds.mem"


def _case(cfg: dict, seed: int = 0):
    """(parameters, threshold file lines, input words, expected output words) of a config."""
    rng = np.random.default_rng(seed)
    c, pe, n = cfg["C"], cfg["PE"], cfg["N_THRES"]
    in_dt, out_dt, t_dt = DataType(cfg["IN"]), DataType(cfg["OUT"]), int_type(cfg["T_BITS"])
    nf = c // pe
    x = rng.integers(in_dt.min, in_dt.max + 1, size=(N_PIXELS, c))
    lo, hi = max(t_dt.min, in_dt.min - 1), min(t_dt.max, in_dt.max + 1)
    thr = np.sort(rng.integers(lo, hi + 1, size=(c, n)), axis=1)
    y = cfg["OUT_BIAS"] + (x[:, :, None] >= thr[None, :, :]).sum(axis=2)
    # memory line nf: PE p at [p*N*T +: N*T], threshold k at [k*T +: T]
    lines = packing.to_hex(packing.pack(thr.reshape(nf, pe * n), t_dt, pe * n), pe * n * t_dt.bits)
    in_words = packing.words_to_ints(packing.pack(x, in_dt, pe))
    out_words = packing.words_to_ints(packing.pack(y, out_dt, pe))
    params = {
        "C": c,
        "PE": pe,
        "IN_BITS": in_dt.bits,
        "IN_SIGNED": int(in_dt.signed),
        "T_BITS": t_dt.bits,
        "N_THRES": n,
        "OUT_BITS": out_dt.bits,
        "OUT_BIAS": cfg["OUT_BIAS"],
        "THRES_FILE": THRES_FILE,
    }
    return params, lines, in_words, out_words


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_thresholding(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, lines, _, _ = _case(CONFIGS[name])
    (tmp_path / THRES_FILE).write_text("\n".join(lines) + "\n")
    run_module_test("thresholding", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name})


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    return _case(CONFIGS[config_name()])


@cocotb.test()
async def thresholding_random_stream(dut):
    """Idle and back-pressure: every output word equals the numpy reference."""
    _, _, ins, exp = _current()
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=2)
    assert_words_equal(out, exp)


@cocotb.test()
async def thresholding_throughput(dut):
    """No idle/back-pressure: one word per cycle."""
    _, _, ins, exp = _current()
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    assert cycles[-1] - cycles[0] == len(exp) - 1, (
        f"{len(exp)} words took {cycles[-1] - cycles[0] + 1} cycles"
    )
