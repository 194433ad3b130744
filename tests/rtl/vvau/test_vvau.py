"""RTL test of rtl/vvau.v (depthwise convolution) against a numpy per-channel window dot product
+ multi-threshold reference, in sliding_window order (window position outer, channel group
inner, PE channels per word).

Configurations: int4 x int4 with thresholds and two channel groups (partial-sum memory),
XNOR-popcount with one threshold and a BIPOLAR output (CF = 1: accumulator register), ternary
weights x uint4 raw accumulator with PE = 1 and three channel groups, BIPOLAR input x int4
weights with PE = CH. Each streams several pixels back to back with random idle and
back-pressure (balanced, input-starved, output-stalled) and compares every output word; without
stalls a pixel takes exactly K*CF cycles (spec: within 2 %) and every output word is accepted 5
cycles after the last input word it depends on. Lint (-Wall) and the rejection of illegal
parameters are checked here too.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import DataType, int_type, signed_bits_for
from fpgagen.sim.axis_tb import CONFIG_ENV, config_name, run_stream

# K = window elements (K_H*K_W); OUT None = no thresholds (raw accumulator)
CONFIGS = {
    "int4_int4_thres_pe2_cf2_k9": dict(
        CH=4, PE=2, K=9, IN="INT4", W="INT4", N_THRES=3, OUT="INT2", OUT_BIAS=-2, RAM_STYLE="auto"
    ),
    "xnor_pe4_cf1_k9": dict(
        CH=4,
        PE=4,
        K=9,
        IN="BIPOLAR",
        W="BIPOLAR",
        N_THRES=1,
        OUT="BIPOLAR",
        OUT_BIAS=0,
        RAM_STYLE="distributed",
    ),
    "ternary_uint4_raw_pe1_cf3_k4": dict(
        CH=3, PE=1, K=4, IN="UINT4", W="TERNARY", N_THRES=0, OUT=None, OUT_BIAS=0, RAM_STYLE="auto"
    ),
    "bipolar_in_int4w_pe_ch_k9": dict(
        CH=6,
        PE=6,
        K=9,
        IN="BIPOLAR",
        W="INT4",
        N_THRES=7,
        OUT="INT3",
        OUT_BIAS=-4,
        RAM_STYLE="block",
    ),
}
N_PIXELS = 16
WEIGHT_FILE = "weights.mem"
THRES_FILE = "thresholds.mem"
LATENCY = 5  # last input handshake -> output handshake (docs/rtl_cnn.md)


def _acc_bits(cfg, in_dt: DataType, w_dt: DataType) -> int:
    """Smallest signed accumulator holding every possible window sum."""
    k = cfg["K"]
    if in_dt.is_bipolar and w_dt.is_bipolar:
        return signed_bits_for(0, k)
    corners = [a * b for a in (in_dt.min, in_dt.max) for b in (w_dt.min, w_dt.max)]
    return signed_bits_for(k * min(corners), k * max(corners))


def _values(rng, dt: DataType, shape):
    if dt.is_bipolar:
        return rng.choice([-1, 1], size=shape)
    return rng.integers(dt.min, dt.max + 1, size=shape)


def reference(cfg, x, w, thr):
    """Depthwise window sums (pixels, CH) of x (pixels, K, CH) and w (K, CH), and outputs."""
    in_dt, w_dt = DataType(cfg["IN"]), DataType(cfg["W"])
    if in_dt.is_bipolar and w_dt.is_bipolar:
        acc = (x == w[None]).sum(axis=1)  # agreeing pairs
    else:
        acc = (x * w[None]).sum(axis=1)
    if cfg["N_THRES"] == 0:
        return acc, acc
    y = cfg["OUT_BIAS"] + (acc[:, :, None] >= thr[None]).sum(axis=2)
    if DataType(cfg["OUT"]).is_bipolar:
        y = 2 * y - 1  # the count bit, as a BIPOLAR value
    return acc, y


def _case(cfg: dict, seed: int = 0):
    """(parameters, weight lines, threshold lines, input words, expected output words)."""
    rng = np.random.default_rng(seed)
    ch, pe, k, n = cfg["CH"], cfg["PE"], cfg["K"], cfg["N_THRES"]
    cf = ch // pe
    in_dt, w_dt = DataType(cfg["IN"]), DataType(cfg["W"])
    acc_bits = _acc_bits(cfg, in_dt, w_dt)
    acc_dt = int_type(acc_bits)
    out_dt = DataType(cfg["OUT"]) if n else acc_dt

    x = _values(rng, in_dt, (N_PIXELS, k, ch))
    w = _values(rng, w_dt, (k, ch))
    thr = None
    if n:
        acc, _ = reference(cfg, x, w, np.zeros((ch, n), np.int64))
        lo, hi = acc.min(axis=0) - 1, acc.max(axis=0) + 1  # per channel, so counts vary
        thr = np.sort(np.stack([rng.integers(lo[c], hi[c] + 1, size=n) for c in range(ch)]), axis=1)
        thr = np.clip(thr, acc_dt.min, acc_dt.max)
    _, y = reference(cfg, x, w, thr)

    # weights: line kpos*CF + cg, element p = channel cg*PE + p (C order of (K, CH))
    weight_hex = packing.to_hex(packing.pack(w, w_dt, pe), pe * w_dt.bits)
    thres_hex = []
    if n:
        # line cg: PE p at [p*N*ACC +: N*ACC], threshold j at [j*ACC +: ACC]
        thres_hex = packing.to_hex(
            packing.pack(thr.reshape(cf, pe * n), acc_dt, pe * n), pe * n * acc_bits
        )
    in_words = packing.words_to_ints(packing.pack(x, in_dt, pe))  # pixel, kpos, cg, p
    out_words = packing.words_to_ints(packing.pack(y, out_dt, pe))  # pixel, cg, p
    params = {
        "CH": ch,
        "PE": pe,
        "K": k,
        "IN_BITS": in_dt.bits,
        "IN_SIGNED": int(in_dt.signed and not in_dt.is_bipolar),
        "IN_BIPOLAR": int(in_dt.is_bipolar),
        "W_BITS": w_dt.bits,
        "W_SIGNED": int(w_dt.signed and not w_dt.is_bipolar),
        "W_BIPOLAR": int(w_dt.is_bipolar),
        "ACC_BITS": acc_bits,
        "N_THRES": n,
        "OUT_BITS": out_dt.bits,
        "OUT_BIAS": cfg["OUT_BIAS"],
        "WEIGHT_FILE": WEIGHT_FILE,
        "THRES_FILE": THRES_FILE,
        "RAM_STYLE": cfg["RAM_STYLE"],
    }
    return params, weight_hex, thres_hex, in_words, out_words


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_vvau(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, weight_hex, thres_hex, _, _ = _case(CONFIGS[name])
    (tmp_path / WEIGHT_FILE).write_text("\n".join(weight_hex) + "\n")
    if thres_hex:
        (tmp_path / THRES_FILE).write_text("\n".join(thres_hex) + "\n")
    run_module_test("vvau", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name})


# ---- lint and illegal parameters (no C++ compile) ----------------------------------------

LINT_PARAMS = (
    [{}]
    + [_case(cfg)[0] for cfg in CONFIGS.values()]
    + [
        {"CH": 1, "PE": 1, "K": 1, "N_THRES": 0, "OUT_BITS": 12},
        {
            "W_BIPOLAR": 1,
            "W_BITS": 1,
            "IN_SIGNED": 0,
            "K": 2,
            "ACC_BITS": 4,
            "N_THRES": 0,
            "OUT_BITS": 4,
        },
        {
            "CH": 64,
            "PE": 8,
            "IN_BITS": 8,
            "W_BITS": 8,
            "ACC_BITS": 10,
            "N_THRES": 255,
            "OUT_BITS": 8,
            "OUT_BIAS": -128,
            "RAM_STYLE": "block",
        },
    ]
)
ILLEGAL = [
    ({"CH": 5, "PE": 2}, "vvau_parameter_PE_must_divide_CH"),
    ({"K": 0}, "vvau_parameter_K_must_be_at_least_1"),
    ({"IN_BIPOLAR": 1, "IN_BITS": 2}, "vvau_parameter_IN_BIPOLAR_needs_IN_BITS_1"),
    ({"W_BIPOLAR": 1, "W_BITS": 4}, "vvau_parameter_W_BIPOLAR_needs_W_BITS_1"),
    ({"N_THRES": 0, "OUT_BITS": 4}, "vvau_parameter_OUT_BITS_must_equal_ACC_BITS"),
    ({"N_THRES": 3, "OUT_BITS": 33}, "vvau_parameters_N_THRES_or_OUT_BITS_out_of_range"),
]


def _lint(params):
    from fpgagen.sim.runner import lint

    return lint("vvau", params)


@pytest.mark.rtl
def test_vvau_lint_clean():
    for params in LINT_PARAMS:
        r = _lint(params)
        assert r.returncode == 0 and "%Warning" not in r.stderr, f"{params}:\n{r.stderr}"


@pytest.mark.rtl
@pytest.mark.parametrize("params,message", ILLEGAL, ids=[m for _, m in ILLEGAL])
def test_vvau_illegal_parameters_rejected(params, message):
    r = _lint(params)
    assert r.returncode != 0 and message in r.stderr, f"{params} not rejected:\n{r.stderr}"


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    name = config_name()
    cfg = CONFIGS[name]
    return cfg, _case(cfg)


def _check(out, exp, cf):
    for i, (got, e) in enumerate(zip(out, exp)):
        assert got == e, f"pixel {i // cf} word {i % cf}: got {got:#x}, expected {e:#x}"


@cocotb.test()
@cocotb.parametrize(
    # (name, idle, back-pressure, seed)
    stress=[
        ("balanced", 0.3, 0.4, 4),
        ("input_starved", 0.8, 0.2, 5),
        ("output_stalled", 0.0, 0.8, 6),
    ]
)
async def vvau_random_stream(dut, stress):
    """Random idle and back-pressure: every output word equals the numpy reference."""
    _, idle, backpressure, seed = stress
    cfg, (_, _, _, ins, exp) = _current()
    out, _ = await run_stream(
        dut,
        ins,
        len(exp),
        idle=idle,
        backpressure=backpressure,
        seed=seed,
        timeout_cycles=200 + 20 * len(ins),
    )
    _check(out, exp, cfg["CH"] // cfg["PE"])


@cocotb.test()
async def vvau_throughput(dut):
    """No idle/back-pressure: K*CF cycles per pixel (spec: 2 %; exact), latency 5 cycles."""
    cfg, (_, _, _, ins, exp) = _current()
    cf, k = cfg["CH"] // cfg["PE"], cfg["K"]
    out, cycles = await run_stream(dut, ins, len(exp), idle=0.0, backpressure=0.0)
    _check(out, exp, cf)
    # last output word of pixel 1 .. last output word of the last pixel
    first, last = cycles[2 * cf - 1], cycles[N_PIXELS * cf - 1]
    per_pixel = (last - first) / (N_PIXELS - 2)
    in_cycles = dut._fg_source.cycles
    # output word (pixel n, group cg) depends on input word n*K*CF + (K-1)*CF + cg
    lat = [
        cycles[n * cf + cg] - in_cycles[n * k * cf + (k - 1) * cf + cg]
        for n in range(N_PIXELS)
        for cg in range(cf)
    ]
    dut._log.info(
        "VVAU %.2f cycles/pixel (K*CF = %d), latency %d..%d cycles from the last "
        "input handshake to the output handshake",
        per_pixel,
        k * cf,
        min(lat),
        max(lat),
    )
    assert abs(per_pixel - k * cf) <= 0.02 * k * cf, (
        f"{per_pixel:.2f} cycles per pixel, expected K*CF = {k * cf} (within 2 %)"
    )
    assert per_pixel == k * cf, f"{per_pixel:.2f} cycles per pixel, expected exactly {k * cf}"
    assert in_cycles[-1] - in_cycles[0] == len(ins) - 1, "input not accepted every cycle"
    assert set(lat) == {LATENCY}, f"latencies {sorted(set(lat))}, expected {LATENCY}"
