"""RTL test of rtl/mvau.v against a numpy matrix-vector product + multi-threshold reference.

Configurations cover XNOR-popcount, one bipolar operand (either side), signed and unsigned
integer products, with and without thresholds, SIMD/PE = 1, partial and full folding, and the
three weight memory styles. Every configuration streams random vectors with random idle and
back-pressure (balanced, input-starved and output-stalled), measures the steady-state cycles
per vector without stalls (must be exactly NF*SF), and with a deterministic trickling
producer that offers one word every k cycles: the input buffer decouples input from compute,
so a vector takes max(NF*SF, SF*k) cycles (spec: within 2 %; the design is exact).

The grouped configurations (MULT_BITS > 0: SYQ per-kernel-pixel scales) multiply each step's
SIMD-lane dot product by one multiplier per PE and group: XNOR (signed +-1 sums, per-(row,
group) multipliers), ternary weights with thresholds (one multiplier per group shared by all
rows, like a (1, 1, KH, KW) scale), and NF = 1 with wide 16-bit multipliers and a raw
accumulator output.
"""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge
from fpgagen import packing
from fpgagen.datatypes import DataType, int_type, signed_bits_for, uint_type
from fpgagen.layers.hw import BitVector
from fpgagen.sim.axis_tb import CONFIG_ENV, AxisSink, config_name, reset, run_stream, start_clock

# OUT None = no thresholds (raw accumulator)
CONFIGS = {
    "xnor_fold": dict(
        MW=64,
        MH=32,
        SIMD=16,
        PE=8,
        IN="BIPOLAR",
        W="BIPOLAR",
        N_THRES=1,
        OUT="UINT1",
        OUT_BIAS=0,
        RAM_STYLE="auto",
    ),
    "int4_ternary_int2out": dict(
        MW=24,
        MH=12,
        SIMD=4,
        PE=3,
        IN="INT4",
        W="TERNARY",
        N_THRES=3,
        OUT="INT2",
        OUT_BIAS=-2,
        RAM_STYLE="block",
    ),
    "uint8_int8_raw": dict(
        MW=10,
        MH=6,
        SIMD=5,
        PE=2,
        IN="UINT8",
        W="INT8",
        N_THRES=0,
        OUT=None,
        OUT_BIAS=0,
        RAM_STYLE="distributed",
    ),
    "simd1_pe1_unsigned": dict(
        MW=6,
        MH=4,
        SIMD=1,
        PE=1,
        IN="UINT2",
        W="UINT3",
        N_THRES=3,
        OUT="UINT2",
        OUT_BIAS=0,
        RAM_STYLE="auto",
    ),
    "unfolded_int4": dict(
        MW=8,
        MH=4,
        SIMD=8,
        PE=4,
        IN="INT4",
        W="INT4",
        N_THRES=15,
        OUT="UINT4",
        OUT_BIAS=0,
        RAM_STYLE="auto",
    ),
    # NF*SF = 1 with the weights as a constant parameter (CONST_W, the generator's choice for
    # a fully unrolled layer): multi-bit, XNOR and sparse TERNARY products
    "unfolded_int4_const": dict(
        MW=8,
        MH=4,
        SIMD=8,
        PE=4,
        IN="INT4",
        W="INT4",
        N_THRES=15,
        OUT="UINT4",
        OUT_BIAS=0,
        RAM_STYLE="auto",
        CONST=True,
    ),
    "unfolded_xnor_const": dict(
        MW=10,
        MH=12,
        SIMD=10,
        PE=12,
        IN="BIPOLAR",
        W="BIPOLAR",
        N_THRES=1,
        OUT="UINT1",
        OUT_BIAS=0,
        RAM_STYLE="auto",
        CONST=True,
    ),
    "unfolded_ternary_const_raw": dict(
        MW=6,
        MH=9,
        SIMD=6,
        PE=9,
        IN="UINT3",
        W="TERNARY",
        N_THRES=0,
        OUT=None,
        OUT_BIAS=0,
        RAM_STYLE="distributed",
        CONST=True,
    ),
    # UINT4 x INT4 products of one lane: an 8-bit accumulator narrows them below DSP width,
    # so the generator takes the weights as constants (MVAU.const_weights)
    "unfolded_u4i4_const_narrow": dict(
        MW=1,
        MH=4,
        SIMD=1,
        PE=4,
        IN="UINT4",
        W="INT4",
        N_THRES=0,
        OUT=None,
        OUT_BIAS=0,
        RAM_STYLE="auto",
        CONST=True,
    ),
    "bipolar_in_int4w": dict(
        MW=16,
        MH=8,
        SIMD=4,
        PE=2,
        IN="BIPOLAR",
        W="INT4",
        N_THRES=7,
        OUT="INT3",
        OUT_BIAS=-4,
        RAM_STYLE="auto",
    ),
    "uint4_bipolar_w_raw": dict(
        MW=12,
        MH=6,
        SIMD=6,
        PE=6,
        IN="UINT4",
        W="BIPOLAR",
        N_THRES=0,
        OUT=None,
        OUT_BIAS=0,
        RAM_STYLE="auto",
    ),
    # NF = 8, SF = 4: deep folding, the trickling-producer case of a PE = 1 predecessor
    "deep_fold_int3_int2": dict(
        MW=16,
        MH=16,
        SIMD=4,
        PE=2,
        IN="INT3",
        W="INT2",
        N_THRES=3,
        OUT="UINT2",
        OUT_BIAS=0,
        RAM_STYLE="distributed",
    ),
    # grouped MVAU: GROUPS groups of MW/GROUPS columns, multipliers of MULT_BITS bits; MULT
    # "row" = one multiplier per (row, group), "shared" = per group, equal for every row
    "xnor_grouped": dict(
        MW=48,
        MH=8,
        SIMD=4,
        PE=2,
        IN="BIPOLAR",
        W="BIPOLAR",
        N_THRES=1,
        OUT="UINT1",
        OUT_BIAS=0,
        RAM_STYLE="auto",
        GROUPS=6,
        MULT_BITS=5,
        MULT="row",
    ),
    "ternary_grouped_thres": dict(
        MW=27,
        MH=6,
        SIMD=3,
        PE=3,
        IN="INT4",
        W="TERNARY",
        N_THRES=3,
        OUT="INT2",
        OUT_BIAS=-2,
        RAM_STYLE="auto",
        GROUPS=9,
        MULT_BITS=3,
        MULT="shared",
    ),
    "uint2_ternary_grouped_nf1_raw": dict(
        MW=16,
        MH=4,
        SIMD=2,
        PE=4,
        IN="UINT2",
        W="TERNARY",
        N_THRES=0,
        OUT=None,
        OUT_BIAS=0,
        RAM_STYLE="distributed",
        GROUPS=4,
        MULT_BITS=16,
        MULT="row",
    ),
}
N_VECTORS = 12
WEIGHT_FILE = "weights.mem"
THRES_FILE = "thresholds.mem"
MULT_FILE = "mults.mem"


def _acc_bits(cfg, in_dt: DataType, w_dt: DataType, mult=None) -> int:
    """Smallest signed accumulator holding every possible dot product."""
    mw = cfg["MW"]
    if mult is not None:  # grouped: sum of |x * w| <= max|x| * max|w| * sum of the multipliers
        big = max(abs(in_dt.min), abs(in_dt.max)) * max(abs(w_dt.min), abs(w_dt.max))
        bound = big * (mw // cfg["GROUPS"]) * int(mult.sum(axis=1).max())
        return signed_bits_for(-bound, bound)
    if in_dt.is_bipolar and w_dt.is_bipolar:
        return signed_bits_for(0, mw)
    corners = [a * b for a in (in_dt.min, in_dt.max) for b in (w_dt.min, w_dt.max)]
    return signed_bits_for(mw * min(corners), mw * max(corners))


def _values(rng, dt: DataType, shape):
    if dt.is_bipolar:
        return rng.choice([-1, 1], size=shape)
    return rng.integers(dt.min, dt.max + 1, size=shape)


def reference(cfg, x, w, thr, mult=None):
    """Integer MVAU reference: accumulators (vectors, MH) and outputs."""
    in_dt, w_dt = DataType(cfg["IN"]), DataType(cfg["W"])
    if mult is not None:  # grouped: signed values (BIPOLAR as +-1) times scaled weights
        acc = x @ (w * np.repeat(mult, cfg["MW"] // cfg["GROUPS"], axis=1)).T
    elif in_dt.is_bipolar and w_dt.is_bipolar:
        acc = (x[:, None, :] == w[None, :, :]).sum(axis=2)  # XNOR-popcount
    else:
        acc = x @ w.T
    if cfg["N_THRES"] == 0:
        return acc, acc
    return acc, cfg["OUT_BIAS"] + (acc[:, :, None] >= thr[None, :, :]).sum(axis=2)


def _case(cfg: dict, seed: int = 0):
    """(parameters, weight lines, threshold lines, input words, expected output words, SF, NF)."""
    rng = np.random.default_rng(seed)
    mw, mh, simd, pe, n = cfg["MW"], cfg["MH"], cfg["SIMD"], cfg["PE"], cfg["N_THRES"]
    sf, nf = mw // simd, mh // pe
    in_dt, w_dt = DataType(cfg["IN"]), DataType(cfg["W"])
    groups, mult_bits = cfg.get("GROUPS", 1), cfg.get("MULT_BITS", 0)
    mult = None
    if mult_bits:
        hi = 1 << mult_bits
        if cfg["MULT"] == "shared":
            mult = np.repeat(rng.integers(1, hi, (1, groups)), mh, axis=0)
        else:
            mult = rng.integers(1, hi, (mh, groups))
        mult[:, 0] = hi - 1  # the largest multiplier occurs
    acc_bits = _acc_bits(cfg, in_dt, w_dt, mult)
    acc_dt = int_type(acc_bits)
    out_dt = DataType(cfg["OUT"]) if n else acc_dt

    x = _values(rng, in_dt, (N_VECTORS, mw))
    w = _values(rng, w_dt, (mh, mw))
    if mult is not None:  # also all-extreme vectors: the accumulator range is reached
        x[0] = in_dt.max
        x[1] = -1 if in_dt.is_bipolar else in_dt.min
        w[0] = w_dt.max
    thr = None
    if n:
        acc, _ = reference(cfg, x, w, np.zeros((mh, n), np.int64), mult)
        lo, hi = acc.min(axis=0) - 1, acc.max(axis=0) + 1  # per channel, so counts vary
        thr = np.sort(np.stack([rng.integers(lo[c], hi[c] + 1, size=n) for c in range(mh)]), axis=1)
        thr = np.clip(thr, acc_dt.min, acc_dt.max)
    _, y = reference(cfg, x, w, thr, mult)

    # weights: line nf*SF + sf, PE p at [p*SIMD*W +: SIMD*W], element s at [s*W +: W]
    w_lines = w.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3).reshape(nf * sf, pe * simd)
    weight_hex = packing.to_hex(packing.pack(w_lines, w_dt, pe * simd), pe * simd * w_dt.bits)
    thres_hex = []
    if n:
        thres_hex = packing.to_hex(
            packing.pack(thr.reshape(nf, pe * n), acc_dt, pe * n), pe * n * acc_bits
        )
    mult_hex = []
    if mult is not None:  # line nf*GROUPS + g, PE p at [p*MULT_BITS +: MULT_BITS]
        m_lines = mult.reshape(nf, pe, groups).transpose(0, 2, 1).reshape(nf * groups, pe)
        mult_hex = packing.to_hex(packing.pack(m_lines, uint_type(mult_bits), pe), pe * mult_bits)
    in_words = packing.words_to_ints(packing.pack(x, in_dt, simd))
    out_words = packing.words_to_ints(packing.pack(y, out_dt, pe))
    params = {
        "MW": mw,
        "MH": mh,
        "SIMD": simd,
        "PE": pe,
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
    if cfg.get("CONST"):  # the weight line as a constant parameter (no ROM, file unused)
        params.update(
            {"CONST_W": 1, "WEIGHT_CONST": BitVector(pe * simd * w_dt.bits, weight_hex[0])}
        )
    if mult is not None:  # only then: the plain configurations keep their cached builds
        params.update({"MULT_BITS": mult_bits, "GROUPS": groups, "MULT_FILE": MULT_FILE})
    return params, (weight_hex, mult_hex), thres_hex, in_words, out_words, sf, nf


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_mvau(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, (weight_hex, mult_hex), thres_hex, *_ = _case(CONFIGS[name])
    (tmp_path / WEIGHT_FILE).write_text("\n".join(weight_hex) + "\n")
    if mult_hex:
        (tmp_path / MULT_FILE).write_text("\n".join(mult_hex) + "\n")
    if thres_hex:
        (tmp_path / THRES_FILE).write_text("\n".join(thres_hex) + "\n")
    run_module_test("mvau", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name})


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    return _case(CONFIGS[config_name()])


def _timeout(sf, nf, n_in, n_out):
    return 200 + 8 * sf * nf * N_VECTORS + 20 * (n_in + n_out)


def _check(out, exp, nf):
    for i, (got, e) in enumerate(zip(out, exp)):
        assert got == e, f"vector {i // nf} output word {i % nf}: got {got:#x}, expected {e:#x}"


@cocotb.test()
@cocotb.parametrize(
    # (name, idle, back-pressure, seed)
    stress=[
        ("balanced", 0.3, 0.4, 4),
        ("input_starved", 0.8, 0.2, 5),
        ("output_stalled", 0.0, 0.8, 6),
    ]
)
async def mvau_random_stream(dut, stress):
    """Random idle and back-pressure: output words equal the numpy reference."""
    _, idle, backpressure, seed = stress
    _, _, _, ins, exp, sf, nf = _current()
    out, _ = await run_stream(
        dut,
        ins,
        len(exp),
        idle=idle,
        backpressure=backpressure,
        seed=seed,
        timeout_cycles=4 * _timeout(sf, nf, len(ins), len(exp)),
    )
    _check(out, exp, nf)


@cocotb.test()
async def mvau_throughput(dut):
    """No idle/back-pressure: steady state is NF*SF cycles per vector (exactly; spec: 5 %)."""
    _, _, _, ins, exp, sf, nf = _current()
    out, cycles = await run_stream(
        dut,
        ins,
        len(exp),
        idle=0.0,
        backpressure=0.0,
        timeout_cycles=_timeout(sf, nf, len(ins), len(exp)),
    )
    assert out == exp
    # last output word of vector 1 .. last output word of the last vector
    first, last = cycles[2 * nf - 1], cycles[N_VECTORS * nf - 1]
    per_vector = (last - first) / (N_VECTORS - 2)
    assert abs(per_vector - nf * sf) <= 0.05 * nf * sf, (
        f"{per_vector:.2f} cycles per vector, expected NF*SF = {nf * sf} (within 5 %)"
    )
    # the design has no bubbles at all: only a constant latency
    assert per_vector == nf * sf, f"{per_vector:.2f} cycles per vector, expected exactly {nf * sf}"
    in_cycles = dut._fg_source.cycles
    latency = cycles[0] - in_cycles[sf - 1]
    dut._log.info(
        "MVAU %s cycles/vector (NF*SF=%d), latency %d cycles from the last input "
        "handshake of fold 0 to its output handshake",
        per_vector,
        nf * sf,
        latency,
    )


async def _trickle_source(dut, words, k, accepted_cycles):
    """Offer one word every k cycles: after a handshake, tvalid is low for k - 1 cycles."""
    edge, ro = RisingEdge(dut.clk), ReadOnly()
    counter = dut._fg_cycles
    i, gap, valid, accepted = 0, 0, False, False
    while True:
        await edge
        if accepted:
            accepted_cycles.append(counter.cycle)
            i, gap, valid = i + 1, k - 1, False
        if i == len(words):
            dut.s_axis_tvalid.value = 0
            return
        if not valid and gap > 0:
            gap -= 1
            dut.s_axis_tvalid.value = 0
        elif not valid:
            dut.s_axis_tdata.value = words[i]
            dut.s_axis_tvalid.value = 1
            valid = True
        await ro
        accepted = valid and bool(dut.s_axis_tready.value)


def _trickle_k(kind, nf):
    """Gap of the trickling producer: SF*k below NF*SF (compute-bound) or above (input-bound)."""
    return {
        "compute_bound": max(1, (nf + 1) // 3),  # NF=8: k=3 -> 12 < 32 cycles
        "compute_bound_tight": max(1, nf - 1),  # input just faster than compute
        "input_bound_tight": nf + 1,  # input just slower than compute
        "input_bound": 2 * nf + 1,
    }[kind]


@cocotb.test()
@cocotb.parametrize(
    kind=["compute_bound", "compute_bound_tight", "input_bound_tight", "input_bound"]
)
async def mvau_trickle_throughput(dut, kind):
    """Producer with one word every k cycles: max(NF*SF, SF*k) cycles per vector (2 %; exact)."""
    _, _, _, ins, exp, sf, nf = _current()
    k = _trickle_k(kind, nf)
    counter = start_clock(dut)
    await reset(dut)
    sink = AxisSink(dut, backpressure=0.0)
    in_cycles: list[int] = []
    cocotb.start_soon(_trickle_source(dut, ins, k, in_cycles))
    timeout = _timeout(sf, nf, len(ins), len(exp)) + 2 * sf * k * N_VECTORS
    edge = RisingEdge(dut.clk)
    start = counter.cycle
    while len(sink.words) < len(exp):
        assert counter.cycle - start <= timeout, (
            f"timeout after {timeout} cycles: {len(in_cycles)}/{len(ins)} input words accepted, "
            f"{len(sink.words)}/{len(exp)} output words received"
        )
        await edge
    for _ in range(16):
        await edge
    assert len(sink.words) == len(exp), f"{len(sink.words) - len(exp)} extra output words"
    _check(sink.words, exp, nf)
    cycles = sink.cycles
    first, last = cycles[2 * nf - 1], cycles[N_VECTORS * nf - 1]
    per_vector = (last - first) / (N_VECTORS - 2)
    expected = max(nf * sf, sf * k)
    latency = cycles[0] - in_cycles[sf - 1]
    dut._log.info(
        "MVAU trickle k=%d (%s): %.2f cycles/vector, expected max(NF*SF=%d, SF*k=%d); "
        "latency %d cycles from the last input handshake of fold 0 to its output",
        k,
        kind,
        per_vector,
        nf * sf,
        sf * k,
        latency,
    )
    # the compute side waits for vector 0's words and takes the last one straight from the
    # stream (bypass), so the buffer adds no latency: 5 cycles (docs/rtl.md)
    assert latency == 5, f"latency {latency} cycles, expected 5"
    assert abs(per_vector - expected) <= 0.02 * expected, (
        f"k={k}: {per_vector:.2f} cycles per vector, expected max(NF*SF, SF*k) = {expected} (2 %)"
    )
    assert per_vector == expected, (
        f"k={k}: {per_vector:.2f} cycles per vector, expected exactly {expected}"
    )
