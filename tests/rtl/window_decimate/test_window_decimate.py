"""RTL test of rtl/window_decimate.v (the 1x1 window) against the explicit-loop im2col
reference of a 1x1 kernel: strides 1, 2 and 3 that do and do not divide the map, folded
channels (several words per pixel), one-pixel rows; idle and back-pressure; frames back to
back at one input word per cycle."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType
from fpgagen.sim.axis_tb import CONFIG_ENV, assert_words_equal, config_name, run_stream

# IFM (H, W), CH, SIMD, stride (H, W), element type
CONFIGS = {
    "8x8_s2_cf2": dict(IFM=(8, 8), CH=4, SIMD=2, S=(2, 2), DT="INT4"),
    "7x9_s2_cf3": dict(IFM=(7, 9), CH=3, SIMD=1, S=(2, 2), DT="UINT2"),
    "10x7_s3x2": dict(IFM=(10, 7), CH=6, SIMD=6, S=(3, 2), DT="INT3"),
    "5x1_s2x1": dict(IFM=(5, 1), CH=2, SIMD=1, S=(2, 1), DT="UINT8"),
    "6x5_s1": dict(IFM=(6, 5), CH=8, SIMD=4, S=(1, 1), DT="BIPOLAR"),
}
N_FRAMES = 3


def _case(cfg: dict, seed: int = 0):
    """(parameters, input words, expected output words, input words per frame)."""
    rng = np.random.default_rng(seed)
    (ih, iw), (sh, sw) = cfg["IFM"], cfg["S"]
    ch, simd = cfg["CH"], cfg["SIMD"]
    dt = DataType(cfg["DT"])
    oh, ow = (ih - 1) // sh + 1, (iw - 1) // sw + 1
    lo, hi = (-1, 1) if dt.is_bipolar else (dt.min, dt.max)
    x = rng.integers(lo, hi + 1, size=(N_FRAMES, ih, iw, ch))
    if dt.is_bipolar:
        x = np.where(x == 0, 1, x)
    out = [x[f, oy * sh, ox * sw] for f in range(N_FRAMES) for oy in range(oh) for ox in range(ow)]
    in_words = packing.words_to_ints(packing.pack(x, dt, simd))
    out_words = packing.words_to_ints(packing.pack(np.stack(out), dt, simd))
    params = {
        "IFM_H": ih,
        "IFM_W": iw,
        "CH": ch,
        "SIMD": simd,
        "STRIDE_H": sh,
        "STRIDE_W": sw,
        "ELEM_BITS": dt.bits,
    }
    return params, in_words, out_words, ih * iw * ch // simd


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_window_decimate(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, _, _, _ = _case(CONFIGS[name])
    run_module_test(
        "window_decimate", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name}
    )


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    name = config_name()
    return CONFIGS[name], _case(CONFIGS[name])


@cocotb.test()
async def window_decimate_random_stream(dut):
    """Idle and back-pressure: every output word equals the reference."""
    _, (_, ins, exp, _) = _current()
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=6)
    assert_words_equal(out, exp)


@cocotb.test()
async def window_decimate_throughput(dut):
    """No idle/back-pressure: a frame takes its input words' cycles (dropped words do not
    wait for the output)."""
    _, (_, ins, exp, n_in) = _current()
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    n_out = len(exp) // N_FRAMES
    per_frame = (cycles[N_FRAMES * n_out - 1] - cycles[n_out - 1]) / (N_FRAMES - 1)
    assert per_frame <= n_in + 1, f"{per_frame:.1f} cycles per frame, {n_in} input words"
