"""RTL test of rtl/fm_padding.v against numpy.pad: symmetric and asymmetric borders (one of
them zero), folded channels, signed pad values; idle and back-pressure; frames back to back;
one output word per cycle."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType
from fpgagen.sim.axis_tb import CONFIG_ENV, assert_words_equal, config_name, run_stream

# IFM (H, W), CH, SIMD, pads (top, bottom, left, right), element type, pad value
CONFIGS = {
    "5x4_pad1_simd2_int4": dict(IFM=(5, 4), CH=4, SIMD=2, PAD=(1, 1, 1, 1), DT="INT4", VALUE=-3),
    "3x6_asym_uint2": dict(IFM=(3, 6), CH=3, SIMD=1, PAD=(2, 0, 0, 3), DT="UINT2", VALUE=2),
}
N_FRAMES = 3


def _case(cfg: dict, seed: int = 0):
    """(parameters, input words, expected output words)."""
    rng = np.random.default_rng(seed)
    (ih, iw), ch, simd = cfg["IFM"], cfg["CH"], cfg["SIMD"]
    pt, pb, pl, pr = cfg["PAD"]
    dt = DataType(cfg["DT"])
    x = rng.integers(dt.min, dt.max + 1, size=(N_FRAMES, ih, iw, ch))
    y = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=cfg["VALUE"])
    params = {
        "IFM_H": ih,
        "IFM_W": iw,
        "CH": ch,
        "SIMD": simd,
        "PAD_TOP": pt,
        "PAD_BOTTOM": pb,
        "PAD_LEFT": pl,
        "PAD_RIGHT": pr,
        "ELEM_BITS": dt.bits,
        # the element's bit pattern
        "PAD_VALUE": int(packing.encode([cfg["VALUE"]], dt)[0]),
    }
    ins = packing.words_to_ints(packing.pack(x, dt, simd))
    outs = packing.words_to_ints(packing.pack(y, dt, simd))
    return params, ins, outs


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_fm_padding(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, _, _ = _case(CONFIGS[name])
    run_module_test("fm_padding", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name})


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    return _case(CONFIGS[config_name()])


@cocotb.test()
async def fm_padding_random_stream(dut):
    """Idle and back-pressure: every output word equals numpy.pad of the input."""
    _, ins, exp = _current()
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=5)
    assert_words_equal(out, exp)


@cocotb.test()
async def fm_padding_throughput(dut):
    """No idle/back-pressure: one output word per cycle, also across frames."""
    _, ins, exp = _current()
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    assert cycles[-1] - cycles[0] == len(exp) - 1, (
        f"{len(exp)} words took {cycles[-1] - cycles[0] + 1} cycles"
    )
