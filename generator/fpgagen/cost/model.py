"""Calibrated resource model of fpgagen's RTL layers (UltraScale+, as Yosys maps them).

``estimate(layer) -> {"lut", "ff", "bram18", "uram", "dsp"}`` is a pure function of the
layer's attributes (shape, folding, data types, accumulator width, thresholds, memory style).
It follows the structure of each module in ``rtl/``:

* memories are placed the way Yosys' ``memory_libmap`` places them (:func:`map_memory`: the
  same cost comparison of soft logic, LUTRAM, block RAM and UltraRAM), so BRAM counts are exact
  for the shapes fpgagen generates;
* multipliers go to DSP48E2 slices by Yosys' ``mul2dsp`` rule (both operands >= 2 bits, product
  >= 9 bits, one DSP up to 27 x 18 bits); XNOR and +-1 products stay in LUTs;
* LUTs and FFs are linear combinations of structural features (:func:`features`: MAC operand
  bits, adder-tree bits, accumulator and comparator bits, ROM bits per LUT, counter bits...)
  whose coefficients (:data:`COEF`) were fitted by least squares (relative error) to Yosys
  ``synth_xilinx -family xcup`` runs on the sweep in ``benchmarks/cost/calibrate.py``
  (data: ``benchmarks/results/cost_sweep.json``; method and error table: docs/cost_model.md).

:func:`finn_mvau_lut` and :func:`finn_mvau_bram18` implement FINN's published MVAU formulas
(FINN-R, Blott et al. 2018, as coded in FINN's ``MatrixVectorActivation.lut_estimation`` and
``bram_estimation``) for comparison.
"""

from __future__ import annotations

import math

from ..errors import FpgagenError

__all__ = ["estimate", "features", "map_memory", "mvau_dsp", "finn_mvau_lut",
           "finn_mvau_bram18", "COEF", "ModelError"]


class ModelError(FpgagenError):
    """The cost model does not know a layer type."""


def clog2(n: int) -> int:
    return max(0, (int(n) - 1).bit_length())


def _w(n: int) -> int:
    """Width of a counter over ``n`` values as the RTL declares it (``n > 1 ? clog2(n) : 1``)."""
    return clog2(n) if n > 1 else 1


# ------------------------------------------------------------------------------------------
# memories: a replica of Yosys' memory_libmap choice for single-clock SDP RAMs and ROMs
# ------------------------------------------------------------------------------------------
#: (name, kind, cost, abits-of-narrowest, widths, luts per cell) of the UltraScale+ LUTRAM
#: library entries usable for a 1-write/1-read RAM (Yosys techlibs/xilinx/lutrams_xcu.txt)
_LUTRAM = [
    # cost is 16 * (bits used / cell width): "widthscale"
    ("DP32", 5, 8, 4),      # RAM32M:   8 bits x 32, 4 LUTs
    ("DP64", 6, 4, 4),      # RAM64M:   4 bits x 64, 4 LUTs
    ("DP128", 7, 2, 4),     # 2 x RAM128X1D
    ("DP256", 8, 1, 8),     # RAM256X1D
    ("SDP32", 5, 14, 8),    # RAM32M16: 14 bits x 32, 8 LUTs
    ("SDP64", 6, 7, 8),     # RAM64M8:  7 bits x 64, 8 LUTs
]
#: block RAM (brams_xc4v.txt with HAS_SIZE_36): (name, bram18 per cell, cost, abits, widths)
_BRAM = [
    ("TDP18", 1, 129, 14, (1, 2, 4, 9, 18)),
    ("TDP36", 2, 257, 15, (1, 2, 4, 9, 18, 36)),
    ("SDP18", 1, 129, 14, (1, 2, 4, 9, 18, 36)),
    ("SDP36", 2, 257, 15, (1, 2, 4, 9, 18, 36, 72)),
]
_FACTOR_MUX = 0.5
_FACTOR_DEMUX = 0.5


def _geom(depth, width, abits, widths, byte, rom, sdp_fixed=None):
    """Best (cost-free) geometry of one library entry: [(unit, mult_a, repl)] candidates."""
    out = []
    for i, unit in enumerate(widths):
        if sdp_fixed is not None and unit != sdp_fixed:
            continue
        depth_u = 1 << (abits - i)
        mult_a = max(1, math.ceil(depth / depth_u))
        eb = 1 if rom else (min(byte, unit) if byte else unit)
        sw = math.ceil(width / eb) * eb
        repl = math.ceil(mult_a * sw / unit)
        out.append((unit, mult_a, repl))
    return out


def map_memory(depth: int, width: int, rom: bool, style: str = "auto") -> dict:
    """How Yosys maps a ``depth x width`` memory with one registered read port.

    ``rom``: no write port (contents from ``$readmemh``). ``style``: the ``ram_style``
    attribute: ``auto``, ``block``, ``distributed`` (a distributed ROM is soft logic),
    ``logic``/``registers``. Returns ``{"kind": "logic"|"lutram"|"bram"|"uram", "bram18",
    "uram", "lutram_luts", "cells"}``.
    """
    depth, width = int(depth), int(width)
    res = {"kind": "logic", "bram18": 0, "uram": 0, "lutram_luts": 0, "cells": 0}
    if depth <= 0 or width <= 0:
        return res
    if rom and style == "distributed":
        style = "logic"
    cands = []  # (cost, kind, result)
    if style in ("auto", "logic", "registers"):
        cands.append((depth * width * (1.0 / 16 if rom else 1.0), "logic", dict(res)))
    if style in ("auto", "distributed") and not rom:
        for name, abits, unit, luts in _LUTRAM:
            mult_a = max(1, math.ceil(depth / (1 << abits)))
            repl = math.ceil(mult_a * width / unit)
            cost = 16 * (mult_a * width // unit)
            cost += (mult_a - 1) * width * _FACTOR_MUX
            cost += (mult_a * _FACTOR_DEMUX if mult_a > 1 else 0)
            cands.append((cost, "lutram", {"kind": "lutram", "bram18": 0, "uram": 0,
                                           "lutram_luts": repl * luts, "cells": repl,
                                           "mult_a": mult_a}))
    if style in ("auto", "block"):
        for name, b18, ccost, abits, widths in _BRAM:
            fixed = None
            if name.startswith("SDP"):
                fixed = 36 if name == "SDP18" else 72
            for unit, mult_a, repl in _geom(depth, width, abits, widths, 9, rom, fixed):
                cost = ccost * repl + (mult_a - 1) * width * _FACTOR_MUX
                if not rom and mult_a > 1:
                    cost += mult_a * _FACTOR_DEMUX
                cands.append((cost, "bram", {"kind": "bram", "bram18": b18 * repl, "uram": 0,
                                             "lutram_luts": 0, "cells": repl,
                                             "mult_a": mult_a}))
    if style in ("auto", "ultra", "huge") and not rom:
        mult_a = max(1, math.ceil(depth / 4096))
        repl = mult_a * math.ceil(width / 72)
        cands.append((1024 * repl + (mult_a - 1) * width * _FACTOR_MUX, "uram",
                      {"kind": "uram", "bram18": 0, "uram": repl, "lutram_luts": 0,
                       "cells": repl, "mult_a": mult_a}))
    if not cands:
        raise ModelError(f"no mapping for a {depth}x{width} {'ROM' if rom else 'RAM'} with "
                         f"style {style!r}")
    best = cands[0]
    for c in cands[1:]:
        if c[0] < best[0]:
            best = c
    return best[2]


def rom_logic_luts(depth: int, width: int) -> float:
    """LUTs of a ``depth x width`` ROM in soft logic with random contents.

    One LUT6 holds 64 words of a bit; deeper ROMs add a mux tree (4:1 per LUT6).
    A 1-word ROM is a constant (0 LUTs).
    """
    if depth <= 1:
        return 0.0
    k = math.ceil(depth / 64)
    per_bit = k + (math.ceil((k - 1) / 3) if k > 1 else 0)
    if depth <= 32:
        per_bit = 0.75  # LUT5-sized functions pack better
    return per_bit * width


def _mem_luts(m: dict, depth: int, width: int, rom: bool) -> float:
    if m["kind"] == "lutram":
        # read mux over several LUTRAM banks
        extra = (m.get("mult_a", 1) - 1) * width * 0.5
        return m["lutram_luts"] + extra
    if m["kind"] == "logic":
        return rom_logic_luts(depth, width) if rom else depth * width * 0.6
    return 0.0


def _mem_ffs(m: dict, depth: int, width: int, rom: bool) -> float:
    """FFs a memory adds: its registered read port unless a RAM block absorbs it."""
    if m["kind"] in ("bram", "uram"):
        return 0.0
    if m["kind"] == "logic" and not rom:
        return depth * width + width
    if m["kind"] == "logic" and depth <= 1:
        return 0.0
    return width


# ------------------------------------------------------------------------------------------
# DSP rule
# ------------------------------------------------------------------------------------------
def mvau_operands(layer) -> tuple:
    """(XE, WE, P_BITS, kind) of the MVAU's products as rtl/mvau.v declares them."""
    ind, wd = layer.in_dtype, layer.w_dtype
    ib, wb = ind.bits, wd.bits
    isg = ind.signed and not ind.is_bipolar
    wsg = wd.signed and not wd.is_bipolar
    xe, we = ib + (0 if isg else 1), wb + (0 if wsg else 1)
    if ind.is_bipolar and wd.is_bipolar:
        return xe, we, 1, "xnor"
    if ind.is_bipolar:
        return xe, we, wb + 1, "neg"
    if wd.is_bipolar:
        return xe, we, ib + 1, "neg"
    return xe, we, xe + we, "mul"


def _dsp_per_product(a: int, b: int) -> int:
    """DSP48E2 per signed a x b multiplier under Yosys' mul2dsp (27x18, >= 2x2, >= 9 bits)."""
    if a < 2 or b < 2 or a + b < 9:
        return 0
    a, b = max(a, b), min(a, b)
    if b > 18:
        return math.ceil(a / 26) * math.ceil(b / 17)
    return math.ceil(max(0, a - 27) / 17) + 1 if a > 27 else 1


def mvau_dsp(layer) -> int:
    xe, we, _, kind = mvau_operands(layer)
    if kind != "mul":
        return 0
    if layer.nf * layer.sf == 1:
        return 0  # constant weights: products become constant multiplications in LUTs
    return layer.pe * layer.simd * _dsp_per_product(xe, we)


def _tree_bits(n: int, w: int) -> int:
    """Adder bits of rtl/adder_tree.v summing ``n`` operands of ``w`` bits."""
    bits, cnt, lvl = 0, n, 0
    while cnt > 1:
        lvl += 1
        pairs = cnt // 2
        bits += pairs * (w + lvl)
        cnt = (cnt + 1) // 2
    return bits


# ------------------------------------------------------------------------------------------
# features per layer type (LUT and FF are sum(COEF[type][res][k] * f[k]))
# ------------------------------------------------------------------------------------------
def _mvau(l) -> dict:
    pe, simd, nf, sf = l.pe, l.simd, l.nf, l.sf
    acc = l.acc_bits
    xe, we, pb, kind = mvau_operands(l)
    ib = l.in_dtype.bits
    iw = simd * ib
    ww = pe * simd * l.w_dtype.bits
    depth = nf * sf
    n_thr = 0 if l.thresholds is None else int(l.thresholds.shape[1])
    ob = l.out_dtype.bits
    sum_bits = pb + clog2(simd)
    const_w = depth == 1
    style = l.weight_memory()["style"]
    wmem = map_memory(depth, ww, True, style)
    ctrl = _w(sf) + _w(nf) + _w(depth)
    # input double buffer (NF > 1): 2*SF words, simple dual port RAM
    if nf > 1:
        bmem = map_memory(2 * sf, iw, False, "auto")
        buf_luts = _mem_luts(bmem, 2 * sf, iw, False)
        buf_ctrl = 2 * _w(2 * sf) + _w(sf)
    else:
        bmem = {"kind": "none", "bram18": 0, "uram": 0}
        buf_luts = buf_ctrl = 0
    dsp = mvau_dsp(l)
    per_pe_tree = _tree_bits(simd, pb)
    f = {"const": 1.0, "ctrl": ctrl + buf_ctrl, "ibuf": buf_luts + (iw if nf > 1 else 0),
         "wrom": _mem_luts(wmem, depth, ww, True),
         "pop": 0.0, "neg": 0.0, "mul": 0.0, "tree": 0.0, "tree_dsp": 0.0, "mac_const": 0.0,
         "acc": pe * acc, "thr_cmp": 0.0, "thr_cmp_const": 0.0, "thr_rom": 0.0, "thr_cnt": 0.0}
    if const_w:
        f["mac_const"] = pe * (simd * (pb if kind != "xnor" else 1) + per_pe_tree)
    elif kind == "xnor":
        f["pop"] = pe * (simd + per_pe_tree)
    elif kind == "neg":
        f["neg"] = pe * simd * pb
        f["tree"] = pe * per_pe_tree
    elif dsp:
        f["tree_dsp"] = pe * per_pe_tree
    else:
        f["mul"] = pe * simd * xe * we
        f["tree"] = pe * per_pe_tree
    tmem = {"kind": "none", "bram18": 0, "uram": 0}
    if n_thr:
        tw = pe * n_thr * acc
        if nf > 1:
            tmem = map_memory(nf, tw, True, "auto")
            f["thr_rom"] = _mem_luts(tmem, nf, tw, True)
            f["thr_cmp"] = pe * n_thr * acc
        else:
            f["thr_cmp_const"] = pe * n_thr * acc
        f["thr_cnt"] = pe * n_thr
    ff = {"const": 1.0, "ctrl": ctrl + buf_ctrl,
          "in": iw * (2 if nf > 1 and bmem["kind"] == "lutram" else 1),
          "wreg": _mem_ffs(wmem, depth, ww, True) if not const_w else 0.0,
          "dot": pe * min(acc, sum_bits + 1) if not const_w else 0.0,
          "acc": pe * acc,
          "thr": (_mem_ffs(tmem, nf, pe * n_thr * acc, True) if n_thr and nf > 1 else 0.0),
          "out": pe * ob}
    mem = {"bram18": wmem["bram18"] + bmem["bram18"] + tmem["bram18"],
           "uram": bmem.get("uram", 0), "dsp": dsp}
    return {"lut": f, "ff": ff, "mem": mem}


def _thresholding(l) -> dict:
    pe, n = l.pe, int(l.thresholds.shape[1])
    nf = l.in_channels // pe
    tb, ib, ob = l.t_bits, l.in_dtype.bits, l.out_dtype.bits
    vx = ib + (0 if (l.in_dtype.signed and not l.in_dtype.is_bipolar) else 1)
    cmpw = max(vx, tb)
    tw = pe * n * tb
    f = {"const": 1.0, "ctrl": _w(nf), "thr_rom": 0.0, "thr_cmp": 0.0, "thr_cmp_const": 0.0,
         "thr_cnt": pe * n}
    tmem = {"kind": "none", "bram18": 0, "uram": 0}
    if nf > 1:
        tmem = map_memory(nf, tw, True, "auto")
        f["thr_rom"] = _mem_luts(tmem, nf, tw, True)
        f["thr_cmp"] = pe * n * cmpw
    else:
        f["thr_cmp_const"] = pe * n * cmpw
    ff = {"const": 1.0, "ctrl": _w(nf), "in": pe * ib,
          "thr": _mem_ffs(tmem, nf, tw, True) if nf > 1 else 0.0, "out": pe * ob}
    return {"lut": f, "ff": ff, "mem": {"bram18": tmem["bram18"], "uram": 0, "dsp": 0}}


def _fifo(l) -> dict:
    w, d = l.in_width, l.depth
    m = map_memory(d, w, False, "auto")
    aw, cw = _w(d), clog2(d + 2)
    f = {"const": 1.0, "ctrl": 2 * aw + cw, "mem": _mem_luts(m, d, w, False)}
    ff = {"const": 1.0, "ctrl": 2 * aw + cw, "data": w + (d * w if m["kind"] == "logic" else 0)}
    return {"lut": f, "ff": ff, "mem": {"bram18": m["bram18"], "uram": m["uram"], "dsp": 0}}


def _dwc(l) -> dict:
    i, o = l.in_width, l.out_width
    g = math.gcd(i, o)
    buf = i + o + min(i, o) - g
    slots = (buf - i) // g + 1
    cw = clog2(buf + 1)
    f = {"const": 1.0, "buf": buf, "slots": slots * i, "ctrl": cw}
    ff = {"const": 1.0, "buf": buf, "ctrl": cw}
    return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}


def _swu(l) -> dict:
    width = l.simd * l.in_dtype.bits
    depth = l.buffer_words()
    m = map_memory(depth, width, False, "auto")
    cf = l.ch // l.simd
    cnt = _w(cf) + _w(l.k_w) + _w(l.k_h) + _w(l.ofm_w) + _w(l.ofm_h) + 2 * _w(depth) \
        + _w(l.ifm_w) + _w(l.ifm_h)
    f = {"const": 1.0, "ctrl": cnt, "mem": _mem_luts(m, depth, width, False), "width": width}
    ff = {"const": 1.0, "ctrl": cnt,
          "data": 2 * width + (depth * width if m["kind"] == "logic" else 0)}
    return {"lut": f, "ff": ff, "mem": {"bram18": m["bram18"], "uram": m["uram"], "dsp": 0}}


def _padding(l) -> dict:
    width = l.simd * l.in_dtype.bits
    cnt = _w(l.ch // l.simd) + _w(l.ofm_w) + _w(l.ofm_h)
    f = {"const": 1.0, "ctrl": cnt, "width": width}
    ff = {"const": 1.0, "ctrl": cnt, "width": width}
    return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}


def _pool_like(l, k, mode_sum) -> dict:
    pe = l.pe
    ib = 1 if l.in_dtype.is_bipolar else l.in_dtype.bits
    ob = l.out_dtype.bits
    cf = l.ch // pe
    owd = pe * ob
    m = map_memory(cf, owd, False, "distributed")
    f = {"const": 1.0, "ctrl": _w(cf) + _w(k), "op": owd, "mem": _mem_luts(m, cf, owd, False)}
    ff = {"const": 1.0, "ctrl": 2 * _w(cf) + _w(k), "data": pe * ib + 4 * owd}
    return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}


def _pool(l) -> dict:
    return _pool_like(l, l.k, l.mode == "sum")


def _gap(l) -> dict:
    return _pool_like(l, l.n_pix, True)


def _label(l) -> dict:
    ib = l.in_dtype.bits
    idx = l.out_dtype.bits
    cf = l.ch // l.pe
    f = {"const": 1.0, "sort": l.pe * l.k * (ib + idx), "ctrl": _w(cf) + idx}
    ff = {"const": 1.0, "data": l.k * (ib + 2 * idx + 1), "ctrl": _w(cf) + idx}
    return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}


def _add(l) -> dict:
    w = l.pe * l.out_dtype.bits
    return {"lut": {"const": 1.0, "width": w}, "ff": {"const": 1.0, "width": w},
            "mem": {"bram18": 0, "uram": 0, "dsp": 0}}


def _dup(l) -> dict:
    w = l.in_width
    return {"lut": {"const": 1.0, "width": w}, "ff": {"const": 1.0, "width": w},
            "mem": {"bram18": 0, "uram": 0, "dsp": 0}}


_FEATURES = {
    "MVAU": _mvau, "Thresholding": _thresholding, "FIFO": _fifo, "DWC": _dwc,
    "SlidingWindow": _swu, "FMPadding": _padding, "Pool": _pool, "GlobalAccPool": _gap,
    "LabelSelect": _label, "AddStreams": _add, "DuplicateStreams": _dup,
}

#: fitted coefficients (benchmarks/cost/calibrate.py fit); keys as in features()
COEF: dict = {}

from ._coef import COEF  # noqa: E402  (generated by calibrate.py fit --write)


def features(layer) -> dict | None:
    """Structural features of ``layer``: ``{"lut": {...}, "ff": {...}, "mem": {...}}``.

    ``mem`` holds the exact counts (bram18, uram, dsp); None for an unknown layer type.
    """
    fn = _FEATURES.get(layer.op_type)
    return None if fn is None else fn(layer)


def estimate(layer) -> dict:
    """Resource estimate ``{"lut", "ff", "bram18", "uram", "dsp"}`` of one hardware layer."""
    f = features(layer)
    if f is None:
        raise ModelError(f"layer {layer.name}: no cost model for layer type {layer.op_type!r}; "
                         f"known: {', '.join(sorted(_FEATURES))}")
    coef = COEF.get(layer.op_type)
    if coef is None:
        raise ModelError(f"layer {layer.name}: the cost model of {layer.op_type} is not "
                         "calibrated; run benchmarks/cost/calibrate.py fit --write")
    out = {}
    for res in ("lut", "ff"):
        c = coef[res]
        out[res] = max(1, int(round(sum(c.get(k, 0.0) * v for k, v in f[res].items()))))
    out["bram18"] = int(f["mem"]["bram18"])
    out["uram"] = int(f["mem"].get("uram", 0))
    out["dsp"] = int(f["mem"]["dsp"])
    return out


# ------------------------------------------------------------------------------------------
# FINN's published MVAU formulas (for comparison)
# ------------------------------------------------------------------------------------------
def finn_mvau_lut(layer) -> int:
    """FINN's MVAU LUT estimate (FINN-R: c0 = 300, c1 = 1.1, LUT multipliers, memory LUTs).

    ``c0 + c1 * PE * (mult + addertree + acc + thr + comp) + c2`` with
    ``mult = Q * (2*ceil((W+A)/6) - 1) * (W+A)`` (0 for DSP multipliers),
    ``addertree = (W+A) * (2Q - 1)``, ``acc = acc_bits``, and with thresholds of ``B`` output
    bits ``thr = (2^B - 1) * acc_bits * ceil(TMEM/64)``, ``comp = (2^B - 1) * acc_bits``;
    ``c2 = P*Q*W * ceil(WMEM/64)`` for a distributed weight memory. Here ``acc_bits`` is the
    layer's accumulator width and multipliers that fpgagen puts in DSPs count 0 LUTs.
    """
    P, Q = layer.pe, layer.simd
    W, A = layer.w_dtype.bits, layer.in_dtype.bits
    wmem = layer.nf * layer.sf
    tmem = layer.nf
    c0, c1, c2 = 300, 1.1, 0
    if layer.weight_memory()["style"] == "distributed":
        c2 = P * Q * W * math.ceil(wmem / 64)
    mult = 0 if mvau_dsp(layer) else Q * (2 * math.ceil((W + A) / 6) - 1) * (W + A)
    addertree = (W + A) * (2 * Q - 1)
    acc = layer.acc_bits
    thr = comp = 0
    if layer.thresholds is not None:
        B = layer.out_dtype.bits
        thr = (2 ** B - 1) * acc * math.ceil(tmem / 64)
        comp = (2 ** B - 1) * acc
    return int(c0 + c1 * (P * (mult + addertree + acc + thr + comp)) + c2)


def finn_mvau_bram18(layer) -> int:
    """FINN's MVAU BRAM estimate (RAMB18 in SDP mode, FINN ``bram_estimation``)."""
    if layer.weight_memory()["style"] != "block":
        return 0
    P, Q, W = layer.pe, layer.simd, layer.w_dtype.bits
    omega = layer.mw * layer.mh / (Q * P)
    mem_width = Q * W * P
    if mem_width == 1:
        return math.ceil(omega / 16384)
    if mem_width == 2:
        return math.ceil(omega / 8192)
    if mem_width <= 4:
        return math.ceil(omega / 4096) * math.ceil(mem_width / 4)
    if mem_width <= 9:
        return math.ceil(omega / 2048) * math.ceil(mem_width / 9)
    if mem_width <= 18 or omega > 512:
        return math.ceil(omega / 1024) * math.ceil(mem_width / 18)
    return math.ceil(omega / 512) * math.ceil(mem_width / 36)
