"""RTL test of rtl/sliding_window.v against an explicit-loop im2col reference: square and
non-square maps and kernels, strides that do not divide (IFM - K), folded channels, the
minimum buffer size, window-parallel words (PAR window words per output word, inside a kernel
row and whole kernel rows); idle and back-pressure; frames back to back; cycles per frame close
to max(input words, output words)."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType
from fpgagen.sim.axis_tb import CONFIG_ENV, assert_words_equal, config_name, run_stream

# IFM (H, W), CH, SIMD, kernel (H, W), stride (H, W), element type, buffer words (0 = auto),
# whether cycles per frame are checked
CONFIGS = {
    "8x8_k3s1_simd2": dict(
        IFM=(8, 8), CH=4, SIMD=2, K=(3, 3), S=(1, 1), DT="INT4", BUF=0, PERF=True
    ),
    "8x6_k2s2": dict(IFM=(8, 6), CH=3, SIMD=3, K=(2, 2), S=(2, 2), DT="UINT2", BUF=0, PERF=True),
    "10x7_k3x2_s2x1": dict(
        IFM=(10, 7), CH=4, SIMD=1, K=(3, 2), S=(2, 1), DT="INT3", BUF=0, PERF=True
    ),
    # minimum buffer (the window span, (K_H-1)*IFM_W*CF + K_W*CF words), stride > kernel
    "7x11_k2x3_s3x2_minbuf": dict(
        IFM=(7, 11), CH=2, SIMD=1, K=(2, 3), S=(3, 2), DT="UINT1", BUF=28, PERF=False
    ),
    # window-parallel: 3 of the 6 words of a kernel row per output word
    "8x8_k3s1_simd2_par3": dict(
        IFM=(8, 8), CH=4, SIMD=2, K=(3, 3), S=(1, 1), DT="INT4", BUF=0, PERF=True, PAR=3
    ),
    # window-parallel: the whole 3x3 window of a 3-channel map in one word (the CNV first
    # layer's geometry, smaller), minimum buffer
    "9x7_k3s1_par9_minbuf": dict(
        IFM=(9, 7), CH=3, SIMD=3, K=(3, 3), S=(1, 1), DT="UINT2", BUF=17, PERF=False, PAR=9
    ),
    # window-parallel: two whole kernel rows of four (K_H = 4) per word, stride 2
    "10x9_k4x2_s2_par2rows": dict(
        IFM=(10, 9), CH=2, SIMD=1, K=(4, 2), S=(2, 2), DT="INT3", BUF=0, PERF=True, PAR=8
    ),
    # multi-pixel: two whole windows per output word, two input words per input beat
    "8x8_k3s1_mmv2_ipar2": dict(
        IFM=(8, 8),
        CH=4,
        SIMD=2,
        K=(3, 3),
        S=(1, 1),
        DT="INT4",
        BUF=0,
        PERF=True,
        PAR=18,
        MMV=2,
        IPAR=2,
    ),
    # multi-pixel: a whole output row (5 windows, stride 2) per word, four input words per beat
    "7x10_k3x2_s2_mmv5_ipar4": dict(
        IFM=(7, 10),
        CH=2,
        SIMD=1,
        K=(3, 2),
        S=(2, 2),
        DT="UINT2",
        BUF=0,
        PERF=True,
        PAR=12,
        MMV=5,
        IPAR=4,
    ),
}
N_FRAMES = 3


def _geometry(cfg: dict):
    (ih, iw), (kh, kw), (sh, sw) = cfg["IFM"], cfg["K"], cfg["S"]
    return (ih - kh) // sh + 1, (iw - kw) // sw + 1


def _case(cfg: dict, seed: int = 0):
    """(parameters, input words, expected output words, words per frame in/out)."""
    rng = np.random.default_rng(seed)
    (ih, iw), (kh, kw), (sh, sw) = cfg["IFM"], cfg["K"], cfg["S"]
    ch, simd, par = cfg["CH"], cfg["SIMD"], cfg.get("PAR", 1)
    mmv, ipar = cfg.get("MMV", 1), cfg.get("IPAR", 1)
    dt = DataType(cfg["DT"])
    cf = ch // simd
    oh, ow = _geometry(cfg)
    x = rng.integers(dt.min, dt.max + 1, size=(N_FRAMES, ih, iw, ch))
    out = []
    for f in range(N_FRAMES):
        for oy in range(oh):
            for ox in range(ow):
                for ky in range(kh):
                    for kx in range(kw):
                        for cg in range(cf):
                            out.append(
                                x[f, oy * sh + ky, ox * sw + kx, cg * simd : (cg + 1) * simd]
                            )
    in_words = packing.words_to_ints(packing.pack(x, dt, simd * ipar))
    out_words = packing.words_to_ints(packing.pack(np.concatenate(out), dt, simd * par * mmv))
    params = {
        "IFM_H": ih,
        "IFM_W": iw,
        "CH": ch,
        "SIMD": simd,
        "K_H": kh,
        "K_W": kw,
        "STRIDE_H": sh,
        "STRIDE_W": sw,
        "ELEM_BITS": dt.bits,
        "BUF_WORDS": cfg["BUF"],
        "PAR": par,
        "MMV": mmv,
        "IPAR": ipar,
    }
    return params, in_words, out_words, (ih * iw * cf // ipar, oh * ow * kh * kw * cf // par // mmv)


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_sliding_window(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, _, _, _ = _case(CONFIGS[name])
    run_module_test(
        "sliding_window", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name}
    )


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    name = config_name()
    return CONFIGS[name], _case(CONFIGS[name])


@cocotb.test()
async def sliding_window_random_stream(dut):
    """Idle and back-pressure: every output word equals the im2col reference."""
    _, (_, ins, exp, _) = _current()
    out, _ = await run_stream(dut, ins, len(exp), idle=0.3, backpressure=0.4, seed=4)
    assert_words_equal(out, exp)


@cocotb.test()
async def sliding_window_throughput(dut):
    """No idle/back-pressure: a frame takes about max(input words, output words) cycles."""
    cfg, (_, ins, exp, (n_in, n_out)) = _current()
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    assert out == exp
    # steady state: from the last output word of frame 0 to that of the last frame
    per_frame = (cycles[N_FRAMES * n_out - 1] - cycles[n_out - 1]) / (N_FRAMES - 1)
    ideal = max(n_in, n_out)
    dut._log.info(f"cycles/frame {per_frame:.1f}, max(in, out) = {ideal} ({n_in} in, {n_out} out)")
    if cfg["PERF"]:
        assert per_frame <= 1.05 * ideal + 4, f"{per_frame:.1f} cycles per frame, ideal {ideal}"
