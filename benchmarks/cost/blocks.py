#!/usr/bin/env python3
"""Sub-block characterisation of the cost model (issue 18): Yosys on the blocks the MVAU,
VVAU and Thresholding RTL are built from, over a grid of their own parameters.

    python benchmarks/cost/blocks.py sweep [--only dot|cdot|rdot|act|soft|fold|rom|pe|dwc] [--timeout S]
    python benchmarks/cost/blocks.py table                                # write cost/_blocks.py

Blocks (each synthesized out of context with the default script of :mod:`fpgagen.synth`):

* ``dot``: one PE's products and adder tree (``blocks/dot_pe.v``, the stage 2 of rtl/mvau.v
  with the stage registers as ports) for every hardware operand pair the MVAU/VVAU designs
  use (TERNARY is INT2 in hardware) and SIMD = 1, 2, 4, ..., 32 (64 for the narrower
  pairs; DSP pairs 1, 4, 16), the sum untruncated;
* ``cdot``: ``CDOT_PES`` PEs of the same block with CONSTANT weights (``blocks/cdot_pe.v``: a
  fully unrolled layer, NF*SF = 1, whose weights synthesis folds into the products and adder
  trees), every weight nonzero and drawn uniformly from the type's nonzero values (a TERNARY
  weight is +-1), for the multi-bit pairs of the sweeps and three binary ones (XNOR, a
  BIPOLAR input, a BIPOLAR weight) at n = 1, 2, 4, ..., 32 weights per PE (XNOR up to 256),
  at 1, 4, 16 and (up to 32 weights) 48 PEs; the table holds LUTs per PE at each PE count,
  and a layer reads it at its own (the PEs share products and adder nodes);
* ``rdot``: ``RDOT_PE`` PEs of ``dot_pe.v`` whose weights come from a 2-, 4- or 8-word
  soft-logic ROM addressed by a counter (``blocks/rdot_pe.v``), for 2-4-bit inputs by INT2 /
  TERNARY weights and three binary pairs (XNOR, a BIPOLAR input by INT4 weights, UINT4
  inputs by BIPOLAR weights), SIMD 1..16; LUTs per PE of the ROM, the products and the adder
  tree together, at 4 PEs and (up to 8 lanes, every binary block) at 12 and 32 PEs as well:
  the table holds each, and a layer reads it at its own PE count;
* ``act``: the comparator bank (rtl/thresholding.v: ``PE`` x ``N`` comparators of a ``b``-bit
  value, the count of their outputs, the output register and skid buffer) for
  b = 3..20, N = 1, 2, 3, 7, 15 and thresholds that are constants (one fold, as in an MVAU
  with NF = 1) or come from a threshold memory (forced to block RAM, so that the LUTs are the
  comparators' and not the memory's; the memory's LUTs are the model's ROM term), and
  (``soft``) the same fed by a soft-logic threshold ROM of 2..128 words (b = 2..16, PE 2):
  comparators and ROM together, as the layer maps them;
* ``fold``: the MVAU's / VVAU's activation stage (rtl/act_out.v, ``blocks/act_fold.v``) with
  its soft-logic threshold ROM of 2..256 words addressed by a pipeline copy of the fold
  counter, as those layers address it (b = 3..16, PE 2);
* ``rom``: a soft-logic ROM (rtl/rom_sync.v) of random contents, ``ROM_WIDTHS`` bits wide,
  addressed by a wrapping counter as in the layers (``blocks/rom_ctr.v``), at 2..1024 words;
  the table holds LUTs per bit;
* ``dwc``: the whole-word data-width converters (rtl/axis_dwc.v): a collect of ``K`` words of
  1 bit (``1 -> K``: its registers load through clock enables, so its LUTs are its count's and
  handshake's at any width) and an unload of ``K`` words of ``w`` bits (``K*w -> w``, a
  ``K``:1 mux per output bit) for ``K`` = 2..64 and ``w`` in ``DWC_W``; a chain is one of each.

The comparator blocks are synthesized at a second PE count as well (:func:`slope_pe`; those of
constant thresholds at 2, 4, 8, 16 and 32 PEs, :data:`ACT_CONST_PES`): their tables hold the
LUTs of one more PE (the least-squares slope over the counts measured), the block's fixed
part being the layers' own terms. The
threshold ROM's part of that slope is the distinct ROM columns one more PE adds
(:func:`marginal_columns`); a layer's ROM costs by its own distinct columns at the blocks'
LUTs per column (:func:`column_cost`). ``pe``: six ``fold`` grid points
again at 24 and 48 PEs, which check that (not in the tables).

The grids are fixed (no seed but the thresholds' values: ``BLOCK_SEED``); no design of the
calibration, hold-out or regime sets is among them. Results go to
``benchmarks/results/cost_blocks.json``; ``table`` turns them into the LUT tables of
``generator/fpgagen/cost/_blocks.py`` that :mod:`fpgagen.cost.model` interpolates.
"""

from __future__ import annotations

import argparse
import fcntl
import itertools
import json
import os
import pprint
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "generator"))
sys.path.insert(0, str(HERE))

RESULTS = ROOT / "benchmarks" / "results"
BLOCKS = RESULTS / "cost_blocks.json"
TABLE_PY = ROOT / "generator" / "fpgagen" / "cost" / "_blocks.py"
BLOCK_SEED = 18010

#: word counts and unload widths of the ``dwc`` blocks: every K at ``DWC_W``, wider words at
#: the word counts of at most ``DWC_WIDE`` (width: largest K), where most converters between
#: layers are: the model reads between measured widths and along the last segment beyond
#: (measured: 7 words cost 8 + 4 LUTs per bit to 64 bits, 15 words 9.9 per bit from 16 to
#: 32 bits and 9.0 from 32 to 64)
DWC_K = list(range(2, 65))
DWC_W = [1, 2, 4, 8, 16]
DWC_WIDE = {32: 16, 64: 16, 128: 8, 256: 8}

#: hardware operand pairs (input, weight) of the dot block: TERNARY is INT2 in rtl/mvau.v
DOT_PAIRS = [
    ("BIPOLAR", "BIPOLAR"),
    ("BIPOLAR", "INT4"),
    ("UINT4", "BIPOLAR"),
    ("INT2", "INT2"),
    ("UINT2", "INT2"),
    ("UINT3", "INT2"),
    ("INT4", "INT2"),
    ("INT3", "INT3"),
    ("INT4", "INT4"),
    ("UINT4", "INT4"),
    ("UINT6", "INT2"),
    ("INT8", "INT4"),
    ("UINT8", "INT8"),
]
DOT_SIMD = [1, 2, 4, 8, 16, 32]
#: 64-lane blocks measured as well (the slowest runs: only the narrower pairs, the first
#: seven of DOT_PAIRS)
DOT_SIMD_64 = DOT_PAIRS[:7]
#: DSP products (Yosys mul2dsp): the LUTs are the adder tree's and the DSP glue, close to
#: linear in SIMD: a coarser grid
DSP_PAIRS = [("UINT4", "INT4"), ("UINT6", "INT2"), ("INT8", "INT4"), ("UINT8", "INT8")]
DOT_SIMD_DSP = [1, 4, 16]
#: constant-weight blocks (``cdot``): multi-bit product pairs of the sweeps (TERNARY weights
#: are +-1 constants, not INT2), nonzero weights per PE, PEs per design (the table is per PE)
CDOT_PAIRS = [
    ("INT2", "INT2"),
    ("UINT2", "INT2"),
    ("INT3", "INT3"),
    ("INT4", "INT4"),
    ("INT2", "TERNARY"),
    ("UINT2", "TERNARY"),
    ("UINT3", "TERNARY"),
    # the random sets' other TERNARY-weight input (a TERNARY input is INT2 in hardware: the
    # INT2 row)
    ("INT4", "TERNARY"),
    # DSP-wide products by +-2^k constants, which a fully unrolled layer takes as shifts
    # (MVAU.const_weights)
    ("UINT6", "INT2"),
]
CDOT_N = [1, 2, 4, 8, 16, 32]
#: ... and the one-BIPOLAR and XNOR pairs (products by +-1 constants, conditional negations of
#: a constant, XNOR lanes: the popcount of a fully unrolled binary layer), the XNOR pair up to
#: 256 lanes (TFC's fully unrolled layers sum 64-784)
CDOT_BIN_PAIRS = {("BIPOLAR", "BIPOLAR"): CDOT_N + [64, 128, 256], ("BIPOLAR", "INT4"): CDOT_N}
CDOT_BIN_PAIRS[("UINT4", "BIPOLAR")] = CDOT_N
CDOT_PE = 4
#: ... and at these PE counts as well (the table holds LUTs per PE at each, and a layer reads
#: it at its own): PEs that read the same input share products and adder nodes, and at 1
#: PE a TERNARY block costs 1.2-1.5 LUTs per adder bit of its tree, at 16 PEs 0.6-0.9 and at
#: 40 PEs 0.5-0.7 per adder bit of its distinct nodes (:func:`fpgagen.cost.model.tree_sharing`
#: counts those exactly; synthesis shares more). The widest XNOR rows (64-256 lanes) are not
#: measured at 48 PEs
CDOT_PES = (1, 4, 16, 48)
CDOT_WIDE = 32
#: soft-logic ROMs (rtl/rom_sync.v, random contents): words, and bits per word. The cost of a
#: ROM is far from linear between powers of two (one more address bit makes a 72-word ROM cost
#: 1.6 times a 64-word one per bit; a 90-word one 2.1 times), so the grid has 4 points per
#: octave from 16 words on; two widths (two random contents) halve the contents' noise
ROM_DEPTH = [2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 72, 80, 96, 112]
ROM_DEPTH += [128, 144, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024]
ROM_WIDTHS = [32, 64]
#: products fed by a small soft-logic weight ROM (``rdot``): operand pairs (2-4-bit inputs,
#: INT2 / TERNARY weights), words, lanes per PE (32 lanes x 4 PEs took over 10 minutes a run:
#: extrapolated), PEs per design (the table is per PE). 3, 5 and 6 lanes since the
#: fourteenth session: at 32 PEs a 2-word UINT2 x TERNARY block costs 13.6 LUTs per PE at 4
#: lanes and 24.0 at 5 (9.3, 30.8, 40.9 and 47.2 at 3, 6, 7 and 8), where the line from 4 to
#: 8 lanes gave 21.2 at 5
RDOT_PAIRS = [
    ("INT2", "INT2"),
    ("UINT2", "INT2"),
    ("INT2", "TERNARY"),
    ("UINT2", "TERNARY"),
    ("UINT3", "TERNARY"),
    ("UINT3", "INT2"),
    ("INT4", "TERNARY"),
    ("INT4", "INT2"),
    # binary pairs since the fourteenth session (an XNOR, +-w, +-x fed by a 2-8-word ROM):
    # priced as unshared products, ROM-fed XNOR layers of 17-46 PEs were 11-24% high
    ("BIPOLAR", "BIPOLAR"),
    ("BIPOLAR", "INT4"),
    ("UINT4", "BIPOLAR"),
]
RDOT_DEPTH = [2, 4, 8]
#: pruned ROM-fed blocks (``rdot`` with ``zeros``, TERNARY weights): the share of zero weights
#: besides the dense blocks' 1/3 (:func:`sparse_lanes`). Since the fifteenth session: 32 PEs
#: of 3 live INT2 x TERNARY lanes fed by 8 words cost 15.8 LUTs per PE at 90% zero, 20.3 at
#: 75%, 30.0 at 60%, 31.4 dense (not linear in the share)
RDOT_ZEROS = [0.6, 0.9]
RDOT_SIMD = [1, 2, 3, 4, 5, 6, 8, 16]
RDOT_PE = 4
#: comparator bits of the ``act`` blocks (a Thresholding layer on INTb values: 2 is its
#: narrowest type). 2 since the fourteenth session: a layer whose accumulator has 3 bits read
#: the table below its grid (a 38-PE MVAU of one input element and 3 thresholds, -30%)
ACT_BITS = [2, 3, 4, 5, 6, 8, 11, 16, 20]
ACT_N = [1, 2, 3, 7, 15]
#: PE of the act designs (the table is per PE)
ACT_PE = {"const": 8, "rom": 4}
#: ... and the ``const`` blocks at these PE counts as well: their LUTs at 8 and 16 PEs alone
#: gave a noisy slope (6-bit values, 3 thresholds: 93 and 154 LUTs, 7.6 per PE, where 1, 2,
#: 4 and 32 PEs give 15, 27, 50 and 320: about 10 per PE); the table holds the least-squares
#: slope over all counts measured
ACT_CONST_PES = (2, 4, 32)
#: comparator banks fed by a soft-logic threshold ROM of ``depth`` words (``soft``): the
#: comparators, the ROM and their interplay together (a Thresholding layer of NF = depth)
SOFT_BITS = [2, 3, 4, 5, 6, 8, 11, 16]
SOFT_DEPTH = [2, 4, 8, 16, 32, 64, 128]
SOFT_PE = 2
#: the activation stage of the MVAU / VVAU (rtl/act_out.v) fed by a soft-logic threshold ROM
#: of ``depth`` words, addressed by a pipeline copy of the fold counter as in those layers
#: (``fold``, blocks/act_fold.v): ``ACC_BITS = b + 1`` (row ``b`` of the tables, as in
#: ``act``), sorted random thresholds over the accumulator's range; 1 and 2 (accumulators of 2
#: and 3 bits) since the fourteenth session
FOLD_BITS = [1, 2, 3, 4, 6, 8, 11, 16]
FOLD_DEPTH = [2, 4, 8, 16, 32, 64, 128, 256]
FOLD_PE = 2
#: the ``soft`` and ``fold`` blocks between two of their powers of two (``mid``), at six of
#: their (bits, N) points: how far a ROM of 3, 5, 6, 12, 24, 48 or 96 words departs from the line
#: between its neighbours (a ROM costs more just past a power of two, less towards the next:
#: :func:`octave_tables`)
MID_DEPTH = [3, 5, 6, 12, 24, 48, 96]
#: (bits, N, depth) of the ``fold`` blocks measured again at :data:`PE_CHECK` PEs (``--only
#: pe``): two 8-word ROMs whose columns repeat across PEs, and ROMs of 2, 16, 32 and 64 words
PE_CHECK_POINTS = [(6, 3, 8), (16, 1, 8), (8, 7, 32), (11, 3, 64), (4, 1, 16), (3, 1, 2)]
PE_CHECK = [24, 48]
MID_POINTS = [(3, 7), (4, 3), (6, 1), (8, 3), (11, 7), (16, 15)]
#: the second PE count of the small blocks (``act``'s modes, ``soft``, ``fold``, ``rdot``)
#: measured for their slope (:func:`slope_pe`)
SLOPE_PE = {"const": 16, "rom": 12, "soft": 6, "fold": 6, "rdot": 12}
#: a third PE count of the ``rdot`` blocks: their LUTs per PE fall with the PE count up to
#: 4 lanes (a lane's few possible weight sequences are products the PEs share), and half of
#: the ROM-fed layers of the sets have 30-52 PEs; from 5 lanes on they hardly fall (8 lanes:
#: 43.8 LUTs per PE at 4 PEs, 47.9 at 12, 47.2 at 32), which the table held at 4 PEs only
#: until the fourteenth session (now measured at all three up to 8 lanes)
RDOT_PE_HIGH = 32


def dtype_params(name: str, prefix: str) -> dict:
    from fpgagen.datatypes import DataType

    d = DataType(name)
    return {
        f"{prefix}_BITS": d.bits,
        f"{prefix}_SIGNED": int(d.signed and not d.is_bipolar),
        f"{prefix}_BIPOLAR": int(d.is_bipolar),
    }


def pair_key(ind: str, wd: str) -> str:
    """Table key of an operand pair as the hardware sees it (bits, signed, bipolar)."""
    p = {**dtype_params(ind, "IN"), **dtype_params(wd, "W")}
    return (
        f"i{p['IN_BITS']}{'b' if p['IN_BIPOLAR'] else 's' if p['IN_SIGNED'] else 'u'}"
        f"_w{p['W_BITS']}{'b' if p['W_BIPOLAR'] else 's' if p['W_SIGNED'] else 'u'}"
    )


def cdot_key(ind: str, wd: str) -> str:
    """Table key of a constant-weight pair: :func:`pair_key`, with ``wt`` for TERNARY weights
    (+-1 constants, cheaper than INT2's -2, -1, 1)."""
    k = pair_key(ind, wd)
    return k.rsplit("_", 1)[0] + "_wt" if wd == "TERNARY" else k


def _dot_params(ind: str, wd: str, simd: int) -> dict:
    p = {**dtype_params(ind, "IN"), **dtype_params(wd, "W"), "SIMD": simd}
    xe = p["IN_BITS"] + (0 if p["IN_SIGNED"] else 1)
    we = p["W_BITS"] + (0 if p["W_SIGNED"] else 1)
    xnor = p["IN_BIPOLAR"] and p["W_BIPOLAR"]
    pb = (
        1
        if xnor
        else (
            p["W_BITS"] + 1 if p["IN_BIPOLAR"] else p["IN_BITS"] + 1 if p["W_BIPOLAR"] else xe + we
        )
    )
    p["OUT_W"] = pb + (simd - 1).bit_length()
    return p


def _hex_words(values, dtype_name: str, elems: int) -> list[str]:
    """``values`` packed ``elems`` to a word and written as hex, MSB first, the layers' memory
    file format (:func:`fpgagen.packing.pack` / :func:`~fpgagen.packing.to_hex`,
    docs/conventions.md): element ``i`` at bits ``[i*bits +: bits]``."""
    from fpgagen.datatypes import DataType
    from fpgagen.packing import pack, to_hex

    dt = DataType(dtype_name)
    return to_hex(pack(values, dt, elems), elems * dt.bits)


def cdot_weights(spec: dict) -> np.ndarray:
    """The ``(PE, SIMD)`` constant weights of a ``cdot`` block: nonzero values of the type
    (+-1 for TERNARY) drawn with ``BLOCK_SEED`` and the grid point."""
    from fpgagen.datatypes import DataType

    wd = DataType(spec["w"])
    pe, n = spec["pe"], spec["simd"]
    vals = [-1, 1] if spec["w"] == "TERNARY" else [v for v in range(wd.min, wd.max + 1) if v]
    rng = np.random.default_rng([BLOCK_SEED, pe, n, wd.bits, len(vals), 7])
    return rng.choice(vals, size=pe * n).reshape(pe, n)


def cdot_share(spec: dict) -> float:
    """The share of a ``cdot`` block's products and adders that its PEs do not have in common
    (:func:`fpgagen.cost.model.tree_sharing` of its weights: the distinct nodes over the
    nodes of all PEs); the model scales the block's LUTs per PE by a layer's own share over
    this one."""
    from fpgagen.cost import model
    from fpgagen.datatypes import DataType

    ind, wd = DataType(spec["in"]), DataType(spec["w"])
    pb, prod_bits = model.const_tree_operands(ind, wd)
    shared, per_pe = model.tree_sharing(cdot_weights(spec), pb, prod_bits)
    return shared / per_pe if per_pe else 1.0


def _cdot_source(spec: dict, d: Path) -> Path:
    """A top module ``cdot_top`` instantiating blocks/cdot_pe.v with this design's constant
    weights (drawn with ``BLOCK_SEED``; every weight nonzero)."""
    from fpgagen.datatypes import DataType

    wd = DataType(spec["w"])
    pe, n = spec["pe"], spec["simd"]
    w = cdot_weights(spec).reshape(-1)
    # weight i at bits [i*W_BITS +: W_BITS], PE-major
    word = _hex_words(w, spec["w"], pe * n)[0].lstrip("0") or "0"
    p = {**_dot_params(spec["in"], spec["w"], n), "PE": pe}
    nbits = pe * n * wd.bits
    ps = ", ".join(f".{k}({v})" for k, v in p.items())
    src = (
        "`default_nettype none\n"
        f"module cdot_top (input wire [{n * p['IN_BITS']}-1:0] x1,\n"
        f"                 output wire [{pe * p['OUT_W']}-1:0] dot);\n"
        f"cdot_pe #({ps}, .WCONST({nbits}'h{word})) u (.x1(x1), .dot(dot));\n"
        "endmodule\n`default_nettype wire\n"
    )
    d.mkdir(parents=True, exist_ok=True)
    f = d / "cdot_top.v"
    f.write_text(src)
    return f


def rdot_values(w: str) -> list[int]:
    """The values an ``rdot`` block's weights are drawn from, uniformly: the type's values, 0
    included (a TERNARY weight from -1, 0, 1; a BIPOLAR one from -1, 1)."""
    from fpgagen.datatypes import DataType

    wd = DataType(w)
    if wd.is_bipolar:
        return [-1, 1]
    return [-1, 0, 1] if w == "TERNARY" else list(range(wd.min, wd.max + 1))


def _rdot_rom(spec: dict, d: Path) -> Path:
    """The weight ROM of an ``rdot`` block: ``depth`` words of ``PE x SIMD`` weights drawn
    uniformly from :func:`rdot_values`, seeded by the grid point; weight ``(p, s)`` at bits
    ``[(p*SIMD + s) * W_BITS +: W_BITS]``."""
    from fpgagen.datatypes import DataType

    wd = DataType(spec["w"])
    vals = rdot_values(spec["w"])
    pe, n, dep = spec["pe"], spec["simd"], spec["depth"]
    zeros = spec.get("zeros")
    if zeros is None:
        rng = np.random.default_rng([BLOCK_SEED, pe, n, dep, wd.bits, len(vals), 11])
        w = rng.choice(vals, size=(dep, pe * n))
    else:
        w = sparse_lanes(spec, zeros)
    d.mkdir(parents=True, exist_ok=True)
    f = d / "rom.mem"
    f.write_text("".join(h + "\n" for h in _hex_words(w, spec["w"], pe * n)))
    return f


def sparse_lanes(spec: dict, zeros: float) -> np.ndarray:
    """``depth x (PE*SIMD)`` weights of a pruned ``rdot`` block: each weight 0 with probability
    ``zeros``, else a nonzero value of :func:`rdot_values` (TERNARY: +-1), seeded by the grid
    point. Lanes that come out 0 in every word stay in the block as in a pruned layer: their
    products go, but the adder tree keeps its shape around them (a block of only live lanes,
    tried first, was 20-35% under the same layers' weights synthesized in the block)."""
    nz = [v for v in rdot_values(spec["w"]) if v]
    pe, n, dep = spec["pe"], spec["simd"], spec["depth"]
    rng = np.random.default_rng([BLOCK_SEED, pe, n, dep, round(zeros * 100), 17])
    shape = (dep, pe * n)
    return np.where(rng.random(shape) < zeros, 0, rng.choice(nz, size=shape))


def designs(only: str | None = None) -> list[dict]:
    out = []
    if only in (None, "dot"):
        for ind, wd in DOT_PAIRS:
            grid = DOT_SIMD if (ind, wd) not in DSP_PAIRS else DOT_SIMD_DSP
            for s in grid + ([64] if (ind, wd) in DOT_SIMD_64 else []):
                out.append(
                    {
                        "id": f"dot_{pair_key(ind, wd)}_s{s}",
                        "block": "dot",
                        "in": ind,
                        "w": wd,
                        "simd": s,
                    }
                )
    if only in (None, "cdot"):
        grid = {p: CDOT_N for p in CDOT_PAIRS} | CDOT_BIN_PAIRS
        for pe in CDOT_PES:
            for (ind, wd), ns in grid.items():
                for n in ns:
                    if pe > 16 and n > CDOT_WIDE:
                        continue
                    out.append(
                        {
                            # the first grid's ids (4 PEs) stay as they were
                            "id": f"cdot_{cdot_key(ind, wd)}_n{n}"
                            + ("" if pe == CDOT_PE else f"_p{pe}"),
                            "block": "cdot",
                            "in": ind,
                            "w": wd,
                            "simd": n,
                            "pe": pe,
                        }
                    )
    if only in (None, "act"):
        for mode in ("const", "rom"):
            for b in ACT_BITS:
                for n in ACT_N:
                    if n > 2**b - 1:  # INTb: at most 2**b - 1 distinct thresholds
                        continue
                    out.append(
                        {
                            "id": f"act_{mode}_b{b}_n{n}",
                            "block": "act",
                            "mode": mode,
                            "bits": b,
                            "n": n,
                            "pe": ACT_PE[mode],
                        }
                    )
    if only in (None, "rdot"):
        for ind, wd in RDOT_PAIRS:
            for dep in RDOT_DEPTH:
                for n in RDOT_SIMD:
                    base = {
                        "id": f"rdot_{cdot_key(ind, wd)}_d{dep}_s{n}",
                        "block": "rdot",
                        "in": ind,
                        "w": wd,
                        "simd": n,
                        "depth": dep,
                        "pe": RDOT_PE,
                    }
                    out.append(base)
                    for z in RDOT_ZEROS if wd == "TERNARY" else []:
                        zid = f"{base['id']}_z{round(z * 100)}"
                        out.append({**base, "id": zid, "zeros": z})
    if only in (None, "soft"):
        for b in SOFT_BITS:
            for n in ACT_N:
                if n > 2**b - 1 or n == 2:
                    continue
                for dep in SOFT_DEPTH:
                    out.append(
                        {
                            "id": f"act_soft_b{b}_n{n}_d{dep}",
                            "block": "act",
                            "mode": "soft",
                            "bits": b,
                            "n": n,
                            "depth": dep,
                            "pe": SOFT_PE,
                        }
                    )
    if only in (None, "fold"):
        for b in FOLD_BITS:
            for n in (1, 3, 7, 15):
                if n > 2**b - 1:
                    continue
                for dep in FOLD_DEPTH:
                    out.append(
                        {
                            "id": f"act_fold_b{b}_n{n}_d{dep}",
                            "block": "fold",
                            "bits": b,
                            "n": n,
                            "depth": dep,
                            "pe": FOLD_PE,
                        }
                    )
    if only in (None, "pe"):
        # fold blocks at more PEs, to check the distinct-column model (not in the tables: a
        # grid point's slope is its first two PE counts')
        for (b, n, dep), pe in itertools.product(PE_CHECK_POINTS, PE_CHECK):
            out.append(
                {
                    "id": f"act_fold_b{b}_n{n}_d{dep}_p{pe}",
                    "block": "fold",
                    "bits": b,
                    "n": n,
                    "depth": dep,
                    "pe": pe,
                    "check": True,
                }
            )
    for kind in ("soft", "fold"):
        if only not in (None, kind):
            continue
        for (b, n), dep in itertools.product(MID_POINTS, MID_DEPTH):
            spec = {"block": "act", "mode": "soft"} if kind == "soft" else {"block": "fold"}
            out.append(
                {
                    "id": f"act_{kind}_b{b}_n{n}_d{dep}_mid",
                    **spec,
                    "bits": b,
                    "n": n,
                    "depth": dep,
                    "pe": SOFT_PE if kind == "soft" else FOLD_PE,
                    "mid": True,
                }
            )
    # small blocks again at more PEs, where the block's own fixed part (fold counter, valid
    # and skid control, the weight ROM's counter: 5-10 LUTs) is a sizeable share of its LUTs
    # per PE: the tables then hold the cost of one more PE (the slope), the layers' own terms
    # count the fixed part
    out += [
        {**s, "id": f"{s['id']}_p{slope_pe(s)}", "pe": slope_pe(s)}
        for s in out
        if slope_pe(s) and not s.get("check")
    ]
    out += [
        {**s, "id": f"{s['id']}_p{RDOT_PE_HIGH}", "pe": RDOT_PE_HIGH}
        for s in out
        if s["block"] == "rdot" and s["pe"] == RDOT_PE and slope_pe(s)
    ]
    out += [
        {**s, "id": f"{s['id']}_p{pe}", "pe": pe}
        for s in out
        if s["block"] == "act" and s.get("mode") == "const" and s["pe"] == ACT_PE["const"]
        for pe in ACT_CONST_PES
    ]
    if only in (None, "rom"):
        for dep, w in itertools.product(ROM_DEPTH, ROM_WIDTHS):
            out.append({"id": f"rom_d{dep}_w{w}", "block": "rom", "depth": dep, "width": w})
    if only in (None, "dwc"):
        for k in DWC_K:
            out.append({"id": f"dwc_collect_k{k}", "block": "dwc", "kind": "collect", "k": k})
            for w in DWC_W + [w for w, kmax in DWC_WIDE.items() if k <= kmax]:
                out.append(
                    {
                        "id": f"dwc_unload_k{k}_w{w}",
                        "block": "dwc",
                        "kind": "unload",
                        "k": k,
                        "w": w,
                    }
                )
    # small first: a sweep stopped early has the whole grid at its small end
    return sorted(
        out,
        key=lambda s: (
            s.get("simd", 0) * 4 + s.get("bits", 0) * s.get("n", 0) / 8 + s.get("depth", 0) / 16
        ),
    )


def _act_layer(spec: dict):
    """The Thresholding layer of an ``act`` block: ``PE`` channels per fold (one fold for
    ``const``, two for ``rom``, ``depth`` for ``soft``), INT``bits`` values, ``n`` sorted
    random thresholds per channel in the value's range (seeded by the grid point)."""
    from calibrate import thr_out_dtype
    from fpgagen.datatypes import DataType
    from fpgagen.layers import thresholding

    b, n, pe = spec["bits"], spec["n"], spec["pe"]
    nf = {"const": 1, "rom": 2}.get(spec["mode"]) or spec["depth"]
    ind = DataType(f"INT{b}")
    rng = np.random.default_rng([BLOCK_SEED, b, n, nf])
    thr = np.sort(rng.integers(ind.min, ind.max + 1, size=(pe * nf, n)), axis=1)
    return thresholding.Thresholding(spec["id"], thr, ind, thr_out_dtype(n), 0, pe=pe)


def _fold_thresholds(spec: dict) -> np.ndarray:
    """The threshold ROM of a ``fold`` block: ``depth`` words of ``PE x N`` sorted random
    thresholds over INT``bits+1`` (the accumulator's range), seeded by the grid point;
    threshold ``i`` of PE ``p`` at field ``p*N + i`` (rtl/act_out.v)."""
    from fpgagen.datatypes import DataType

    b, n, pe, dep = spec["bits"], spec["n"], spec["pe"], spec["depth"]
    acc = DataType(f"INT{b + 1}")
    rng = np.random.default_rng([BLOCK_SEED, b, n, dep, 13])
    thr = np.sort(rng.integers(acc.min, acc.max + 1, size=(dep * pe, n)), axis=1)
    return thr.reshape(dep, pe * n)


def rom_columns(spec: dict, pe: int) -> tuple[int, int]:
    """``(distinct varying columns, bits per PE)`` of the threshold ROM of a ``fold`` or a
    ``soft`` block at ``pe`` PEs (:func:`fpgagen.cost.model.threshold_columns`): the first
    is what synthesis keeps of the ROM, the second the bits that could vary (``N`` x the
    threshold width) against which the tables' fractions are given."""
    from fpgagen.cost import model

    s = {**spec, "pe": pe}
    if s["block"] == "fold":
        n, b = s["n"], s["bits"] + 1
        return model.threshold_columns(_fold_thresholds(s).reshape(-1, n), pe, b)[1], n * b
    l = _act_layer(s)
    n, tb = l.thresholds.shape[1], l.t_bits
    return model.threshold_columns(l.thresholds, pe, tb)[1], n * tb


def marginal_columns(spec: dict) -> tuple[float, float, int]:
    """``(m, D0, bits per PE)`` of a comparator block's threshold ROM over its two PE counts
    (:func:`slope_pe`): ``m`` the distinct varying columns one more PE adds, ``D0`` the line's
    value at 0 PEs (the columns that the PEs have in common: large when a ROM of few words has
    few possible columns, 256 at 8 words). The table's LUTs per PE are the comparators' and
    ``m`` columns'; a layer's ROM costs by its own distinct columns (docs/cost_model.md)."""
    p0, p1 = spec["pe"], slope_pe(spec)
    d0, bits = rom_columns(spec, p0)
    if not p1 or p1 == p0:
        return d0 / p0, 0.0, bits
    d1, _ = rom_columns(spec, p1)
    m = max(0.0, (d1 - d0) / (p1 - p0))
    return m, d0 - p0 * m, bits


def synth(spec: dict, work: Path, timeout: float) -> dict:
    from fpgagen.codegen.rtl import module_files
    from fpgagen.synth import RESOURCE_KEYS
    from fpgagen.synth.yosys import synth_verilog

    d = work / spec["id"]
    if spec["block"] == "cdot":
        srcs = [
            _cdot_source(spec, d),
            HERE / "blocks" / "cdot_pe.v",
            HERE / "blocks" / "dot_pe.v",
            ROOT / "rtl" / "adder_tree.v",
        ]
        r = synth_verilog(srcs, "cdot_top", {}, d, label=spec["id"], timeout=timeout)
    elif spec["block"] == "rdot":
        srcs = [
            _rdot_rom(spec, d),
            HERE / "blocks" / "rdot_pe.v",
            HERE / "blocks" / "rom_ctr.v",
            HERE / "blocks" / "dot_pe.v",
            ROOT / "rtl" / "adder_tree.v",
            ROOT / "rtl" / "rom_sync.v",
        ]
        p = {**_dot_params(spec["in"], spec["w"], spec["simd"]), "PE": spec["pe"]}
        p.update({"DEPTH": spec["depth"], "INIT_FILE": "rom.mem"})
        r = synth_verilog(
            srcs[1:], "rdot_pe", p, d, mem_files=[srcs[0]], label=spec["id"], timeout=timeout
        )
    elif spec["block"] == "rom":
        dep, w = spec["depth"], spec["width"]
        rng = np.random.default_rng([BLOCK_SEED, dep, w, 5])
        d.mkdir(parents=True, exist_ok=True)
        init = d / "rom.mem"
        words = rng.integers(0, 2, size=(dep, w))
        init.write_text("".join(h + "\n" for h in _hex_words(words, "UINT1", w)))
        p = {"WIDTH": w, "DEPTH": dep, "INIT_FILE": init.name}
        r = synth_verilog(
            [HERE / "blocks" / "rom_ctr.v", ROOT / "rtl" / "rom_sync.v"],
            "rom_ctr",
            p,
            d,
            mem_files=[init],
            label=spec["id"],
            timeout=timeout,
        )
    elif spec["block"] == "fold":
        from calibrate import thr_out_dtype

        b, n = spec["bits"], spec["n"]
        d.mkdir(parents=True, exist_ok=True)
        init = d / "thresholds.mem"
        words = _fold_thresholds(spec)
        init.write_text("".join(h + "\n" for h in _hex_words(words, f"INT{b + 1}", words.shape[1])))
        p = {
            "PE": spec["pe"],
            "ACC_BITS": b + 1,
            "N_THRES": n,
            "OUT_BITS": thr_out_dtype(n).bits,
            "DEPTH": spec["depth"],
            "THRES_FILE": init.name,
        }
        srcs = [HERE / "blocks" / "act_fold.v"] + [
            ROOT / "rtl" / f
            for f in ("act_out.v", "rom_sync.v", "mt_count.v", "axis_skid.v", "adder_tree.v")
        ]
        r = synth_verilog(
            srcs, "act_fold", p, d, mem_files=[init], label=spec["id"], timeout=timeout
        )
    elif spec["block"] == "dwc":
        k, w = spec["k"], spec.get("w", 1)
        p = (
            {"IN_WIDTH": 1, "OUT_WIDTH": k}
            if spec["kind"] == "collect"
            else {"IN_WIDTH": k * w, "OUT_WIDTH": w}
        )
        # the converter's own sources, as the DWC layer synthesizes them
        r = synth_verilog(
            module_files("axis_dwc"), "axis_dwc", p, d, label=spec["id"], timeout=timeout
        )
    elif spec["block"] == "dot":
        p = _dot_params(spec["in"], spec["w"], spec["simd"])
        srcs = [HERE / "blocks" / "dot_pe.v", ROOT / "rtl" / "adder_tree.v"]
        r = synth_verilog(srcs, "dot_pe", p, d, label=spec["id"], timeout=timeout)
    else:
        l = _act_layer(spec)
        (d / "mem").mkdir(parents=True, exist_ok=True)
        mems = [Path(x) for x in l.write_memories(d / "mem")]
        params = dict(l.rtl_params("mem"))
        if spec["mode"] == "rom":  # the memory in block RAM: the LUTs are the comparators'
            params["RAM_STYLE"] = "block"
        elif spec["mode"] == "soft":  # the memory in soft logic: comparators and ROM together
            params["RAM_STYLE"] = "distributed"
        r = synth_verilog(
            module_files(l.rtl_module),
            l.rtl_module,
            params,
            d,
            mem_files=mems,
            label=spec["id"],
            timeout=timeout,
        )
    return {"spec": spec, "yosys": {k: r[k] for k in RESOURCE_KEYS + ("seconds",)}}


def _load() -> dict:
    return json.loads(BLOCKS.read_text()) if BLOCKS.is_file() else {"designs": {}}


def cmd_sweep(a) -> int:
    from fpgagen.synth import yosys_version

    specs = designs(a.only)
    data = _load()
    todo = [s for s in specs if s["id"] not in data["designs"]]
    if a.shard:  # "I/K": the I-th of K interleaved parts (K sweeps side by side)
        i, k = (int(x) for x in a.shard.split("/"))
        todo = todo[i::k]
    print(f"{len(specs)} blocks, {len(todo)} to synthesize", flush=True)
    work = Path(tempfile.mkdtemp(prefix="fpgagen_blocks_"))
    for s in todo:
        t0 = time.time()
        try:
            r = synth(s, work, a.timeout)
        except Exception as e:  # report and go on
            print(f"FAILED {s['id']}: {type(e).__name__}: {e}", flush=True)
            continue
        # two sweeps (say --only soft and --only fold) may run at once: read, add and write
        # the results file under a lock so that neither loses the other's designs
        with open(BLOCKS.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = _load()
            data["yosys_version"] = yosys_version()
            data["designs"][s["id"]] = r
            tmp = BLOCKS.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
            os.replace(tmp, BLOCKS)
        print(
            f"{s['id']}: LUT {r['yosys']['lut']} DSP {r['yosys']['dsp']} "
            f"BRAM18 {r['yosys']['bram18']} ({time.time() - t0:.0f} s, "
            f"{time.strftime('%H:%M:%S')})",
            flush=True,
        )
    return 0


def slope_pe(spec: dict) -> int:
    """The second PE count a block is measured at (0: measured once, its LUTs per PE are the
    table's): every comparator block (``act``, ``soft``, ``fold``; at 2 PEs a block of one
    random ROM per PE also scatters more than at 6, and the wide ROMs of 14 PEs and more cost
    more per PE than 2 PEs' at some depths), ``rdot`` blocks of up to 8 lanes (at 16, 4
    PEs' LUTs per PE are within 5% of 32 PEs': 120 and 114 for 2-word UINT2 x TERNARY; 16
    multi-bit lanes at 32 PEs take up to a minute a run) and every binary ``rdot`` block
    (a BIPOLAR operand: small and quick, and an XNOR layer's popcount is often 16 lanes or
    more)."""
    if spec["block"] == "rdot":
        binary = "BIPOLAR" in (spec["in"], spec["w"])
        return SLOPE_PE["rdot"] if spec["simd"] <= 8 or binary else 0
    if spec["block"] not in ("act", "fold"):
        return 0
    return SLOPE_PE[spec.get("mode", "fold")]


def _grid_key(spec: dict) -> tuple:
    """A block's grid point: its spec without the id and the PE count."""
    return tuple(sorted((k, v) for k, v in spec.items() if k not in ("id", "pe")))


def _soft_rom(spec: dict) -> bool:
    """Whether a block's threshold ROM is meant to be soft logic (``soft`` and ``fold``)."""
    return spec["block"] == "fold" or spec.get("mode") == "soft"


def tables(data: dict | None = None) -> dict:
    """``{"dot": {pair key: {simd: LUTs}}, "cdot": {pair key: {n: {PE: LUTs per PE}}},
    "act": {mode: {bits: {n: LUTs per PE}}}, "act_soft": {bits: {n: {depth: LUTs per PE}}},
    "act_soft_var": (the same keys: the fraction of the block's ROM bits that vary),
    "rom": {depth: LUTs per bit}}``."""
    data = data or _load()
    dot: dict = {}
    cdot: dict = {}
    cshare: dict = {}
    act: dict = {"const": {}, "rom": {}}
    rom_bits: dict = {}
    fixed: dict = {"fold": {}, "soft": {}}
    rom_cols: dict = {"fold": {}, "soft": {}}  # (LUTs per PE, m, D0) of marginal_columns
    soft: dict = {}
    soft_var: dict = {}
    fold: dict = {}
    fold_var: dict = {}
    rdot: dict = {}
    rdot_zero: dict = {}
    rdot_sparse: dict = {}
    dwc_collect: dict = {}
    dwc_unload: dict = {}
    # blocks measured at two PE counts (slope_pe): LUTs of one more PE
    lo_hi: dict = {}
    designs = [
        r
        for r in data["designs"].values()
        # a soft-logic ROM block that Yosys put in block RAM (act_out.v's ROM style is
        # "auto": the widest 256-word ones) measures no soft ROM; the PE checks are no entries
        if not (_soft_rom(r["spec"]) and r["yosys"].get("bram18", 0) > 0)
        and not r["spec"].get("check")
    ]
    for r in designs:
        if "pe" in r["spec"]:
            lo_hi.setdefault(_grid_key(r["spec"]), {})[r["spec"]["pe"]] = r["yosys"]["lut"]

    def line(s) -> tuple[float, float] | None:
        """(slope, intercept) of a block measured at two or more PE counts: the LUTs of one
        more PE, and its LUTs at 0 PEs (its fixed part); the least-squares line through all
        the counts measured (through the two points when there are two)."""
        m = lo_hi[_grid_key(s)]
        if len(m) < 2:
            return None
        pes, luts = zip(*sorted(m.items()))
        slope, icpt = np.polyfit(np.array(pes, float), np.array(luts, float), 1)
        return float(slope), float(icpt)

    def per_pe(s) -> float:
        fit = line(s)
        if fit is None:
            return round(lo_hi[_grid_key(s)][s["pe"]] / s["pe"], 3)
        return round(max(0.0, fit[0]), 3)

    def intercept(s) -> float | None:
        fit = line(s)
        return None if fit is None else fit[1]

    for r in designs:
        s, y = r["spec"], r["yosys"]
        if s.get("mid"):
            continue  # octave_tables
        if s["block"] == "dwc":
            if s["kind"] == "collect":
                dwc_collect[s["k"]] = y["lut"]
            else:
                dwc_unload.setdefault(s["k"], {})[s["w"]] = y["lut"]
            continue
        if s["block"] == "cdot":
            # LUTs per PE and the blocks' own share of distinct products and adder nodes, at
            # every PE count measured: a layer reads both at its own (cost.model.cdot_luts)
            k = cdot_key(s["in"], s["w"])
            cdot.setdefault(k, {}).setdefault(s["simd"], {})[s["pe"]] = round(y["lut"] / s["pe"], 3)
            cshare.setdefault(k, {}).setdefault(s["simd"], {})[s["pe"]] = round(cdot_share(s), 4)
            continue
        if "pe" in s and s["pe"] != min(lo_hi[_grid_key(s)]):
            continue  # the slope's second point
        if s["block"] == "rom":
            # LUTs per bit over the widths measured (two random contents)
            acc = rom_bits.setdefault(s["depth"], [0, 0])
            acc[0] += y["lut"]
            acc[1] += s["width"]
        elif s["block"] == "rdot":
            # LUTs per PE at every PE count measured, the fixed part included: with 2-8
            # words and a few lanes it is mostly the products the PEs share (a lane's few
            # possible weight sequences), which a layer of as many PEs shares as well; the
            # layer reads the row at its own PE count (cost.model.rdot_luts)
            # (a pruned block, ``zeros`` of its weights 0: RDOT_SPARSE at that share)
            key = cdot_key(s["in"], s["w"])
            if s.get("zeros"):
                t = rdot_sparse.setdefault(key, {}).setdefault(s["zeros"], {})
            else:
                rdot_zero[key] = round(rdot_values(s["w"]).count(0) / len(rdot_values(s["w"])), 6)
                t = rdot.setdefault(key, {})
            t = t.setdefault(s["depth"], {})
            t[s["simd"]] = {
                pe: round(lut / pe, 3) for pe, lut in sorted(lo_hi[_grid_key(s)].items())
            }
        elif s["block"] == "dot":
            dot.setdefault(pair_key(s["in"], s["w"]), {})[s["simd"]] = y["lut"]
        elif s["block"] == "fold" or s["mode"] == "soft":
            kind = "fold" if s["block"] == "fold" else "soft"
            table, var = (fold, fold_var) if kind == "fold" else (soft, soft_var)
            table.setdefault(s["bits"], {}).setdefault(s["n"], {})[s["depth"]] = per_pe(s)
            m, d0, bits = marginal_columns(s)
            v = var.setdefault(s["bits"], {}).setdefault(s["n"], {})
            v[s["depth"]] = round(m / bits, 4)
            rom_cols[kind][(s["bits"], s["n"], s["depth"])] = (per_pe(s), m, d0)
            fixed[kind][(s["bits"], s["n"], s["depth"])] = intercept(s)
        else:
            act[s["mode"]].setdefault(s["bits"], {})[s["n"]] = per_pe(s)
    rom = {d: round(lut / bits, 4) for d, (lut, bits) in rom_bits.items()}
    # the fixed part of a comparator bank fed by a soft threshold ROM beyond its control: the
    # intercept less the columns its PEs have in common (D0 of marginal_columns at the LUTs
    # per column of column_cost: a ROM of 8 words has at most 256 different columns, D0 is
    # 20-60 of them, and the layer counts them with its own distinct columns), less the
    # median of the same for the 2-word blocks (whose ROM is one LUT level merged into the
    # comparators: their rest is the fold counter and the valid and skid control, which the
    # layers count themselves). Noisy at 64-128 words (either sign: the contents at the two
    # PE counts differ)
    col = {kind: column_cost(pts, act["rom"]) for kind, pts in rom_cols.items()}
    fix: dict = {}
    for kind, pts in fixed.items():
        own = {
            k: v - col[kind][k[2]] * rom_cols[kind][k][2] for k, v in pts.items() if v is not None
        }
        ctl = [v for (_b, _n, d), v in own.items() if d == 2]
        out_k = fix.setdefault(kind, {})
        for (b, n, d), v in own.items():
            if ctl:
                out_k.setdefault(b, {}).setdefault(n, {})[d] = round(float(v - np.median(ctl)), 2)
    sort = lambda d: {k: sort(v) if isinstance(v, dict) else v for k, v in sorted(d.items())}  # noqa: E731
    return {
        "dot": sort(dot),
        "cdot": sort(cdot),
        "cdot_share": sort(cshare),
        "act": sort(act),
        "act_soft": sort(soft),
        "act_soft_var": sort(soft_var),
        "act_fold": sort(fold),
        "act_fold_var": sort(fold_var),
        "act_soft_fix": sort(fix.get("soft", {})),
        "act_fold_fix": sort(fix.get("fold", {})),
        "act_soft_col": sort(col["soft"]),
        "act_fold_col": sort(col["fold"]),
        **octave_tables(designs),
        "rom": sort(rom),
        "rdot": sort(rdot),
        "rdot_zero": sort(rdot_zero),
        "rdot_sparse": sort(rdot_sparse),
        "dwc_collect": sort(dwc_collect),
        "dwc_unload": sort(dwc_unload),
    }


#: the fewest distinct columns one more PE must add for a block to give its ROM's LUTs per
#: column (at 2 and 4 words a PE adds 0-1.5: the ROM's few possible columns are all there)
COLUMN_MIN = 2.0
#: ... and the fewest bits of its values: a 1-bit block (fourteenth session, for layers whose
#: accumulator has 2 bits: one threshold) holds its comparator and ROM column in one LUT, and
#: counted here those blocks moved the others' LUTs per column by up to 6% (and one check
#: block of the ``pe`` grid from 16% to 17% off)
COLUMN_MIN_BITS = 2


def column_cost(pts: dict, act_rom: dict) -> dict:
    """``{depth: LUTs per distinct ROM column}`` of the comparator blocks ``pts`` (``{(bits,
    n, depth): (LUTs per PE, m, D0)}``): per block, its LUTs per PE beyond the comparators
    (:func:`_rom_comparators`) over the columns one more PE adds, the median over the blocks
    of each depth where a PE adds at least :data:`COLUMN_MIN`. A column of up to 64 words is
    one LUT6 function of the address (1.0-1.5 LUTs measured), of 128 and 256 words two and
    four LUTs and their muxes. Depths without such blocks take the nearest deeper depth's."""
    per: dict = {}
    for (b, n, d), (slope, m, _d0) in pts.items():
        if m >= COLUMN_MIN and b >= COLUMN_MIN_BITS:
            per.setdefault(d, []).append(max(0.0, slope - _rom_comparators(act_rom, b, n)) / m)
    out = {d: round(float(np.median(v)), 3) for d, v in per.items()}
    for d in sorted({d for (_b, _n, d) in pts}, reverse=True):
        if d not in out:
            out[d] = out[min(k for k in out if k > d)]
    return out


def _rom_comparators(act_rom: dict, b: int, n: int) -> float:
    """LUTs per PE of ``n`` comparators of row ``b`` fed by a threshold memory (the ``act``
    ``rom`` table being made, as :func:`fpgagen.cost.model.act_luts` reads it)."""
    from fpgagen.cost.model import _interp

    if not act_rom:
        return 0.0
    return max(0.0, _interp({bb: _interp(r, n) for bb, r in act_rom.items()}, b))


def octave_tables(designs: list[dict]) -> dict:
    """``{"act_soft_oct": {depth: factor}, "act_fold_oct": ...}``: the LUTs of a ``mid``
    block over the line between the same block at the powers of two around its depth (same
    bits, N and PE count), the median over its (bits, N) points and PE counts; 1 at the
    powers of two. The tables are measured at powers of two, and a ROM's cost is not linear
    between them: one more address bit costs at once (12 words: 1.09-1.13 of the line)."""
    raw: dict = {}
    for r in designs:
        s = r["spec"]
        if (
            s["block"] in ("act", "fold")
            and "depth" in s
            and (s["block"] == "fold" or s["mode"] == "soft")
        ):
            kind = "fold" if s["block"] == "fold" else "soft"
            raw[(kind, bool(s.get("mid")), s["bits"], s["n"], s["depth"], s["pe"])] = r["yosys"][
                "lut"
            ]
    ratios: dict = {}
    for (kind, mid, b, n, dep, pe), lut in raw.items():
        if not mid:
            continue
        lo = 1 << (dep.bit_length() - 1)
        lo_l, hi_l = raw.get((kind, False, b, n, lo, pe)), raw.get((kind, False, b, n, 2 * lo, pe))
        if lo_l is None or hi_l is None:
            continue  # a neighbour in block RAM
        line = lo_l + (hi_l - lo_l) * (dep - lo) / lo
        ratios.setdefault(kind, {}).setdefault(dep, []).append(lut / line)
    out = {}
    for kind in ("soft", "fold"):
        t = {d: round(float(np.median(v)), 3) for d, v in ratios.get(kind, {}).items()}
        if t:
            for d in list(t):
                lo = 1 << (d.bit_length() - 1)
                t.setdefault(lo, 1.0)
                t.setdefault(2 * lo, 1.0)
        out[f"act_{kind}_oct"] = dict(sorted(t.items()))
    return out


def cmd_table(_a) -> int:
    t = tables()
    TABLE_PY.write_text(
        '"""Yosys LUTs of the sub-blocks of the MVAU / VVAU / Thresholding RTL.\n\n'
        "Generated by `python benchmarks/cost/blocks.py table` from\n"
        "benchmarks/results/cost_blocks.json (Yosys synth_xilinx -family xcup, out of context):\n"
        "DOT[pair][SIMD]: one PE's products and adder tree (benchmarks/cost/blocks/dot_pe.v);\n"
        "CDOT[pair][n][PE]: the same per PE with n constant nonzero weights, at PE = 1, 4, 16\n"
        "and (up to 32 weights) 48 PEs (blocks/cdot_pe.v);\n"
        "CDOT_SHARE[pair][n][PE]: the share of those blocks' products and adders that their\n"
        "PEs do not have in common (fpgagen.cost.model.tree_sharing of their weights);\n"
        "ACT[mode][bits][N]: LUTs per PE of N comparators of a bits-wide value against constant\n"
        "('const') or memory-fed ('rom') thresholds, their count, output register and skid;\n"
        "ACT_SOFT[bits][N][depth]: the same with a soft-logic threshold ROM of depth words\n"
        "(comparators and ROM together, LUTs per PE; rtl/thresholding.v), ACT_SOFT_VAR the\n"
        "distinct varying ROM columns one more PE adds, as a fraction of its ROM bits;\n"
        "ACT_FOLD[bits][N][depth], ACT_FOLD_VAR: the same for the MVAU / VVAU activation stage\n"
        "(rtl/act_out.v, ROM addressed by a copy of the fold counter; blocks/act_fold.v);\n"
        "ACT_SOFT_FIX, ACT_FOLD_FIX [bits][N][depth]: those blocks' LUTs at their first PE\n"
        "count less that many slopes, less the 2-word blocks' median (their control) and\n"
        "the columns the PEs have in common: the part of a threshold ROM the PEs share;\n"
        "ACT_SOFT_COL, ACT_FOLD_COL [depth]: LUTs per distinct ROM column of those blocks;\n"
        "ACT_SOFT_OCT, ACT_FOLD_OCT [depth]: those blocks between two powers of two of words\n"
        "over the line between their neighbours (1 at the powers of two);\n"
        "ROM[depth]: LUTs per bit of a soft-logic ROM of random contents addressed by a\n"
        "wrapping counter (blocks/rom_ctr.v);\n"
        "RDOT[pair][depth][SIMD][PE]: LUTs per PE of PE x SIMD products fed by a 2-8-word\n"
        "weight ROM, the ROM, products and adder trees together (blocks/rdot_pe.v), at each\n"
        "PE count measured (4; 4, 12, 32 up to SIMD 8 and for the binary pairs);\n"
        "RDOT_ZERO[pair]: the share of 0\n"
        "among those blocks' random weights (a lane is 0 in every word of a depth-word ROM\n"
        "with probability RDOT_ZERO^depth);\n"
        "RDOT_SPARSE[pair][zeros][depth][SIMD][PE]: the same for pruned TERNARY weights, each 0\n"
        "with probability zeros (blocks.sparse_lanes).\n"
        "DWC_COLLECT[K]: LUTs of rtl/axis_dwc.v collecting K words (1 -> K bits: no LUT per\n"
        "bit); DWC_UNLOAD[K][w]: LUTs of it unloading K words of w bits (K*w -> w bits).\n"
        'Do not edit.\n"""\n\n# fmt: off\n'
        f"DOT = {pprint.pformat(t['dot'], width=96)}\n\n"
        f"CDOT = {pprint.pformat(t['cdot'], width=96)}\n\n"
        f"CDOT_SHARE = {pprint.pformat(t['cdot_share'], width=96)}\n\n"
        f"ACT = {pprint.pformat(t['act'], width=96)}\n\n"
        f"ACT_SOFT = {pprint.pformat(t['act_soft'], width=96)}\n\n"
        f"ACT_SOFT_VAR = {pprint.pformat(t['act_soft_var'], width=96)}\n\n"
        f"ACT_FOLD = {pprint.pformat(t['act_fold'], width=96)}\n\n"
        f"ACT_FOLD_VAR = {pprint.pformat(t['act_fold_var'], width=96)}\n\n"
        f"ACT_SOFT_FIX = {pprint.pformat(t['act_soft_fix'], width=96)}\n\n"
        f"ACT_FOLD_FIX = {pprint.pformat(t['act_fold_fix'], width=96)}\n\n"
        f"ACT_SOFT_COL = {pprint.pformat(t['act_soft_col'], width=96)}\n\n"
        f"ACT_FOLD_COL = {pprint.pformat(t['act_fold_col'], width=96)}\n\n"
        f"ACT_SOFT_OCT = {pprint.pformat(t['act_soft_oct'], width=96)}\n\n"
        f"ACT_FOLD_OCT = {pprint.pformat(t['act_fold_oct'], width=96)}\n\n"
        f"ROM = {pprint.pformat(t['rom'], width=96)}\n\n"
        f"RDOT = {pprint.pformat(t['rdot'], width=96)}\n\n"
        f"RDOT_ZERO = {pprint.pformat(t['rdot_zero'], width=96)}\n\n"
        f"RDOT_SPARSE = {pprint.pformat(t['rdot_sparse'], width=96)}\n\n"
        f"DWC_COLLECT = {pprint.pformat(t['dwc_collect'], width=96)}\n\n"
        f"DWC_UNLOAD = {pprint.pformat(t['dwc_unload'], width=96)}\n"
    )
    print(f"wrote {TABLE_PY}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sweep")
    p.add_argument(
        "--only",
        choices=["dot", "cdot", "act", "soft", "fold", "rom", "rdot", "pe", "dwc"],
        default=None,
    )
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--shard", default=None, help="I/K: synthesize every K-th block from the I-th")
    sub.add_parser("table")
    sub.add_parser("list")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        for s in designs():
            print(s)
        return 0
    return cmd_sweep(a) if a.cmd == "sweep" else cmd_table(a)


if __name__ == "__main__":
    sys.exit(main())
