"""RTL test of rtl/label_select.v against a stable numpy sort (descending score, lower index
first on ties): many ties (narrow scores), signed and unsigned, top-1 and a full sort
(K = CH); idle and back-pressure; frames back to back at max(CH/PE, K+1) cycles per frame."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType, uint_type
from fpgagen.sim.axis_tb import CONFIG_ENV, assert_words_equal, config_name, run_stream

# classes, PE, score type, K, index bits
CONFIGS = {
    "c10_pe5_k3_int3": dict(CH=10, PE=5, IN="INT3", K=3, IDX_BITS=4),
    "c12_pe3_k12_uint2": dict(CH=12, PE=3, IN="UINT2", K=12, IDX_BITS=5),
    "c7_pe1_k1_int8": dict(CH=7, PE=1, IN="INT8", K=1, IDX_BITS=3),
    # PE a power of two over several words: the word's first index is the shifted counter
    "c24_pe4_k2_uint4": dict(CH=24, PE=4, IN="UINT4", K=2, IDX_BITS=5),
    # one word per frame: the list starts from constant zeros every frame
    "c6_pe6_k2_int4": dict(CH=6, PE=6, IN="INT4", K=2, IDX_BITS=3),
}
N_FRAMES = 25


def _case(cfg: dict, seed: int = 0):
    """(parameters, input words, expected output words)."""
    rng = np.random.default_rng(seed)
    dt = DataType(cfg["IN"])
    x = rng.integers(dt.min, dt.max + 1, size=(N_FRAMES, cfg["CH"]))
    # descending score, ties by ascending index
    top = np.stack([np.argsort(-row, kind="stable")[: cfg["K"]] for row in x])
    params = {
        "CH": cfg["CH"],
        "PE": cfg["PE"],
        "IN_BITS": dt.bits,
        "IN_SIGNED": int(dt.signed),
        "K": cfg["K"],
        "IDX_BITS": cfg["IDX_BITS"],
    }
    ins = packing.words_to_ints(packing.pack(x, dt, cfg["PE"]))
    outs = packing.words_to_ints(packing.pack(top, uint_type(cfg["IDX_BITS"]), 1))
    return params, ins, outs


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_label_select(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, _, _ = _case(CONFIGS[name])
    run_module_test("label_select", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name})


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    name = config_name()
    return CONFIGS[name], _case(CONFIGS[name])


@cocotb.test()
async def label_select_random_stream(dut):
    """Idle and back-pressure: the indices equal the stable-sort reference."""
    _, (_, ins, exp) = _current()
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=15)
    assert_words_equal(out, exp)


@cocotb.test()
async def label_select_throughput(dut):
    """No idle/back-pressure: a frame takes max(CH/PE, K + 1) cycles."""
    cfg, (_, ins, exp) = _current()
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    k = cfg["K"]
    per_frame = (cycles[-1] - cycles[k - 1]) / (N_FRAMES - 1)
    ideal = max(cfg["CH"] // cfg["PE"], k + 1)
    assert per_frame <= ideal, f"{per_frame:.2f} cycles per frame, expected {ideal}"
