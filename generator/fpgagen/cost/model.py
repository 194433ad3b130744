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

import functools
import math
import sys

import numpy as np

from ..datatypes import smallest_int_type
from ..errors import FpgagenError
from ..layers.base import register_cost_model
from ..layers.hw import dsp_per_product, product_operands
from ..layers.memory import uram_blocks

__all__ = [
    "COEF",
    "ModelError",
    "act_luts",
    "act_soft_luts",
    "distinct_thresholds",
    "dot_luts",
    "estimate",
    "features",
    "finn_mvau_bram18",
    "finn_mvau_lut",
    "lut_band",
    "map_memory",
    "mt_count_width",
    "mvau_dsp",
    "stitched_pes",
    "top_glue",
    "total_lut_band",
]


class ModelError(FpgagenError):
    """The cost model does not know a layer type."""


def clog2(n: int) -> int:
    return max(0, (int(n) - 1).bit_length())


def trailing_zeros(n: int) -> int:
    """The zero bits below ``n``'s lowest one bit (``n > 0``): the low bits that adding,
    comparing with or wrapping at a multiple of ``2**trailing_zeros(n)`` leaves alone."""
    return (int(n) & -int(n)).bit_length() - 1


def counter_bits(n: int) -> int:
    """Width of a counter over ``n`` values as the RTL declares it (``n > 1 ? clog2(n) : 1``)."""
    return clog2(n) if n > 1 else 1


#: Yosys ``synth_xilinx`` maps an adder or comparator (``$alu``/``$lcu``) of at most this many
#: result bits to plain LUT logic (techlibs/xilinx/arith_map.v: ``_TECHMAP_FAIL_ = WIDTH <=
#: 2``), wider ones to a carry chain with one LUT per bit
CARRY_MIN_BITS = 3


def mux_luts(n: int) -> int:
    """LUTs per bit of an ``n``:1 multiplexer on UltraScale+: a LUT6 is a 4:1 mux and the
    MUXF7/MUXF8 of its slice (not LUTs) join two and four of them, so up to 16 inputs take
    ``ceil(n / 4)`` LUTs; wider muxes are trees of those."""
    n = int(n)
    if n <= 1:
        return 0
    if n <= 16:
        return -(-n // 4)
    k = -(-n // 16)
    return 4 * k + mux_luts(k)


# ------------------------------------------------------------------------------------------
# memories: a replica of Yosys' memory_libmap choice for single-clock SDP RAMs and ROMs
# ------------------------------------------------------------------------------------------
#: (name, abits, width, LUTs per cell) of the UltraScale+ LUTRAM library entries usable for a
#: 1-write/1-read RAM (Yosys techlibs/xilinx/lutrams_xcu.txt); cost 16 x banks x width / cell
#: width ("widthscale")
_LUTRAM = [
    ("DP32", 5, 8, 4),  # RAM32M:   8 bits x 32, 4 LUTs
    ("DP64", 6, 4, 4),  # RAM64M:   4 bits x 64, 4 LUTs
    ("DP128", 7, 2, 4),  # 2 x RAM128X1D
    ("DP256", 8, 1, 8),  # RAM256X1D
    ("SDP32", 5, 14, 8),  # RAM32M16: 14 bits x 32, 8 LUTs
    ("SDP64", 6, 7, 8),  # RAM64M8:  7 bits x 64, 8 LUTs
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
#: memory_libmap's soft-logic cost per ROM bit in Yosys 0.70 (per RAM bit: 1)
_LOGIC_COST_ROM = 1.0 / 64
#: emulation score of the (unshared) read port, x FACTOR_EMU = 2, for a block RAM (and URAM)
#: only: a LUTRAM's read port is asynchronous and the layer's output register after it costs
#: no emulation. With it on LUTRAM too, 7 of the 208 RAMs of benchmarks/cost/memory_grid.py
#: (depth 40-300 x width 12-48) and one stored window buffer (72 x 29) were priced as block
#: RAM where Yosys builds LUTRAM; without it, all 208 and every stored layer's BRAM count agree
_EMU = 2.0


def _mux_demux(mult_a: int, width: int, rom: bool) -> float:
    """Read mux / write demux penalty of a memory split over ``mult_a`` address banks."""
    cost = (mult_a - 1) * width * _FACTOR_MUX
    if not rom and mult_a > 1:
        cost += mult_a * _FACTOR_DEMUX
    return cost


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
    ``ultra`` (URAM288 blocks, :func:`fpgagen.layers.memory.uram_blocks`; a ROM too),
    ``logic``/``registers``, ``external`` (no memory: the weights stream in from DDR; kind
    ``external``, whose only cost is the word register, :func:`mem_ffs`). Returns ``{"kind": "logic"|"lutram"|"bram"|"uram", "bram18",
    "uram", "lutram_luts", "cells"}``.
    """
    depth, width = int(depth), int(width)
    res = {"kind": "logic", "bram18": 0, "uram": 0, "lutram_luts": 0, "cells": 0}
    if style == "external":  # weights streamed from DDR: no memory (a word register)
        return {**res, "kind": "external"}
    if depth <= 0 or width <= 0:
        return res
    if rom and style == "distributed":
        style = "logic"
    cands = []  # (cost, kind, result)
    if style in ("auto", "logic", "registers"):
        cands.append((depth * width * (_LOGIC_COST_ROM if rom else 1.0), "logic", dict(res)))
    if style in ("auto", "distributed") and not rom:
        for _name, abits, unit, luts in _LUTRAM:
            mult_a = max(1, math.ceil(depth / (1 << abits)))
            repl = mult_a * math.ceil(width / unit)
            cost = 16.0 * mult_a * width / unit + _mux_demux(mult_a, width, rom)
            cands.append(
                (
                    cost,
                    "lutram",
                    {
                        "kind": "lutram",
                        "bram18": 0,
                        "uram": 0,
                        "lutram_luts": repl * luts,
                        "cells": repl,
                        "mult_a": mult_a,
                    },
                )
            )
    if style in ("auto", "block"):
        for name, b18, ccost, abits, widths in _BRAM:
            fixed = None
            if name.startswith("SDP"):
                fixed = 36 if name == "SDP18" else 72
            for _unit, mult_a, repl in _geom(depth, width, abits, widths, 9, rom, fixed):
                cost = ccost * repl + _mux_demux(mult_a, width, rom) + _EMU
                cands.append(
                    (
                        cost,
                        "bram",
                        {
                            "kind": "bram",
                            "bram18": b18 * repl,
                            "uram": 0,
                            "lutram_luts": 0,
                            "cells": repl,
                            "mult_a": mult_a,
                        },
                    )
                )
    # UltraRAM: 4096 x 72 per URAM288, width- and depth-cascaded (layers.memory.uram_blocks).
    # Only on request: ``synth_xilinx`` infers URAM288 for ``auto`` memories only with its
    # ``-uram`` option, which fpgagen's script does not pass (a 2739 x 40 FIFO: 4 RAMB36 in
    # Yosys, where the model had chosen one URAM by memory_libmap's costs, 1024 against
    # 4 x 257). An explicit ``ultra`` ROM is the weight memory of a planned URAM layer, loaded
    # at run time, so it is costed as such (Yosys never infers a URAM ROM: no init)
    if style in ("ultra", "huge"):
        mult_a = max(1, math.ceil(depth / 4096))
        repl = uram_blocks(depth, width)
        cands.append(
            (
                1024 * repl + _mux_demux(mult_a, width, rom) + _EMU,
                "uram",
                {
                    "kind": "uram",
                    "bram18": 0,
                    "uram": repl,
                    "lutram_luts": 0,
                    "cells": repl,
                    "mult_a": mult_a,
                },
            )
        )
    if not cands:
        raise ModelError(
            f"no mapping for a {depth}x{width} {'ROM' if rom else 'RAM'} with style {style!r}"
        )
    best = cands[0]
    for c in cands[1:]:
        if c[0] < best[0]:
            best = c
    return best[2]


def rom_logic_luts(depth: int, width: int) -> float:
    """LUTs of a ``depth x width`` ROM in soft logic with random contents, addressed by a fold
    counter as in the layers: ``width`` x the Yosys table :data:`ROM` (LUTs per bit of
    benchmarks/cost/blocks/rom_ctr.v at 2..1024 words, 4 points per octave from 16 words,
    two random contents each; interpolated, in proportion to the words beyond).

    A 1-word ROM is a constant (0 LUTs). The table is far from the textbook figure of one
    LUT6 per 64 words of a bit: at 64 words Yosys spends 3.6 LUTs per bit, at 1024 words 65,
    when the address comes from a counter register (with the address on a port, 1 and about
    20)."""
    if depth <= 1:
        return 0.0
    top = max(ROM)
    if depth > top:
        # beyond the grid in proportion to the words (1024 words cost 1.9 times 512 per bit:
        # banks of LUT6 and their mux tree), not along the last two grid points' slope,
        # which are an eighth of an octave apart and as noisy as two random contents
        return ROM[top] * depth / top * width
    return _interp(ROM, depth) * width


def varying_bits(words) -> int:
    """Bit columns of a ROM that are not constant over its words (Yosys drops the others).

    ``words``: integer matrix ``(depth, fields)`` of non-negative field codes; a field's
    bits are counted separately.
    """
    w = np.asarray(words, dtype=np.uint64)
    if w.ndim != 2 or w.shape[0] <= 1:
        return 0
    diff = np.bitwise_or.reduce(w ^ w[0], axis=0)
    # popcount of every column, vectorised (a Python loop here dominated the optimiser's time)
    return int(np.unpackbits(np.ascontiguousarray(diff).view(np.uint8)).sum())


def mvau_weight_fields(layer) -> np.ndarray:
    """Weight ROM contents as ``(NF*SF, PE*SIMD)`` field codes (docs/conventions.md)."""
    w = np.asarray(layer.weights, dtype=np.int64)
    w = w.reshape(layer.nf, layer.pe, layer.sf, layer.simd).transpose(0, 2, 1, 3)
    w = w.reshape(layer.nf * layer.sf, layer.pe * layer.simd)
    bits = layer.w_dtype.bits
    if layer.w_dtype.is_bipolar:
        return (w > 0).astype(np.uint64)
    return (w & ((1 << bits) - 1)).astype(np.uint64)


def distinct_varying_columns(fields, bits: int) -> int:
    """Bit columns of a ROM of ``bits``-bit fields that vary over its words, counting equal
    columns once (Yosys merges them: SYQ multipliers shared by all output channels make every
    PE's slice the same; a threshold ROM's columns repeat across PEs, :func:`threshold_columns`).
    Each column is packed into bytes and the distinct rows counted in one ``np.unique``."""
    f = np.asarray(fields, dtype=np.uint64)
    if f.ndim != 2 or f.shape[0] <= 1:
        return 0
    cols = ((f[:, :, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    cols = cols.reshape(f.shape[0], -1).T  # one row per bit column
    varying = cols[np.any(cols != cols[:, :1], axis=1)]
    if not len(varying):
        return 0
    packed = np.ascontiguousarray(np.packbits(varying, axis=1))
    return int(len(np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel())))


def mvau_mult_fields(layer) -> np.ndarray:
    """Group multiplier ROM contents of a grouped MVAU as ``(NF*G, PE)`` field codes."""
    m = np.asarray(layer.group_mult, dtype=np.int64)
    m = m.reshape(layer.nf, layer.pe, layer.groups).transpose(0, 2, 1)
    return m.reshape(layer.nf * layer.groups, layer.pe).astype(np.uint64)


def threshold_fields(thresholds, pe: int, t_bits: int) -> np.ndarray:
    """Threshold ROM contents as ``(NF, PE*N)`` two's complement field codes."""
    t = np.asarray(thresholds, dtype=np.int64)
    nf = t.shape[0] // pe
    return (t.reshape(nf, pe * t.shape[1]) & ((1 << t_bits) - 1)).astype(np.uint64)


def threshold_columns(thresholds, pe: int, t_bits: int) -> tuple[int, int]:
    """``(varying, distinct)`` bit columns of a threshold ROM (:func:`threshold_fields`):
    the columns that vary over its words (:func:`varying_bits`: Yosys drops the others before
    it maps the memory) and how many of those differ, each column being the function of the
    fold counter that it holds. Equal columns are one signal once synthesis has merged them,
    in any PE: a ROM of ``d`` words has at most ``2**d`` different columns, so that with 8
    words (256) and many PEs most columns repeat. The comparator blocks fed by such a ROM
    show it (blocks/act_fold.v, 7-bit values, 3 thresholds, 8 words: 32.5, 24.1 and 19.8
    LUTs per added PE from 2 to 6, 24 and 48 PEs; 1,008 varying columns of which 250
    differ at 48 PEs), a 32-word one does not (110.2, 110.8, 109.2)."""
    f = threshold_fields(thresholds, pe, t_bits)
    return varying_bits(f), distinct_varying_columns(f, t_bits)


def distinct_thresholds(thresholds, pe: int) -> float:
    """Comparators per PE that synthesis keeps: a PE's thresholds ``i`` and ``j`` that are
    equal in every fold compare the same value with the same bits, and Yosys merges the two
    comparators (and their ROM columns); the mean over the PEs of the distinct threshold
    columns (``N`` when no two are equal). Narrow accumulators with many thresholds, pruned
    layers and constant thresholds (one fold) have many equal ones."""
    t = np.asarray(thresholds, dtype=np.int64)
    if t.ndim != 2 or t.shape[1] <= 1:
        return float(t.shape[1]) if t.ndim == 2 else 0.0
    n = t.shape[1]
    cols = t.reshape(-1, pe, n).transpose(1, 2, 0)  # (PE, N, NF): column i of PE p
    # sorted thresholds: equal columns are neighbours, so count the changes between them
    diff = np.any(cols[:, 1:, :] != cols[:, :-1, :], axis=2)
    return float(np.mean(1 + diff.sum(axis=1)))


def mem_luts(m: dict, depth: int, width: int, rom: bool) -> float:
    """LUTs of a memory as :func:`map_memory` maps it: LUTRAM cells, soft logic, and the
    read mux of a memory split over several banks in depth (LUTRAM or block RAM: half a LUT
    per bit and extra bank, a LUT6 being a 4:1 mux; a 3037-word, 13-bit FIFO in three
    cascaded RAMB18 spends 20 LUTs more than its pointers, of which this counts 13)."""
    extra = (m.get("mult_a", 1) - 1) * width * 0.5
    if m["kind"] == "lutram":
        return m["lutram_luts"] + extra
    if m["kind"] == "logic":
        return rom_logic_luts(depth, width) if rom else depth * width * 0.6
    if m["kind"] == "bram":
        return extra
    return 0.0


def mem_ffs(m: dict, depth: int, width: int, rom: bool) -> float:
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
    return product_operands(layer.in_dtype, layer.w_dtype)


def const_tree_operands(ind, wd) -> tuple[int, int]:
    """``(leaf bits, product bits)`` of :func:`tree_sharing` for products of ``ind`` inputs
    by constant ``wd`` weights: a multi-bit constant product is logic of ``P_BITS``; an XNOR,
    a +-constant (BIPOLAR input), a +-x (BIPOLAR weight) or a TERNARY weight's x or -x is a
    wire, an inversion or a negation folded into the adder (0). The leaves of a TERNARY
    weight's tree are ``+-x``, ``bits + 1`` wide (a TERNARY input is INT2 on the wire: 3), not
    ``P_BITS``: Yosys' ``wreduce`` narrows the adders of sign-extended operands (a layer sizes
    each adder of such a tree by its sum's range: :func:`tree_sharing`'s ``x_range``)."""
    _, _, pb, kind = product_operands(ind, wd)
    if wd.name == "TERNARY":
        return ind.bits + 1, 0
    return pb, pb if kind == "mul" else 0


def mvau_group_operands(layer) -> tuple[int, int]:
    """(DOT_BITS, MULT_BITS + 1): the signed operands of a grouped MVAU's per-PE multiplier
    as rtl/mvau.v declares them (the step's dot product, the zero-extended multiplier)."""
    _, _, pb, kind = mvau_operands(layer)
    sum_bits = pb + clog2(layer.simd)
    return (sum_bits + 1 if kind == "xnor" else sum_bits), layer.mult_bits + 1


def mvau_dsp(layer, products_only: bool = False) -> int:
    """DSP48E2 of an MVAU: its ``PE x SIMD`` products (none with constant weights:
    :attr:`~fpgagen.layers.mvau.MVAU.const_weights`; none narrowed to fewer than 9 bits by
    the accumulator: :func:`~fpgagen.layers.hw.dsp_per_product`), plus (grouped MVAU, unless
    ``products_only``) one ``DOT_BITS x (MULT_BITS+1)`` multiplier per PE."""
    xe, we, _, kind = mvau_operands(layer)
    n = 0
    # constant weights (MVAU.const_weights) are LUT products or shifts: no DSP
    if kind == "mul" and not getattr(layer, "const_weights", False):
        n = layer.pe * layer.simd * dsp_per_product(xe, we, layer.acc_bits)
    if getattr(layer, "grouped", False) and not products_only:
        n += layer.pe * dsp_per_product(*mvau_group_operands(layer))
    return n


def nonzero_mask(layer) -> np.ndarray:
    """Boolean ``(MH, MW)`` mask of an MVAU's nonzero weights (bipolar weights are never 0)."""
    w = np.asarray(layer.weights)
    if layer.w_dtype.is_bipolar:
        return np.ones(w.shape, dtype=bool)
    return w != 0


def tree_bits(n: int, w: int, cap: int | None = None) -> int:
    """Adder bits of rtl/adder_tree.v summing ``n`` operands of ``w`` bits; with ``cap``, no
    adder is wider than ``cap`` bits (the sum is truncated to the accumulator: synthesis
    removes the upper bits nothing reads)."""
    bits, cnt, lvl = 0, n, 0
    while cnt > 1:
        lvl += 1
        pairs = cnt // 2
        bits += pairs * (w + lvl if cap is None else min(w + lvl, cap))
        cnt = (cnt + 1) // 2
    return bits


def hw_range(dt) -> tuple[int, int]:
    """``(min, max)`` of the values a port of ``dt`` can carry as rtl/mvau.v declares it: a
    TERNARY value is INT2 on the wire (synthesis cannot know that -2 never comes)."""
    if dt.name == "TERNARY":
        return -2, 1
    return int(dt.min), int(dt.max)


def tree_sharing(
    codes: np.ndarray,
    pb: int,
    prod_bits: int = 0,
    cap: int | None = None,
    zero: bool = True,
    signs: np.ndarray | None = None,
    x_range: tuple[int, int] | None = None,
) -> tuple[float, float]:
    """``(shared, per-PE)`` bit units of the constant-weight adder trees of a fully unrolled
    MVAU's PEs, which all read the same input vector.

    ``codes`` is ``(PE, SIMD)``: each PE's constant weights (0 a dropped, zero weight, unless
    ``zero`` is false: a BIPOLAR code 0 is -1). The
    tree is rtl/adder_tree.v's, balanced over lane positions: the node of level ``l`` over
    lanes ``[i*2^l, (i+1)*2^l)`` is the same logic in every PE whose weights on those lanes are
    the same, and synthesis keeps one of them (Yosys's ``opt_merge`` and ABC's structural
    hashing merge identical cells with identical inputs). A node is an adder of ``pb + l``
    bits (at most ``cap``) where both halves hold a nonzero weight; a product is
    ``prod_bits`` (0: the product is a wire, an inversion or a negation folded into the
    adder). The first unit counts each distinct node once, the second once per PE; their
    ratio is the share of the PEs' products and adders that synthesis keeps. Measured on
    blocks/cdot_pe.v with 10 XNOR lanes per PE, the LUTs per shared unit stay within 10%
    (0.31, 0.30, 0.28 at 4, 16 and 47 PEs) where the LUTs per PE halve (6.5, 4.8, 3.1).

    ``signs`` (the ``(PE, SIMD)`` signs of +-1 weights, 0 for a dropped one) and ``x_range``
    (the input's ``(min, max)`` on the wire): each adder is as wide as the range of its sum
    (:func:`~fpgagen.datatypes.smallest_int_type`: a sum of +x leaves of an unsigned input
    needs no sign bit, +x and -x of an INT4 input are 4 and 5 bits) instead of
    ``pb + level``; TERNARY weights' trees (the unrolled TERNARY layers of the sets: UINT2
    inputs 11% high, TERNARY inputs, whose ``pb`` was 2 where the wire is INT2, 10% low; with
    the ranges +4% and -5%)."""
    c = np.asarray(codes, dtype=np.int64)
    pe, n = c.shape
    nz = c != 0 if zero else np.ones(c.shape, dtype=bool)
    ranged = signs is not None and x_range is not None
    if ranged:  # each node's value range: leaves +-x over the input's range, or 0
        sg = np.asarray(signs, dtype=np.int64)
        xl, xh = x_range
        lo = np.where(sg > 0, xl, np.where(sg < 0, -xh, 0)).astype(np.int64)
        hi = np.where(sg > 0, xh, np.where(sg < 0, -xl, 0)).astype(np.int64)
    shared = per_pe = 0.0
    if prod_bits:  # one product per distinct nonzero weight of a lane
        lane = np.broadcast_to(np.arange(n, dtype=np.int64), c.shape)
        span = int(c.max() - c.min()) + 1 if c.size else 1
        keys = lane[nz] * span + (c[nz] - c.min())
        shared += prod_bits * len(np.unique(keys))
        per_pe += prod_bits * int(nz.sum())
    # node ids: the lanes' weights at the leaves (made non-negative), then per level the
    # index of each distinct (position, left id, right id); -1 for an odd node's missing half
    ids, lvl = c - c.min() if c.size else c, 0
    while ids.shape[1] > 1:
        lvl += 1
        m = ids.shape[1]
        if m % 2:  # an odd node out passes up unchanged
            ids = np.concatenate([ids, np.full((pe, 1), -1, dtype=np.int64)], axis=1)
            nz = np.concatenate([nz, np.zeros((pe, 1), dtype=bool)], axis=1)
            if ranged:
                lo = np.concatenate([lo, np.zeros((pe, 1), dtype=np.int64)], axis=1)
                hi = np.concatenate([hi, np.zeros((pe, 1), dtype=np.int64)], axis=1)
        left, right = ids[:, 0::2] + 1, ids[:, 1::2] + 1
        adder = nz[:, 0::2] & nz[:, 1::2]
        nz = nz[:, 0::2] | nz[:, 1::2]
        node = np.broadcast_to(np.arange(left.shape[1], dtype=np.int64), left.shape)
        base = int(max(left.max(), right.max())) + 1
        if left.shape[1] * base * base < 2**62:  # one int64 key per (position, left, right)
            key = (node * base + left) * base + right
            _u, inv = np.unique(key.reshape(-1), return_inverse=True)
        else:
            trip = np.stack([node, left, right], axis=-1).reshape(-1, 3)
            _u, inv = np.unique(trip, axis=0, return_inverse=True)
        ids = inv.reshape(left.shape).astype(np.int64)
        a = adder.reshape(-1)
        if ranged:
            lo, hi = lo[:, 0::2] + lo[:, 1::2], hi[:, 0::2] + hi[:, 1::2]
            # the narrowest INTn / UINTn of each distinct range (a few per level)
            pairs, where = np.unique(
                np.stack([lo.reshape(-1), hi.reshape(-1)], axis=1), axis=0, return_inverse=True
            )
            wd = np.array([smallest_int_type(x, y).bits for x, y in pairs])[where.reshape(-1)]
            if cap is not None:
                wd = np.minimum(wd, cap)
            per_pe += float(wd[a].sum())
            _u, first = np.unique(inv.reshape(-1)[a], return_index=True)
            shared += float(wd[a][first].sum())
            continue
        w = pb + lvl if cap is None else min(pb + lvl, cap)
        per_pe += w * int(a.sum())
        shared += w * len(np.unique(inv.reshape(-1)[a]))
    return shared, per_pe


# ------------------------------------------------------------------------------------------
# sub-blocks (issue 18): Yosys LUTs of the blocks the MVAU / VVAU / Thresholding RTL is built
# from, measured in isolation over a grid of their own parameters (benchmarks/cost/blocks.py
# writes _blocks.py) and interpolated here
# ------------------------------------------------------------------------------------------
from ._blocks import (  # noqa: E402  (blocks.py table)
    ACT,
    ACT_FOLD,
    ACT_FOLD_COL,
    ACT_FOLD_FIX,
    ACT_FOLD_OCT,
    ACT_FOLD_VAR,
    ACT_SOFT,
    ACT_SOFT_COL,
    ACT_SOFT_FIX,
    ACT_SOFT_OCT,
    ACT_SOFT_VAR,
    CDOT,
    CDOT_SHARE,
    DOT,
    DWC_COLLECT,
    DWC_UNLOAD,
    RDOT,
    RDOT_SPARSE,
    RDOT_ZERO,
    ROM,
)


def _interp(table: dict, x: float, beyond: str = "rise") -> float:
    """Piecewise-linear interpolation of ``{x_i: y_i}`` at ``x``. Beyond the grid, ``beyond``:

    * ``"rise"`` (a cost): along the line through the two end points, but above the grid
      never below the last point's value. A block's LUTs do not fall when it grows past what
      was measured, where the last two points of a noisy row can slope down (7 comparators
      of INT11 values with their ROM at 64 and 128 words: 343, 278 LUTs; the line reaches
      0 LUTs at 400 words);
    * ``"hold"`` (a ratio or a share: :data:`CDOT_SHARE`, the ``*_VAR`` and ``*_FIX``
      tables): the end point's value.

    Below the grid both follow the line through the first two points."""
    xs = sorted(table)
    if len(xs) == 1:
        return float(table[xs[0]])
    if beyond == "hold" and not xs[0] < x < xs[-1]:
        return float(table[xs[0] if x <= xs[0] else xs[-1]])
    if x <= xs[0]:
        a, b = xs[0], xs[1]
    elif x >= xs[-1]:
        a, b = xs[-2], xs[-1]
    else:
        i = next(i for i, v in enumerate(xs) if v >= x)
        a, b = xs[i - 1], xs[i]
    ya, yb = float(table[a]), float(table[b])
    y = ya + (yb - ya) * (x - a) / (b - a)
    if beyond == "rise" and x > xs[-1]:
        return max(y, yb)
    return y


def _operand_code(dt) -> tuple[int, str]:
    return dt.bits, "b" if dt.is_bipolar else "s" if dt.signed else "u"


def dot_key(in_dtype, w_dtype) -> str:
    """Key of an operand pair in :data:`DOT` (bits and b/s/u for bipolar/signed/unsigned, as
    rtl/mvau.v sees them: a TERNARY weight or input is a 2-bit signed number)."""
    (ib, ic), (wb, wc) = _operand_code(in_dtype), _operand_code(w_dtype)
    return f"i{ib}{ic}_w{wb}{wc}"


@functools.cache
def _pair_of(key: str) -> tuple:
    """(XE, WE, P_BITS, kind) of a :data:`DOT` key, as :func:`mvau_operands` gives them."""
    a, b = key.split("_")
    ib, ic, wb, wc = int(a[1:-1]), a[-1], int(b[1:-1]), b[-1]
    xe, we = ib + (ic != "s"), wb + (wc != "s")
    if ic == "b" and wc == "b":
        return xe, we, 1, "xnor"
    if ic == "b":
        return xe, we, wb + 1, "neg"
    if wc == "b":
        return xe, we, ib + 1, "neg"
    return xe, we, xe + we, "dsp" if dsp_per_product(xe, we) else "mul"


@functools.cache
def _dot_entry(key: str, kind: str | None = None) -> tuple[str, float]:
    """(the :data:`DOT` key to read, its scale) for operand pair ``key``: itself, or the
    nearest pair of the same kind scaled by the product width (see :func:`dot_luts`); with
    ``kind``, the nearest pair of that kind, even where the table holds ``key`` itself; the
    table is a module constant, so the answer is cached."""
    xe, we, pb, own = _pair_of(key)
    if key in DOT and kind in (None, own):
        return key, 1.0
    kind = kind or own
    same = [k for k in DOT if _pair_of(k)[3] == kind] or list(DOT)
    near = min(same, key=lambda k: (abs(_pair_of(k)[0] - xe) + abs(_pair_of(k)[1] - we), k))
    return near, pb / _pair_of(near)[2]


def dot_luts(in_dtype, w_dtype, n: int, cap: int | None = None) -> float:
    """LUTs of one PE's ``n`` products and their adder tree (stage 2 of rtl/mvau.v), from the
    Yosys table :data:`DOT` (benchmarks/cost/blocks/dot_pe.v at SIMD = 1..64), interpolated in
    ``n`` (beyond 64 along its last two points, never below the last: :func:`_interp`). An
    operand pair the table lacks takes the nearest pair of the same kind (XNOR, one BIPOLAR
    operand, LUT or DSP products), scaled by the product width.
    With ``cap`` (the accumulator width) below the sum's width, the adder bits above it are
    removed (synthesis drops what nothing reads): the cost scales by the remaining bits."""
    if n <= 0:
        return 0.0
    key = dot_key(in_dtype, w_dtype)
    xe, we, pb, kind = _pair_of(key)
    # a pair whose products the table measured in DSP48s (its sum untruncated, 9 bits or
    # more) but that the accumulator narrows below 9 bits: Yosys keeps the product in LUTs
    # (dsp_per_product), and the nearest LUT-product pair prices it. Measured: one UINT4 x
    # INT4 product cut to 8 bits takes 24 LUTs (the table's INT4 x INT4 row, scaled: 26), a
    # UINT6 x INT2 one 11; read at the DSP row, 0 (a 46-PE layer of them was 30% low)
    narrowed = kind == "dsp" and cap is not None and not dsp_per_product(xe, we, cap)
    key, scale = _dot_entry(key, "mul" if narrowed else None)
    return max(0.0, _interp(DOT[key], n) * scale * _truncation(n, pb, cap))


#: the share of a dot block's LUTs that follows its weights' varying bits
#: (:func:`dot_varying_scale`)
DOT_VARYING_SHARE = 0.5


def dot_varying_scale(var_bits: int, bits: int) -> float:
    """The part of :func:`dot_luts` a PE keeps when only ``var_bits`` of its live lanes'
    ``bits`` weight bits vary over the weight words (the table was measured with every bit
    varying). Yosys drops a weight ROM's constant bit columns (block RAM too) and the logic
    they drive: a TERNARY lane that is never -1 multiplies by a 0/1 bit (an AND), a lane of
    one BIPOLAR value is a wire or a negation. The products shrink with the bits; the adder
    tree keeps most of its width: :data:`DOT_VARYING_SHARE` of the block (0.5: a lane of the
    DOT table is 15-50% product, and the narrower products narrow the first adders; 0, 0.25,
    0.5 and 1 were tried on the first four hold-out sets, 0.5 the best by one or two designs,
    0.43 varying bits of a 41-lane INT4 x TERNARY layer cost 0.75 of the table)."""
    if bits <= 0:
        return 1.0
    return 1.0 - DOT_VARYING_SHARE * (1.0 - min(1.0, var_bits / bits))


def _at_pe(row: dict, pe: int) -> float:
    """A block table's ``{PE count: LUTs per PE}`` row (or a per-PE share) read at ``pe``:
    linear in ``1/PE`` between the counts measured (a block of PEs that read the same input
    is a part per PE plus a part they share, ``a + b/PE`` per PE), held past them."""
    return _interp({1.0 / p: v for p, v in row.items()}, 1.0 / max(1, pe), "hold")


def cdot_key(in_dtype, w_dtype) -> str:
    """Key of an operand pair in :data:`CDOT`: :func:`dot_key`, with ``wt`` for a TERNARY
    weight (a +-1 constant, where an INT2 constant may be -2)."""
    k = dot_key(in_dtype, w_dtype)
    return k.rsplit("_", 1)[0] + "_wt" if w_dtype.name == "TERNARY" else k


def cdot_luts(
    in_dtype,
    w_dtype,
    n: int,
    cap: int | None = None,
    share: float | None = None,
    pe: int = 4,
) -> float:
    """LUTs of one PE's ``n`` products by nonzero CONSTANT weights and their adder tree in a
    layer of ``pe`` PEs that read the same input (a fully unrolled MVAU: synthesis folds the
    weights into the logic), from the Yosys table :data:`CDOT` (benchmarks/cost/blocks/
    cdot_pe.v, n = 1..32 random nonzero weights per PE at 1, 4, 16 and 48 PEs, LUTs per PE),
    interpolated in ``n`` (past the grid as :func:`_interp`'s ``"rise"``) and in ``1/pe``
    (held past the PE counts measured): the PEs share products and adder nodes, and the LUTs
    per PE fall with their number (a fixed part per PE plus a shared part over ``pe`` is a
    line in ``1/pe``). A pair the table lacks takes the nearest pair of the same kind
    (multi-bit, TERNARY weights, XNOR, a BIPOLAR input, a BIPOLAR weight:
    :func:`_pair_kind`), scaled by the product width; ``cap`` as in :func:`dot_luts`. The
    binary kinds are a fully unrolled binary layer's popcount (XNOR) and sums of
    +-constants or +-x.

    ``share``: the layer's share of products and adders that its PEs do not have in common
    (:func:`tree_sharing`); the table's blocks have their own (:data:`CDOT_SHARE`, random
    nonzero weights, read at the same ``n`` and ``pe``), and the cost per PE scales by the
    ratio: the correction for what the layer's weights share more or less than random ones
    (zero weights, repeated rows)."""
    if n <= 0:
        return 0.0
    key, scale, pb = _weight_pair_entry(CDOT, in_dtype, w_dtype)
    cost = _interp({m: _at_pe(r, pe) for m, r in CDOT[key].items()}, n) * scale
    cost *= _truncation(n, pb, cap)
    if share is not None:
        # the blocks' share beyond their widest PE (32 lanes; 256 for XNOR) is their last:
        # it levels off (XNOR at 4 PEs: 0.86, 0.85, 0.88, 0.87 at 32..256 lanes), where a
        # line through the last two points reaches 0 at about 400 lanes and cost 0 LUTs
        base = _interp({m: _at_pe(r, pe) for m, r in CDOT_SHARE[key].items()}, n, "hold")
        cost *= share / base
    return max(0.0, cost)


#: the deepest weight ROM the table :data:`RDOT` covers (ROM-fed products, :func:`rdot_luts`)
RDOT_DEPTH = max(max(t) for t in RDOT.values())


def rdot_covers(in_dtype, w_dtype) -> bool:
    """Whether :data:`RDOT` covers products of this operand pair: the table holds pairs of
    its kind (:func:`_pair_kind`: multi-bit, TERNARY weights, XNOR, one BIPOLAR operand) and
    this pair's inputs and weights are no wider than the widest of them, so that the nearest
    measured pair is a neighbour and not a guess."""
    kind = _pair_kind(cdot_key(in_dtype, w_dtype))
    same = [_key_bits(k) for k in RDOT if _pair_kind(k) == kind]
    if not same:
        return False
    ins, ws = zip(*same)
    return in_dtype.bits <= max(ins) and w_dtype.bits <= max(ws)


def _key_bits(key: str) -> tuple[int, int]:
    """(input bits, weight bits) of a :func:`cdot_key` (a TERNARY weight ``wt`` has 2)."""
    a, b = key.split("_")
    return int(a[1:-1]), 2 if b == "wt" else int(b[1:-1])


def rdot_luts(
    in_dtype,
    w_dtype,
    depth: int,
    n: int,
    cap: int | None = None,
    pe: int = 4,
    zeros: float | None = None,
) -> float:
    """LUTs of one PE's ``n`` products fed by a soft-logic weight ROM of ``depth`` (2 to
    :data:`RDOT_DEPTH`) words in a layer of ``pe`` PEs, the ROM and the adder tree included,
    from the Yosys table :data:`RDOT` (benchmarks/cost/blocks/rdot_pe.v: random weights,
    SIMD 1..16, LUTs per PE at 4, 12 and 32 PEs up to SIMD 8 and for the binary pairs, at 4
    PEs beyond), interpolated in ``n`` and ``depth`` and in ``pe`` as :func:`_at_pe` reads a
    PE row: synthesis merges so small a ROM with the products it feeds, and the PEs share the
    products of a lane's few possible weight sequences (the LUTs per PE fall with the PE
    count). ``n`` is the PE's live lanes; the table is read at the block lanes that hold as
    many (its random weights leave some lanes 0 in every word). A pair the table lacks takes
    the nearest pair of the same kind (:func:`_pair_kind`), scaled by the product width;
    ``cap`` as in :func:`dot_luts`.

    ``zeros``: a pruned TERNARY layer's share of zero weights as its live lanes hold them
    (:func:`pruned_zeros`). Above the dense blocks' own (:data:`RDOT_ZERO`, 1/3) the cost
    is read between them and the pruned blocks of :data:`RDOT_SPARSE` (60% and 90% zero),
    each at the block lanes that hold ``n`` live ones at its share, linear in the share
    and held past 90%: a lane whose few nonzero words leave it zero most of the time costs
    less, and more PEs share its sequence."""
    if n <= 0:
        return 0.0
    key, scale, pb = _weight_pair_entry(RDOT, in_dtype, w_dtype)
    # the blocks' random weights include 0 (a share z of them): a lane of the block is dead
    # (0 in every word) with probability z^depth, and the table's SIMD lanes hold
    # SIMD (1 - z^depth) live ones; ``n`` counts the PE's live lanes only. The dead lanes
    # stay in the blocks as in the layers: their products go, but the adder tree keeps its
    # shape around them (5 live lanes among 10 cost 17-21% more than the same 5 alone)
    z0 = RDOT_ZERO[key]
    cost = _rdot_read(RDOT[key], depth, n / (1 - z0**depth), pe)
    if zeros is not None and zeros > z0 and key in RDOT_SPARSE:
        levels = {
            z: _rdot_read(rows, depth, n / (1 - z**depth), pe)
            for z, rows in RDOT_SPARSE[key].items()
        }
        cost = _interp({z0: cost, **levels}, zeros, "hold")
    return max(0.0, cost * scale * _truncation(n, pb, cap))


def _rdot_read(rows: dict, depth: int, lanes: float, pe: int) -> float:
    """An ``{depth: {SIMD: {PE: LUTs per PE}}}`` table of :data:`RDOT` read at ``depth``,
    ``lanes`` and ``pe``."""
    return _interp(
        {d: _interp({s: _at_pe(r, pe) for s, r in t.items()}, lanes) for d, t in rows.items()},
        depth,
    )


def pruned_zeros(nonzero: float, depth: int) -> float:
    """The share ``z`` of zero weights that leaves ``nonzero`` of a live lane's ``depth``
    words nonzero when each weight is 0 with probability ``z`` (a lane is live when one word
    is nonzero: ``(1 - z) / (1 - z^depth) = nonzero``; 0 for ``nonzero`` 1, 1 at
    ``1/depth``): the pruning rate of :data:`RDOT_SPARSE`'s blocks that matches a layer's
    live lanes, whatever zeroed whole lanes."""
    if depth <= 1 or nonzero >= 1:
        return 0.0
    if nonzero <= 1 / depth:
        return 1.0
    lo, hi = 0.0, 1.0  # (1 - z) / (1 - z^d) falls from 1 to 1/d as z goes from 0 to 1
    for _ in range(40):
        mid = (lo + hi) / 2
        if (1 - mid) / (1 - mid**depth) > nonzero:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _pair_kind(key: str) -> str:
    """Which measured rows may stand in for an operand pair keyed as in :func:`cdot_key`:
    both BIPOLAR (XNOR), a BIPOLAR input, a BIPOLAR weight, a TERNARY weight, or multi-bit."""
    a, b = key.split("_")
    if a.endswith("b") or b.endswith("b"):
        return {(True, True): "xnor", (True, False): "b_in", (False, True): "b_w"}[
            (a.endswith("b"), b.endswith("b"))
        ]
    return "ternary" if b == "wt" else "multi"


def _weight_pair_entry(table: dict, in_dtype, w_dtype) -> tuple[str, float, int]:
    """``(key of table to read, its scale, P_BITS)`` for an operand pair keyed as in
    :func:`cdot_key`: itself, or the nearest pair of the same kind (:func:`_pair_kind`)
    scaled by the product width."""
    key = cdot_key(in_dtype, w_dtype)
    pb = _pair_of(dot_key(in_dtype, w_dtype))[2]
    if key in table:
        return key, 1.0, pb

    def ops(k):  # (XE, WE, P_BITS) of a key (a TERNARY weight is INT2 in hardware)
        return _pair_of(k.replace("_wt", "_w2s"))[:3]

    xe, we, _ = ops(key)
    same = [k for k in table if _pair_kind(k) == _pair_kind(key)]
    if not same:
        raise ModelError(f"no measured block of the kind of {key} ({_pair_kind(key)})")
    near = min(same, key=lambda k: (abs(ops(k)[0] - xe) + abs(ops(k)[1] - we), k))
    return near, pb / ops(near)[2], pb


def _truncation(n: int, pb: int, cap: int | None) -> float:
    """The share of ``n`` products of ``pb`` bits and their adder tree that synthesis keeps
    when the sum is truncated to ``cap`` bits (the accumulator width; 1 without a cap)."""
    if cap is None or pb + clog2(n) <= cap:
        return 1.0
    pbc = min(pb, cap)
    return (n * pbc + tree_bits(n, pbc, cap)) / (n * pb + tree_bits(n, pb))


def _interp3(table: dict, b: float, n: float, d: float, beyond: str = "rise") -> float:
    """:func:`_interp` of a ``{b: {n: {d: y}}}`` table, innermost key first."""
    return _interp(
        {
            bb: _interp({nn: _interp(t, d, beyond) for nn, t in rows.items()}, n, beyond)
            for bb, rows in table.items()
        },
        b,
        beyond,
    )


def act_features(
    n_thres: int,
    width: int,
    depth: int,
    var_bits: float,
    rom_kind: str,
    stage: str = "thresholding",
    pe: int = 2,
) -> dict:
    """LUTs of one PE's comparator bank, count, output register and skid (``act``, Yosys
    tables taken as they are) and of its share of a soft-logic threshold memory (``act_rom``),
    both to be multiplied by PE. ``width``: the comparison's width, rtl/mt_count.v's ``CMP_W``
    (see :func:`act_luts`); ``depth``: the threshold memory's words (one per fold);
    ``var_bits``: its distinct varying bit columns per PE (:func:`threshold_columns`);
    ``rom_kind``: how it is mapped (:func:`map_memory`); ``stage``: the module around the
    memory, ``"thresholding"`` (rtl/thresholding.v) or ``"act_out"`` (the MVAU's and VVAU's
    rtl/act_out.v), whose ROMs Yosys maps differently (:func:`act_soft_luts`); ``pe``: the
    layer's PE count, over which the memory's shared part is spread.

    One fold: constant thresholds (:func:`act_luts`, ``const``). A block-RAM memory: the
    comparators alone (``rom``; the memory has no LUTs). A soft-logic memory: the same
    comparators plus the rest of :func:`act_soft_luts`, comparators and ROM as Yosys maps
    them together (negative for the smallest ROMs, which merge into the comparators)."""
    if depth <= 1:
        return {"act": act_luts(n_thres, width, True), "act_rom": 0.0}
    base = act_luts(n_thres, width, False)
    if rom_kind == "logic":
        soft = act_soft_luts(n_thres, width, depth, var_bits, stage, pe)
        return {"act": base, "act_rom": soft - base}
    return {"act": base, "act_rom": 0.0}


#: the Yosys tables of a comparator bank fed by a soft-logic threshold ROM, per stage (see
#: :func:`act_soft_luts`): (LUTs per PE, the distinct varying ROM columns one more PE adds as a
#: fraction of its bits, fixed part, octave factor)
_SOFT_TABLES = {
    "thresholding": (ACT_SOFT, ACT_SOFT_VAR, ACT_SOFT_FIX, ACT_SOFT_COL, ACT_SOFT_OCT),
    "act_out": (ACT_FOLD, ACT_FOLD_VAR, ACT_FOLD_FIX, ACT_FOLD_COL, ACT_FOLD_OCT),
}


def act_soft_luts(
    n_thres: int, width: int, depth: int, var_bits: float, stage: str = "thresholding", pe: int = 2
) -> float:
    """LUTs per PE of ``n_thres`` comparators ``width`` bits wide fed by a soft-logic threshold
    ROM of ``depth`` words, the ROM included, measured whole in Yosys (a small ROM merges into
    the comparators' LUTs, a deep one costs more than the ROM alone; interpolated in width,
    count and depth) on the module the layer uses:

    * ``"thresholding"``: :data:`ACT_SOFT`, Thresholding layers (rtl/thresholding.v) of
      ``depth`` folds with sorted random thresholds; the ROM's address is the fold counter
      itself, and Yosys maps the ROM at the counter's next value (as blocks/rom_ctr.v);
    * ``"act_out"``: :data:`ACT_FOLD`, the MVAU's and VVAU's activation stage (rtl/act_out.v,
      benchmarks/cost/blocks/act_fold.v), whose ROM is addressed by a pipeline copy of the fold
      counter: Yosys takes the copy as the ROM's address register and reads it at the
      counter's value, which costs less (8-bit values, 3 thresholds, 64 words: 61 LUTs
      per added PE against 125).

    The tables hold the LUTs of one more PE (the blocks' slope): the comparators fed by a
    memory (:func:`act_luts`) and the ROM columns that PE adds (the ``*_VAR`` table x
    ``n_thres`` x ``width``: the distinct varying columns one more PE of the block adds,
    ``blocks.py marginal_columns``). The ROM costs by its distinct varying columns
    (:func:`threshold_columns`: equal columns are one signal), ``var_bits`` of them per PE
    in the layer, at the block's LUTs per column; none varying: constant thresholds. What the
    PEs share beyond those columns (the ``*_FIX`` tables: the block's fixed part beyond its
    control and its common columns, large at 4-8 words) is added spread over ``pe``; below
    the blocks' first PE count (2) the share is that of 2 PEs (nothing is extrapolated below
    the measured range). Between the tables' powers of two of words the blocks' measured
    departure from the line between them applies (``*_OCT``: one more address bit costs at
    once, so that 12 words cost 1.13 times the line)."""
    if n_thres <= 0:
        return 0.0
    const = act_luts(n_thres, width, True)
    if var_bits <= 0:
        return const
    table, var, fix, col, octave = _SOFT_TABLES[stage]
    b = width - 1
    slope = _interp3(table, b, n_thres, depth)
    shared = _interp3(fix, b, n_thres, depth, "hold") / max(pe, 2)
    ref = _interp3(var, b, n_thres, depth, "hold") * n_thres * width
    # the block's slope holds ``ref`` columns per PE; the layer's own columns instead, at the
    # blocks' LUTs per column of this depth
    cols = _interp(col, depth) * (var_bits - ref)
    soft = max(const, slope + cols + shared)
    # the tables have powers of two of words; between them the blocks' measured departure
    # from the line (*_OCT: 1.13 of it at 12 words)
    if min(octave) < depth < max(octave):
        soft *= _interp(octave, depth)
    return soft


def act_luts(n_thres: int, width: int, const: bool) -> float:
    """LUTs per PE of ``n_thres`` comparators ``width`` bits wide (rtl/mt_count.v's ``CMP_W``:
    the wider of the sign-extended value and the thresholds), the count of their outputs, the
    output register and skid buffer (in act_out.v / thresholding.v), from the Yosys table
    :data:`ACT`: thresholds that are constants (one fold) or come from the threshold memory
    (its own LUTs are not included). The table's row ``b`` was measured on INT``b`` values,
    whose thresholds take ``b + 1`` bits: a comparison ``b + 1`` bits wide, so ``width`` reads
    row ``width - 1``. The width decides the mapping: up to 6 bits a comparison with a
    constant is one LUT6 function (and the count of several, a few), from 7 bits on Yosys
    maps it to a carry chain. Interpolated in the width and ``n_thres``; beyond the grid along
    the end points' line, never below the last point (:func:`_interp`)."""
    if n_thres <= 0:
        return 0.0
    rows = ACT["const" if const else "rom"]
    return max(0.0, _interp({b: _interp(r, n_thres) for b, r in rows.items()}, width - 1))


def mt_count_width(in_dtype) -> int:
    """The comparison width :func:`act_luts` reads for values of ``in_dtype`` in a
    Thresholding layer: ``bits + 1``, a signed value's ``bits`` plus its thresholds' extra bit
    (a threshold can lie one past the value's maximum) or an unsigned value with its sign bit
    (the wider thresholds' top bits are constant for thresholds within the value's range, and
    Yosys drops them). A BIPOLAR value is passed as UINT1."""
    return in_dtype.bits + 1


def weight_codes(layer) -> np.ndarray:
    """An MVAU's weights as ``(MH, MW)`` ROM field codes (:func:`mvau_weight_fields` before
    its reordering: the w_dtype's two's complement bits, 1 for a BIPOLAR +1) in the narrowest
    unsigned dtype. Kept on the layer while its weights are the same array: the optimiser
    costs one layer at many foldings, and the codes do not depend on the folding."""
    w = layer.weights
    cached = getattr(layer, "_cost_codes", None)
    if cached is not None and cached[0] is w:
        return cached[1]
    bits = layer.w_dtype.bits
    a = np.asarray(w, dtype=np.int64)
    codes = (a > 0) if layer.w_dtype.is_bipolar else (a & ((1 << bits) - 1))
    codes = codes.astype(np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32)
    layer._cost_codes = (w, codes)
    return codes


def _lane_or_and(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OR and AND of ``c`` ``(NF, PE, SF, SIMD)`` over its NF and SF axes, ``(PE, SIMD)`` each.
    numpy reduces over the two strided axes an element at a time when SIMD is small (a
    1024 x 4608 layer at SIMD 2: 66 ms a call, and the optimiser calls it per folding); then
    the lanes are made rows first and each row is reduced as 64-bit words (2 ms)."""
    nf, pe, sf, simd = c.shape
    if simd >= 32 or c.itemsize != 1:
        return np.bitwise_or.reduce(c, axis=(0, 2)), np.bitwise_and.reduce(c, axis=(0, 2))
    x = np.ascontiguousarray(c.transpose(1, 3, 0, 2)).reshape(pe * simd, nf * sf)
    if x.shape[1] % 8 == 0 and x.shape[1] > 8:
        w = x.view(np.uint64)
        o = np.bitwise_or.reduce(w, axis=1).view(np.uint8).reshape(-1, 8)
        a = np.bitwise_and.reduce(w, axis=1).view(np.uint8).reshape(-1, 8)
        orr, andd = np.bitwise_or.reduce(o, axis=1), np.bitwise_and.reduce(a, axis=1)
    else:
        orr, andd = np.bitwise_or.reduce(x, axis=1), np.bitwise_and.reduce(x, axis=1)
    return orr.reshape(pe, simd), andd.reshape(pe, simd)


def mvau_lanes(layer) -> tuple[np.ndarray, int, int, int, np.ndarray]:
    """What synthesis keeps of an MVAU's ``PE x SIMD`` product lanes and its weight ROM.

    Lane ``(p, s)`` multiplies input ``s`` with weight words ``nf*SF + sf`` of PE ``p``; over
    all ``NF x SF`` words its weight is always zero (a dead lane: product and adder input are
    removed), always the same nonzero value (a constant coefficient) or varying. Returns
    ``(live lanes per PE, varying lanes, constant nonzero lanes, varying ROM bits, varying
    weight bits per PE)``, the fourth the ROM's bit columns that are not constant over its
    words (Yosys drops the others; :func:`varying_bits` of :func:`mvau_weight_fields`), the
    last the same per PE; a fully unrolled layer (``NF*SF = 1``) has only dead and constant
    lanes. A bit of a lane varies when the OR and the AND of its codes over the words differ:
    two reductions over a view of the codes, the optimiser's inner loop."""
    pe, simd, nf, sf = layer.pe, layer.simd, layer.nf, layer.sf
    # row nf*PE + p, column sf*SIMD + s: lane (p, s) sees the (nf, sf) slice (a view, no copy)
    c = weight_codes(layer).reshape(nf, pe, sf, simd)
    orr, andd = _lane_or_and(c)
    if layer.w_dtype.is_bipolar:
        dead = np.zeros((pe, simd), dtype=bool)
    else:
        dead = orr == 0
    diff = orr ^ andd
    const = (diff == 0) & ~dead
    live = (~dead).sum(axis=1)
    per_pe = np.unpackbits(np.ascontiguousarray(diff).view(np.uint8)).reshape(pe, -1).sum(axis=1)
    return live, int((~dead & ~const).sum()), int(const.sum()), int(per_pe.sum()), per_pe


# ------------------------------------------------------------------------------------------
# the features of each layer are the layer's own (HWLayer.cost_features, called with this
# module as its toolkit); LUT and FF are sum(COEF[layer.cost_coef][res][k] * f[k])
# ------------------------------------------------------------------------------------------
#: LUT/FF coefficients of the grouped MVAU's extra features (:func:`_mvau_groups`), fitted by
#: hand to Yosys runs of grouped MVAUs minus their plain twins (docs/cost_model.md); they add
#: to the plain MVAU's fitted model and are not part of the generated COEF.
GROUP_COEF = {
    "lut": {"mrom": 2.8, "ctrl": 1.9, "glue": 0.75, "mul": 0.5},
    "ff": {"mreg": 0.9, "ctrl": 0.2, "dot": 1.0},
}


def mvau_group_features(l, sum_bits: int, acc: int) -> dict:
    """Extra features of a grouped MVAU (rtl/mvau.v with MULT_BITS > 0): the multiplier ROM
    (``NF*G`` lines of ``PE*MULT_BITS`` bits), its address counters, one ``DOT_BITS x
    (MULT_BITS+1)`` multiplier per PE (a DSP48E2 by the mul2dsp rule, else LUTs) and the
    wider dot-product register."""
    pe, depth = l.pe, l.nf * l.groups
    dot, mb1 = mvau_group_operands(l)
    mvar = distinct_varying_columns(mvau_mult_fields(l), l.mult_bits) if depth > 1 else 0
    mmem = map_memory(depth, mvar, True, "auto")
    in_dsp = dsp_per_product(dot, mb1) > 0
    lut = {
        "mrom": mem_luts(mmem, depth, mvar, True),
        "ctrl": counter_bits(l.group_size // l.simd) + counter_bits(depth),
        "glue": pe * (dot + mb1),
        "mul": 0.0 if in_dsp else pe * dot * mb1,
    }
    ff = {
        "mreg": pe * (mb1 - 1) + (mem_ffs(mmem, depth, mvar, True) if depth > 1 else 0),
        "ctrl": counter_bits(l.group_size // l.simd) + counter_bits(depth),
        "dot": pe * max(0, dot - min(acc, sum_bits + 1)),
    }
    return {"lut": lut, "ff": ff, "bram18": mmem["bram18"], "dsp": pe * dsp_per_product(dot, mb1)}


#: the "no memory" result of map_memory (a layer without that memory)
NO_MEMORY = {"kind": "none", "bram18": 0, "uram": 0}

#: the kernel's weight streamer of an external layer (rtl/kernel_weight_stream.v): its read
#: FIFO of 4 bursts of 64 beats on the Zynq UltraScale+ 128-bit bus (F1's 512-bit bus needs 4x
#: the width: 15 BRAM18 measured, counted as 4 here). An UltraRAM layer's loader has a 16-word
#: FIFO in LUTs (codegen.kernel.LOADER_FIFO): no BRAM.
STREAMER_FIFO_WORDS, STREAMER_BUS_BITS = 256, 128

#: LUT/FF of a weight streamer besides its converter (kernel_unpack's axis_dwc, costed with
#: the DWC model): kernel_axi_read's 48-bit beat counters, 64-bit burst/ring addresses, credit
#: and burst counters and FIFO control, kernel_unpack's and the streamer's 48-bit word counters
#: (Yosys, 128-bit bus, docs/cost_model.md "External weights"; benchmarks/cost/streamer.py:
#: the mean over the power-of-two word widths of Yosys' count less the converter's estimate).
#: A loader ("ultra": one frame, 16-word LUTRAM FIFO, no multipliers) has fewer LUTs, and FFs
#: for its FIFO's output word.
STREAMER_REST = {"external": {"lut": 453, "ff": 479}, "ultra": {"lut": 323, "ff": 591}}
#: per streamed layer, its source on kernel_read_mux: one more input of the 72-bit address +
#: burst length multiplexer (0.9 LUT per bit; 65 LUT and ~1.5 FF per source measured from 2 to
#: 9 sources; the mux's own ~43 LUT / ~94 FF, present once per kernel, are not counted)
STREAMER_MUX = {"lut": 65, "ff": 2}


#: rtl/axis_dwc.v: a pair whose narrower width is at most this many times their gcd (and
#: neither a multiple of the other) goes through their least common multiple
DWC_CHAIN_MAX = 8


def dwc_kind(in_bits: int, out_bits: int, chain_max: int = DWC_CHAIN_MAX) -> str:
    """The implementation rtl/axis_dwc.v elaborates for ``in_bits`` -> ``out_bits`` (its
    ``CHAIN_MAX`` parameter ``chain_max``): ``"unload"`` (a multiple of 2 or more narrower),
    ``"collect"`` (wider), ``"chain"`` (through the least common multiple) or ``"gearbox"``."""
    if in_bits % out_bits == 0 and in_bits >= 2 * out_bits:
        return "unload"
    if out_bits % in_bits == 0 and out_bits >= 2 * in_bits:
        return "collect"
    if min(in_bits, out_bits) // math.gcd(in_bits, out_bits) <= chain_max:
        return "chain"
    return "gearbox"


def dwc_mux_luts(k: int) -> int:
    """LUTs of a ``k``:1 multiplexer with a binary select as Yosys maps axis_dwc_unload's:
    the first two select bits in LUT6s (a 4:1 mux each), every further bit a 2:1 mux per
    pair of words (a group of one is a wire); a last 2:1 whose second input is a group of
    one or two words takes them in its LUT6 (``k`` = 5, 6: 2 LUTs, as Yosys maps them).
    (LUT6 4:1 muxes all the way down would be ``(k - 1) / 3``; on 64:1 ABC gives 27 per
    output bit, this rule 31, that one 21.)"""
    if k <= 1:
        return 0
    if 4 < k <= 6:
        return 2
    n = -(-k // 4) - (k % 4 == 1 and k > 4)
    k = -(-k // 4)
    while k > 1:
        n += k // 2
        k = -(-k // 2)
    return n


def dwc_part_luts(in_bits: int, out_bits: int) -> float:
    """Yosys LUTs of axis_dwc_unload (``in_bits`` = K x ``out_bits``) or axis_dwc_collect
    (``out_bits`` = K x ``in_bits``), from the converters measured in isolation
    (benchmarks/cost/blocks.py ``dwc``; :data:`DWC_COLLECT`, :data:`DWC_UNLOAD`).

    A collect's registers load through clock enables: its LUTs are its word count's and
    handshake's, the same at every width (it is measured collecting K words of 1 bit; on the
    stored designs of 2-256-bit words it is within a LUT of that). An unload's are a K:1 mux
    per output bit besides its index and handshake: measured at ``DWC_W`` bits, read between
    them along the line, beyond the widest along the line of the two widest (Yosys maps the
    muxes of more than 16 words into LUT6s and MUXF7/F8s unevenly: not linear in K, not
    quite linear in the width). Beyond the grid's K: the structural rule fitted on the
    converters of the tenth session (count + 1/3 of its wrap + 4; index + muxes + 5)."""
    if in_bits > out_bits:
        k, w = in_bits // out_bits, out_bits
        if k in DWC_UNLOAD:
            return max(0.0, _interp(DWC_UNLOAD[k], w))
        return 5 + counter_bits(k) + w * dwc_mux_luts(k)
    k = out_bits // in_bits
    if k in DWC_COLLECT:
        return float(DWC_COLLECT[k])
    wrap = 0 if k & (k - 1) == 0 else counter_bits(k)
    return 4 + counter_bits(k) + wrap / 3


def _dwc_part(in_bits: int, out_bits: int) -> dict:
    """Features of axis_dwc_unload (``in_bits`` = K x ``out_bits``) or axis_dwc_collect
    (``out_bits`` = K x ``in_bits``): LUTs as measured (:func:`dwc_part_luts`); registers:
    the unload's holding and unload registers and index, the collect's collect and output
    registers and count."""
    if in_bits > out_bits:
        k = in_bits // out_bits
        ff = {"const": 1.0, "buf": 2 * in_bits, "ctrl": counter_bits(k)}
    else:
        k = out_bits // in_bits
        ff = {"const": 1.0, "buf": 2 * out_bits - in_bits, "ctrl": counter_bits(k)}
    return {"lut": {"part": dwc_part_luts(in_bits, out_bits)}, "ff": ff}


def dwc_features(in_bits: int, out_bits: int, chain_max: int = DWC_CHAIN_MAX) -> dict:
    """Structural features of an axis_dwc from ``in_bits`` to ``out_bits`` (the DWC layer's
    cost model), by the implementation it elaborates (:func:`dwc_kind`): the unload / collect
    parts (:func:`_dwc_part`; a chain is a collect to the least common multiple and an unload
    from it), or the gearbox's shift buffer, write slots x input width and fill counter."""
    kind = dwc_kind(in_bits, out_bits, chain_max)
    if kind != "gearbox":
        mid = in_bits // math.gcd(in_bits, out_bits) * out_bits
        parts = [(in_bits, out_bits)] if kind != "chain" else [(in_bits, mid), (mid, out_bits)]
        out = {"lut": {}, "ff": {}}
        for a, b in parts:
            f = _dwc_part(a, b)
            for res in out:
                for key, v in f[res].items():
                    out[res][key] = out[res].get(key, 0) + v
        return out
    return dwc_gearbox_features(in_bits, out_bits)


def dwc_gearbox_features(in_bits: int, out_bits: int) -> dict:
    """Features of axis_dwc's gearbox from ``in_bits`` to ``out_bits`` (the implementation
    of every pair before the whole-word paths, of the pairs they leave since)."""
    g = math.gcd(in_bits, out_bits)
    buf = in_bits + out_bits + min(in_bits, out_bits) - g
    slots = (buf - in_bits) // g + 1
    cw = clog2(buf + 1)

    def touched(c: int) -> int:  # bits of the count that adding or comparing ``c`` touches
        return max(0, cw - min(trailing_zeros(c), cw))

    # LUT: the slot mux (about a LUT per input bit and slot) and the fill count's arithmetic
    # with constants: count - OUT, + IN, compares with OUT and BUF - IN + 1, each over the
    # bits from the constant's lowest set bit up; the handshake logic is a few LUTs of the
    # count's (no constant term, which a fit on a handful of tiny converters sets at random)
    ctrl = 2 * touched(out_bits) + touched(in_bits) + touched(buf - in_bits + 1)
    return {
        "lut": {"buf": buf, "slots": slots * in_bits, "ctrl": ctrl},
        "ff": {"const": 1.0, "buf": buf, "ctrl": cw},
    }


def weight_streamer_bram18(style: str) -> int:
    """BRAM18 of the kernel's weight streamer of a layer whose weights are ``external``, 0
    for every other style."""
    if style != "external":
        return 0
    return map_memory(STREAMER_FIFO_WORDS - 1, STREAMER_BUS_BITS, False, "auto")["bram18"]


def weight_streamer(style: str, stream: dict) -> dict:
    """``{"lut", "ff", "bram18", "dsp"}`` the RTL kernel adds for a layer whose weights are
    ``external`` (a weight streamer: rtl/kernel_weight_stream.v = kernel_axi_read + read FIFO
    + kernel_unpack, and a source on kernel_read_mux) or ``ultra`` (the same streamer as the
    URAM loader); zeros for every other style. ``stream``: the layer's ``weight_stream()``.

    LUT/FF: :data:`STREAMER_REST` + the converter from the 128-bit bus to ``word_bits``
    (kernel_unpack's axis_dwc, no chain: DWC model, :func:`dwc_features`) +
    :data:`STREAMER_MUX`. DSP (external only): the run's word
    and beat counts are ``frames x words x repeats`` and ``x word_bits``; Yosys maps each
    product by a constant that is not a power of two to 2 DSP48E2."""
    if style not in ("external", "ultra"):
        return {"lut": 0, "ff": 0, "bram18": 0, "dsp": 0}
    dwc = dwc_features(STREAMER_BUS_BITS, int(stream["word_bits"]), chain_max=0)
    out = {}
    for res in ("lut", "ff"):
        c = COEF["DWC"][res]
        gear = sum(c.get(k, 0.0) * v for k, v in dwc[res].items())
        out[res] = int(round(STREAMER_REST[style][res] + gear + STREAMER_MUX[res]))
    out["bram18"] = weight_streamer_bram18(style)

    def pow2(n: int) -> bool:
        return n > 0 and n & (n - 1) == 0

    per_frame = int(stream["words"]) * int(stream["repeats"])
    out["dsp"] = (
        0
        if style == "ultra"
        else 2 * (not pow2(per_frame)) + 2 * (not pow2(int(stream["word_bits"])))
    )
    return out


def add_weight_streamer(mem: dict, style: str, layer) -> None:
    """Add :func:`weight_streamer` of ``layer`` (weights in ``style``) to its ``mem``
    features: BRAM18 and DSP to theirs, LUT/FF as ``stream_lut``/``stream_ff``, which
    :func:`estimate` adds after the fitted LUT/FF model (the calibration synthesizes the
    layer's module alone, without the kernel)."""
    if style not in ("external", "ultra"):
        return
    ws = weight_streamer(style, layer.weight_stream())
    mem["bram18"] += ws["bram18"]
    mem["dsp"] += ws["dsp"]
    mem["stream_lut"] = ws["lut"]
    mem["stream_ff"] = ws["ff"]


#: fitted coefficients and LUT bands (benchmarks/cost/crossval.py fit --write); keys as in
#: features()
from ._coef import BAND, BAND_SOFT, COEF  # noqa: E402  (generated by crossval.py fit --write)


def features(layer) -> dict | None:
    """Structural features of ``layer``: ``{"lut": {...}, "ff": {...}, "mem": {...}}``.

    ``mem`` holds the exact counts (bram18, uram, dsp); None for an object that is not a
    hardware layer. The layer computes them (``layer.cost_features``) with this module's
    helpers (map_memory, mem_luts...).
    """
    fn = getattr(layer, "cost_features", None)
    return None if fn is None else fn(sys.modules[__name__])


def estimate(layer) -> dict:
    """Resource estimate ``{"lut", "ff", "bram18", "uram", "dsp"}`` of one hardware layer."""
    f = features(layer)
    if f is None:
        raise ModelError(
            f"layer {layer.name}: no cost model for layer type {layer.op_type!r}; a hardware "
            "layer states its features in cost_features (fpgagen.layers.base.HWLayer)"
        )
    key = getattr(layer, "cost_coef", None) or layer.op_type
    coef = COEF.get(key)
    if coef is None:
        raise ModelError(
            f"layer {layer.name}: the cost model of {key} is not "
            "calibrated; run benchmarks/cost/calibrate.py fit --write"
        )
    out = {}
    for res in ("lut", "ff"):
        c = coef[res]
        tot = sum(c.get(k, 0.0) * v for k, v in f[res].items())
        if "group" in f:  # grouped MVAU: multiplier ROM, counters, per-PE multipliers
            tot += sum(GROUP_COEF[res][k] * v for k, v in f["group"][res].items())
        out[res] = max(1, int(round(tot)))
    for res in ("lut", "ff"):  # the kernel's weight streamer (external/ultra), not fitted
        out[res] += int(f["mem"].get(f"stream_{res}", 0))
    out["bram18"] = int(f["mem"]["bram18"])
    out["uram"] = int(f["mem"].get("uram", 0))
    out["dsp"] = int(f["mem"]["dsp"])
    return out


def lut_band(layer, lut: int | None = None) -> int:
    """Half-width of the LUT uncertainty band of ``layer``'s estimate.

    ``BAND[type] x (estimate + BAND_SOFT)``: ``BAND`` is the 95% quantile of the relative
    out-of-fold errors of the layer type (:func:`band_key`) in the cross-validated fit, widened for types with
    few calibration designs (docs/cost_model.md, "Uncertainty band"); a type the fit has no
    band for takes the pooled one. ``lut``: the estimate, if already computed.
    """
    if lut is None:
        lut = estimate(layer)["lut"]
    b = BAND.get(band_key(layer), BAND.get(layer.op_type, BAND["_pooled"]))
    return int(math.ceil(b * (lut + BAND_SOFT)))


def band_key(layer) -> str:
    """The row of :data:`BAND` a layer's estimate takes (``layer.cost_band``): its type, or
    ``"MVAU/unrolled"`` for a fully unrolled MVAU (``NF*SF = 1``, weights on chip), whose
    products, adders and comparators synthesis folds with the constant weights into one
    function that the blocks measured apart follow less closely (a band of its own, from its
    own out-of-fold errors)."""
    return getattr(layer, "cost_band", layer.op_type)


def total_lut_band(layers, luts=None) -> int:
    """Half-width of the LUT band of a sum of layers, between independent and fully
    correlated layer errors: ``(1 - BAND_CORR) x sqrt(sum b_i^2) + BAND_CORR x sum b_i`` of
    the layer bands ``b_i``."""
    bs = [lut_band(l, None if luts is None else luts[i]) for i, l in enumerate(layers)]
    rss = math.sqrt(sum(b * b for b in bs))
    return int(math.ceil((1 - BAND_CORR) * rss + BAND_CORR * sum(bs)))


#: weight of the fully correlated part of the layer errors in a total's band (errors common
#: to the layers of one design); set by benchmarks/cost/crossval.py on the calibration tops
from ._coef import BAND_CORR, TOP_GLUE_PE  # noqa: E402


def stitched_pes(layers) -> int:
    """Processing elements of the MVAU and VVAU layers of a design (every MMV copy and lane
    counted): what :func:`top_glue` scales with."""
    return sum(l.stitched_pes for l in layers)


def top_glue(layers) -> int:
    """LUTs a stitched top level adds to the sum of its layers: ``TOP_GLUE_PE`` per PE of
    its MVAUs and VVAUs (:func:`stitched_pes`). The top has no logic of its own (FIFOs and
    width converters are layers, the same FFs); flattened, Yosys maps the layers' logic with
    more, smaller LUTs than out of context, about 7 LUTs per PE on the calibration tops
    (median, benchmarks/cost/crossval.py; docs/cost_model.md "Stitching")."""
    return int(round(TOP_GLUE_PE * stitched_pes(layers)))


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
    if layer.weight_ram_style == "distributed":
        c2 = P * Q * W * math.ceil(wmem / 64)
    mult = (
        0 if mvau_dsp(layer, products_only=True) else Q * (2 * math.ceil((W + A) / 6) - 1) * (W + A)
    )
    addertree = (W + A) * (2 * Q - 1)
    acc = layer.acc_bits
    thr = comp = 0
    if layer.thresholds is not None:
        B = layer.out_dtype.bits
        thr = (2**B - 1) * acc * math.ceil(tmem / 64)
        comp = (2**B - 1) * acc
    return int(c0 + c1 * (P * (mult + addertree + acc + thr + comp)) + c2)


def finn_mvau_bram18(layer) -> int:
    """FINN's MVAU BRAM estimate (RAMB18 in SDP mode, FINN ``bram_estimation``)."""
    if layer.weight_ram_style != "block":
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


register_cost_model(estimate)
