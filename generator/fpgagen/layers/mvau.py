"""Matrix-vector-activation unit (MVAU): folded matrix-vector product plus thresholds."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import DataType, uint_type
from ..errors import FoldingError
from .accum import AccumulatorMixin
from .base import HWLayer, check_divides, divisors
from .hw import BitVector, Memory, dsp_per_product, product_operands
from .memory import memory_style

__all__ = ["MVAU"]


#: the widest weight line an MVAU takes as a constant parameter (:attr:`MVAU.const_weights`):
#: Verilator rejects literals of 65,536 bits and more (the fully unrolled first layer of the
#: suite's TFC-W2A2 test build has a 150,528-bit line)
CONST_W_MAX_BITS = 32768
#: the largest fraction of zero weights with which an MVAU takes its weights as constants
#: (:attr:`MVAU.const_weights`: sparser layers synthesize smaller from the one-line ROM)
CONST_W_MAX_ZEROS = 0.75


class MVAU(AccumulatorMixin, HWLayer):
    """``out = act(W @ x)`` for each of ``num_vectors`` input vectors.

    * ``weights``: integer matrix ``(MH, MW)`` of ``w_dtype`` values;
    * ``thresholds``: ``(MH, N)`` ascending integers, or None for the raw accumulator;
    * XNOR-popcount mode when input and weights are both BIPOLAR: the accumulator is the
      number of agreeing pairs in ``[0, MW]``.
    * ``group_mult``: optional integer matrix ``(MH, G)`` of positive multipliers (grouped
      MVAU, for SYQ per-kernel-pixel weight scales): column ``k`` belongs to group
      ``k // (MW/G)`` and the accumulator is ``sum_g group_mult[o, g] * sum_{k in g}
      w[o, k] * x[k]`` with every input as its signed value (BIPOLAR as -1/+1, so an XNOR
      layer's accumulator is the signed, scaled sum, not a popcount). SIMD must divide the
      group size, so that every fold step lies inside one group: the hardware multiplies each
      step's SIMD-lane dot product by one multiplier per PE.
    * ``MMV`` (folding): whole input vectors per input word and whole output vectors per
      output word, for a fully unrolled layer (``SIMD = MW``, ``PE = MH``): ``MMV`` copies of
      the datapath (the constant weights of an unrolled layer are logic, shared by nothing
      else) process ``MMV`` consecutive pixels per cycle; ``MMV`` divides ``num_vectors``.
    """

    #: largest MMV the optimiser considers
    MAX_MMV = 16

    op_type = "MVAU"
    rtl_module = "mvau"
    cpu_op = "matmul"

    def cpu_spec(self, consts: dict, prefix: str) -> dict:
        """``matmul`` with the accumulator weights (group multipliers included), the XNOR
        popcount flag, the float exactness (``f32`` when every partial sum stays below 2^24
        in magnitude, ``f64`` below 2^52, else ``int``) and the activation's thresholds."""
        w = np.asarray(self.acc_weights(), dtype=np.int64)
        lo, hi = self.in_range
        bound = int(np.abs(w).sum(axis=1).max()) * max(abs(int(lo)), abs(int(hi)), 1)
        exact = "f32" if bound < 2**24 else "f64" if bound < 2**52 else "int"
        wn = f"{prefix}{self.name}.weights"
        consts[wn] = w
        s = {
            "op": self.cpu_op,
            "name": self.name,
            "weights": wn,
            "xnor_popcount": bool(self.xnor_popcount),
            "exact": exact,
        }
        if self.thresholds is None:
            s.update(thresholds=None, out_bias=0, bipolar_out=False)
            return s
        tn = f"{prefix}{self.name}.thresholds"
        consts[tn] = np.asarray(self.thresholds, dtype=np.int64)
        s.update(thresholds=tn, out_bias=int(self.out_bias), bipolar_out=self.out_dtype.is_bipolar)
        return s

    def darknet_section(self, feeders: list, hwc: tuple) -> tuple[str, list, tuple]:
        conv = self.darknet_conv(hwc)
        if conv is not None:
            return conv
        act = "relu" if self.thresholds is not None else "linear"
        keys = [("output", self.out_channels), ("activation", act)]
        keys += [("fpgagen_weights", str(self.w_dtype))]
        return "connected", keys, (1, 1, self.out_channels)

    def __init__(
        self,
        name,
        weights,
        in_dtype: DataType,
        w_dtype: DataType,
        *,
        in_range=None,
        thresholds=None,
        out_bias: int = 0,
        out_dtype: DataType | None = None,
        num_vectors: int = 1,
        pe: int = 1,
        simd: int = 1,
        ram_style: str = "auto",
        group_mult=None,
    ):
        super().__init__(name)
        self.weights = np.asarray(weights, dtype=np.int64)
        self.in_dtype = in_dtype
        self.w_dtype = w_dtype
        self.in_range = tuple(in_range) if in_range is not None else (in_dtype.min, in_dtype.max)
        self.num_vectors = int(num_vectors)
        self.ram_style = ram_style
        if not w_dtype.allowed(self.weights):
            raise ValueError(f"{name}: weights do not fit {w_dtype}")
        self.group_mult = None
        if group_mult is not None:
            m = np.asarray(group_mult, dtype=np.int64)
            mh, mw = self.weights.shape
            if m.ndim != 2 or m.shape[0] != mh or m.shape[1] < 1 or mw % m.shape[1]:
                raise ValueError(
                    f"{name}: group_mult must be (MH={mh}, G) with G dividing "
                    f"MW={mw}, got {m.shape}"
                )
            if m.min() < 1 or m.max() >= 2**32:
                raise ValueError(f"{name}: group multipliers must be in 1..2^32-1")
            self.group_mult = m
        self.pe, self.simd, self.mmv = 1, 1, 1
        self.set_thresholds(thresholds, out_bias, out_dtype)
        self.set_folding(PE=pe, SIMD=simd)

    # -- shape ------------------------------------------------------------------------------
    mw = property(lambda self: self.weights.shape[1])
    mh = property(lambda self: self.weights.shape[0])
    in_channels = property(lambda self: self.mw)
    out_channels = property(lambda self: self.mh)
    in_elems = property(lambda self: self.simd * self.mmv)
    out_elems = property(lambda self: self.pe * self.mmv)
    lanes = property(lambda self: self.mmv)
    stitched_pes = property(lambda self: self.pe * self.mmv)

    # -- groups (SYQ per-kernel-pixel scales) ---------------------------------------------
    @property
    def grouped(self) -> bool:
        return self.group_mult is not None

    @property
    def groups(self) -> int:
        """Column groups sharing one multiplier per row (1 without multipliers)."""
        return 1 if self.group_mult is None else int(self.group_mult.shape[1])

    @property
    def group_size(self) -> int:
        return self.mw // self.groups

    @property
    def mult_bits(self) -> int:
        """Bits of an (unsigned) group multiplier; 0 without multipliers."""
        return 0 if self.group_mult is None else max(1, int(self.group_mult.max()).bit_length())

    def acc_weights(self) -> np.ndarray:
        if self.group_mult is None:
            return self.weights
        key = (id(self.weights), id(self.group_mult))
        cache = getattr(self, "_eff_cache", None)
        if cache is None or cache[0] != key:
            eff = self.weights * np.repeat(self.group_mult, self.group_size, axis=1)
            self._eff_cache = cache = (key, eff)
        return cache[1]

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        w = self.acc_weights()
        lo, hi = self.acc_range()
        if max(abs(int(lo.min())), abs(int(hi.max()))) < 2**52:
            # exact in float64 (every partial sum is an integer below 2^53), and BLAS-fast
            dot = np.rint(x.astype(np.float64) @ w.T.astype(np.float64))
            dot = dot.astype(np.int64)
        else:  # pragma: no cover - accumulators wider than 52 bits
            dot = x @ w.T
        if self.xnor_popcount:
            return (self.mw + dot) // 2
        return dot

    # -- folding ----------------------------------------------------------------------------
    def folding(self):
        f = {"PE": self.pe, "SIMD": self.simd}
        if len(self.mmv_options()) > 1:  # several vectors per frame: MMV is a parameter
            f["MMV"] = self.mmv
        return f

    def mmv_options(self) -> list:
        return [d for d in divisors(self.num_vectors) if d <= self.MAX_MMV]

    def folding_options(self):
        f = {"PE": divisors(self.mh), "SIMD": divisors(self.group_size)}
        if len(self.mmv_options()) > 1:
            f["MMV"] = self.mmv_options()
        return f

    def folding_valid(self, PE=None, SIMD=None, MMV=None) -> bool:
        """``MMV > 1`` only for a fully unrolled layer (``PE = MH``, ``SIMD = MW``) whose
        weights are on chip, and dividing the vectors per frame."""
        pe = self.pe if PE is None else PE
        simd = self.simd if SIMD is None else SIMD
        mmv = self.mmv if MMV is None else MMV
        if mmv == 1:
            return True
        return (
            pe == self.mh
            and simd == self.mw
            and mmv in self.mmv_options()
            and getattr(self, "ram_style", "auto") not in ("external", "ultra")
        )

    def set_folding(self, PE=None, SIMD=None, MMV=None, **kw):
        super().set_folding(**kw)
        if MMV is None and self.mmv > 1 and not self.folding_valid(PE, SIMD, self.mmv):
            self.mmv = 1  # a new PE or SIMD alone drops an MMV it no longer allows
        if MMV is not None or self.mmv > 1:
            mmv = self.mmv if MMV is None else MMV
            if (
                isinstance(mmv, bool)
                or not isinstance(mmv, (int, np.integer))
                or mmv < 1
                or (mmv > 1 and mmv not in self.mmv_options())
            ):
                raise FoldingError(
                    f"layer {self.name} (MVAU): MMV={mmv!r} does not divide the "
                    f"{self.num_vectors} vectors per frame; allowed: {self.mmv_options()}"
                )
            if not self.folding_valid(PE, SIMD, mmv):
                raise FoldingError(
                    f"layer {self.name} (MVAU): MMV={mmv} needs the layer fully unrolled "
                    f"(PE={self.mh}, SIMD={self.mw}) with on-chip weights; got "
                    f"PE={self.pe if PE is None else PE}, SIMD={self.simd if SIMD is None else SIMD}"
                )
            self.mmv = int(mmv)
        if PE is not None:
            check_divides(self, "PE", PE, self.mh, "MH (output features)")
            self.pe = int(PE)
        if SIMD is not None:
            if self.grouped:
                check_divides(
                    self,
                    "SIMD",
                    SIMD,
                    self.group_size,
                    f"the group size (MW/{self.groups} columns per multiplier)",
                )
            else:
                check_divides(self, "SIMD", SIMD, self.mw, "MW (input features)")
            self.simd = int(SIMD)

    @property
    def nf(self) -> int:
        return self.mh // self.pe

    @property
    def sf(self) -> int:
        return self.mw // self.simd

    # -- costs --------------------------------------------------------------------------------
    def expected_cycles(self) -> int:
        return self.num_vectors // self.mmv * self.nf * self.sf

    @property
    def weight_ram_style(self) -> str:
        return memory_style(self.nf * self.sf, self.weight_word_bits, self.ram_style)

    # -- backends -----------------------------------------------------------------------------
    @property
    def weight_word_bits(self) -> int:
        return self.pe * self.simd * self.w_dtype.bits

    def weight_words(self) -> np.ndarray:
        """Weight memory words (see docs/conventions.md), as a uint8 matrix."""
        w = self.weights.reshape(self.nf, self.pe, self.sf, self.simd)
        w = w.transpose(0, 2, 1, 3)  # nf, sf, pe, simd
        return packing.pack(w, self.w_dtype, self.pe * self.simd)

    def mult_words(self) -> np.ndarray:
        """Group multiplier memory words: line ``nf*G + g`` holds, for PE ``p`` at bits
        ``[p*MULT_BITS +: MULT_BITS]`` (unsigned), the multiplier of output ``nf*PE + p`` and
        group ``g`` (docs/conventions.md)."""
        m = self.group_mult.reshape(self.nf, self.pe, self.groups).transpose(0, 2, 1)
        return packing.pack(m, uint_type(self.mult_bits), self.pe)

    def hw_params(self) -> dict:
        p = {
            "MW": self.mw,
            "MH": self.mh,
            "SIMD": self.simd,
            "PE": self.pe,
            "NV": self.num_vectors // self.mmv,  # per lane
            **self.accumulator_hw(),
        }
        if self.const_weights:
            (line,) = packing.to_hex(self.weight_words(), self.weight_word_bits)
            p["CONST_W"] = 1
            p["WEIGHT_CONST"] = BitVector(self.weight_word_bits, line)
        if self.grouped:
            mbits = self.pe * self.mult_bits
            p.update(
                {
                    "GROUPS": self.groups,
                    "MULT_BITS": self.mult_bits,
                    "mults": Memory(
                        "mults",
                        self.mult_words(),
                        mbits,
                        self.pe,
                        memory_style(self.nf * self.groups, mbits),
                    ),
                }
            )
        return p

    @property
    def unrolled(self) -> bool:
        """Fully unrolled with on-chip weights (``NF*SF = 1``): constants that synthesis
        folds into products, adders and comparators, from a parameter or a one-line ROM."""
        return self.nf * self.sf == 1 and self.weight_ram_style != "external"

    @property
    def cost_coef(self) -> str:
        """The cost model's coefficient set: a fully unrolled MVAU has one of its own, fitted
        on fully unrolled layers (docs/cost_model.md)."""
        return "MVAU_unrolled" if self.unrolled else "MVAU"

    @property
    def cost_band(self) -> str:
        """The uncertainty band's row: a fully unrolled MVAU's errors are its own (about
        twice a folded MVAU's)."""
        return "MVAU/unrolled" if self.unrolled else "MVAU"

    @property
    def const_weights(self) -> bool:
        """Whether the RTL takes the weights as a constant parameter (rtl/weight_mem.v
        ``CONST``): one weight line (NF*SF = 1) in a ROM style, not streamed or loaded, and
        products in LUTs. Products wide enough for a DSP48E2 keep the one-line ROM unless
        every weight is 0 or +-2^k: by other constants, Yosys maps some of them to DSPs and
        some to LUTs (61 of the 91 UINT8 x INT8 products by constants that are not powers of
        two, in one layer), a count the cost model cannot tell yet, where from the ROM every
        product is one DSP; a product the accumulator narrows below DSP width is not DSP-wide
        (:func:`~fpgagen.layers.hw.dsp_per_product`'s ``y_bits``). A line wider than
        :data:`CONST_W_MAX_BITS` keeps the ROM too (Verilator's limit on a literal), and so do
        weights more than :data:`CONST_W_MAX_ZEROS` zero (a pruned layer: as constants, three
        of four 90%-sparse TERNARY layers synthesized 1.5-1.9 times larger than from the ROM;
        every one of 40 layers with at most half zero weights was 0.38-1.09 times, median
        0.63)."""
        if self.nf * self.sf != 1 or self.weight_ram_style in ("external", "ultra"):
            return False
        w = np.asarray(self.weights)
        zeros = 0.0 if self.w_dtype.is_bipolar else float(np.mean(w == 0))
        xe, we, _, kind = product_operands(self.in_dtype, self.w_dtype)
        if kind == "mul" and dsp_per_product(xe, we, self.acc_bits) > 0:
            # DSP-wide products: only when every weight is 0 or +-2^k (shifts and negations,
            # which Yosys maps to no DSP: ten UINT6 x INT2 layers, 861 DSPs from the ROM, 0
            # as constants, and 16-65% fewer LUTs)
            a = np.abs(w.astype(np.int64))
            if np.any((a & (a - 1)) != 0):
                return False
        return self.weight_word_bits <= CONST_W_MAX_BITS and zeros <= CONST_W_MAX_ZEROS

    @property
    def rtl_names(self) -> tuple:
        names = ("MW", "MH", "SIMD", "PE", *self.RTL_ACC_NAMES)
        if self.const_weights:  # absent otherwise: the module's defaults read WEIGHT_FILE
            names += ("CONST_W", "WEIGHT_CONST")
        if self.grouped:  # absent otherwise: the module's defaults are the plain MVAU
            names += ("GROUPS", "MULT_BITS", "MULT_FILE=mults")
        return names

    @property
    def hls_names(self) -> tuple:
        names = ("MW", "MH", "SIMD", "PE", *self.HLS_ACC_NAMES)
        if self.grouped:
            names += ("GROUPS", "MULT_BITS", "M_CB=mults.cb", "M_NC=mults.nc")
        return names

    hls_lib = "mvau.h"

    @property
    def hls_func(self) -> str:
        return "mvau_grouped" if self.grouped else "mvau"

    def hls_extra(self) -> dict:
        x = super().hls_extra()
        if self.grouped:
            x["mode"] += (
                f", {self.groups} groups of {self.group_size} columns with "
                f"{self.mult_bits}-bit multipliers"
            )
        return x

    def need(self) -> np.ndarray:
        """Output word ``j`` (PE outputs of fold ``j % NF`` of vector ``j // NF``) needs the
        whole input vector ``j // NF`` (SF words)."""
        j = np.arange(self.out_words_per_frame, dtype=np.int64)
        return (j // self.nf + 1) * self.sf

    def mac_lanes(self) -> tuple[int, str]:
        mmv = f"x{self.mmv}px" if self.mmv > 1 else ""
        return self.pe * self.simd * self.mmv, f"{self.pe}x{self.simd}{mmv}"

    def limit_reason(self) -> str:
        return (
            f"{self.num_vectors} vectors per frame at NF*SF = {self.nf * self.sf} cycles each, "
            f"{self.mmv} per cycle (MMV)"
        )

    def cost_features(self, cm) -> dict:
        l = self
        pe, simd, nf, sf = l.pe, l.simd, l.nf, l.sf
        acc = l.acc_bits
        _xe, _we, pb, kind = cm.mvau_operands(l)
        ib = l.in_dtype.bits
        iw = simd * ib
        depth = nf * sf
        n_thr = 0 if l.thresholds is None else int(l.thresholds.shape[1])
        ob = l.out_dtype.bits
        sum_bits = pb + cm.clog2(simd)
        style = l.weight_ram_style
        # NF*SF = 1 with on-chip weights: constants (streamed weights are not)
        const_w = depth == 1 and style != "external"
        # what synthesis keeps of the lanes, and of the weight ROM: Yosys drops its constant
        # bit columns before mapping it
        live, _n_var, _n_const, wvar, wvar_pe = cm.mvau_lanes(l)
        if depth <= 1:
            wvar = 0
        if style in ("ultra", "external"):  # a loaded RAM / streamed word keeps every bit
            wvar = l.weight_word_bits
        wmem = cm.map_memory(depth, wvar, True, style)
        ctrl = cm.counter_bits(sf) + cm.counter_bits(nf) + cm.counter_bits(depth)
        # input double buffer (NF > 1): 2*SF words, simple dual port RAM
        if nf > 1:
            bmem = cm.map_memory(2 * sf, iw, False, "auto")
            buf_luts = cm.mem_luts(bmem, 2 * sf, iw, False)
            buf_ctrl = 2 * cm.counter_bits(2 * sf) + cm.counter_bits(sf)
        else:
            bmem = dict(cm.NO_MEMORY)
            buf_luts = buf_ctrl = 0
        dsp = cm.mvau_dsp(l, products_only=True)
        f = {
            "const": 1.0,
            "ctrl": ctrl + buf_ctrl,
            "ibuf": buf_luts + (iw if nf > 1 else 0),
            # a ROM of <= 4 words is a function of <= 2 address bits that synthesis merges
            # into the logic it feeds (no read port of its own)
            "wrom_small": cm.mem_luts(wmem, depth, wvar, True) if depth <= 4 else 0.0,
            "wrom": cm.mem_luts(wmem, depth, wvar, True) if 4 < depth <= 64 else 0.0,
            # deeper soft-logic ROMs: LUT6 banks plus a mux tree
            "wrom_deep": cm.mem_luts(wmem, depth, wvar, True) if depth > 64 else 0.0,
            # one PE's products and adder tree, summed over the PEs (cm.dot_luts: Yosys on the
            # block in isolation)
            "dot": 0.0,
            "cdot": 0.0,
            "tree_const": 0.0,
            "rdot": 0.0,
            "xdot": 0.0,
            # SF = 1 (a fold is one step, NF*SF = 1 included): every step is its fold's first,
            # the accumulator only loads the dot product and synthesis removes its adder
            "acc": pe * acc if sf > 1 else 0.0,
            # comparator bank, count, output register and skid buffer per PE, with the
            # threshold memory when it is soft logic (cm.act_features: Yosys on the
            # comparators of rtl/thresholding.v and on rtl/act_out.v with its ROM, in isolation)
            "act": 0.0,
            "act_rom": 0.0,
            # no thresholds: output register + skid buffer, a 2:1 mux per output bit
            "out": pe * ob if not n_thr else 0.0,
            # DSP48E2 products: operand/sign-extension glue per DSP beyond the dot block's
            "dsp": float(dsp),
        }
        # sums are truncated to ACC_BITS (not in a grouped MVAU, whose dot product is
        # multiplied first): synthesis removes adder bits above it, and the products and
        # adders of lanes whose weight is always zero (cm.mvau_lanes)
        cap = None if getattr(l, "grouped", False) else acc
        # a small soft-logic weight ROM (2..RDOT_DEPTH words: a function of <= 3 address bits)
        # feeding narrow LUT products: synthesis merges ROM, products and the first adder
        # level (at 2-4 words and two products' inputs in one LUT6 the ROM all but vanishes);
        # the block rdot measures them together, so the ROM has no term of its own
        rom_fed = (
            not const_w
            and kind in ("mul", "xnor", "neg")
            and not dsp
            and 1 < depth <= cm.RDOT_DEPTH
            and wmem["kind"] == "logic"
            and cm.rdot_covers(l.in_dtype, l.w_dtype)
        )
        # one weight line that the RTL keeps in a one-word ROM and not as constants (a pruned
        # layer, more than CONST_W_MAX_ZEROS zero: MVAU.const_weights): Yosys folds that ROM
        # only in part (its zero lanes go, its nonzero lanes stay ROM-fed products), which the
        # rdot block measures; read at its shallowest measured ROM (2 words). Inputs of 3 bits
        # or more: with 2-bit inputs Yosys folds more (the block's ROM address bit is a large
        # share of each LUT's inputs there; 2-bit layers priced so: 5 of 11 of the stored
        # within 15%, up to +85%), and they keep the constant-weight price (7 of 11)
        rom_line = (
            const_w
            and not l.const_weights
            and kind == "mul"
            and not dsp
            and style not in ("ultra", "external")
            and l.in_dtype.bits > 2
            and cm.rdot_covers(l.in_dtype, l.w_dtype)
        )
        if rom_fed or rom_line:
            # each PE's live lanes as Yosys maps the block (cm.rdot_luts: ROM, products and
            # adder tree measured together); a pruned TERNARY layer's live lanes at their
            # share of zero words (cm.pruned_zeros)
            d = max(depth, 2)
            zeros = None
            if rom_fed and l.w_dtype.name == "TERNARY" and live.sum():
                nonzero = np.count_nonzero(cm.weight_codes(l)) / (live.sum() * depth)
                zeros = cm.pruned_zeros(nonzero, depth)
            f["rdot"] = float(
                sum(cm.rdot_luts(l.in_dtype, l.w_dtype, d, int(n), cap, pe, zeros) for n in live)
            )
            f["wrom_small"] = f["wrom"] = 0.0
        elif const_w and not dsp:
            # NF*SF = 1: every PE reads the same inputs, and the products and adders of PEs
            # with the same weights on the same lanes are the same logic, which synthesis
            # keeps once (cm.tree_sharing: the share of distinct ones)
            tb, prod_bits = cm.const_tree_operands(l.in_dtype, l.w_dtype)
            ranges = {}
            if l.w_dtype.name == "TERNARY":
                # +-x leaves: each adder as wide as the range of its sum over the input's
                # hardware range (a TERNARY input is INT2 on the wire: -2..1)
                ranges = {
                    "signs": np.sign(np.asarray(l.weights)),
                    "x_range": cm.hw_range(l.in_dtype),
                }
            shared, per_pe = cm.tree_sharing(
                cm.weight_codes(l), tb, prod_bits, cap, zero=not l.w_dtype.is_bipolar, **ranges
            )
            share = shared / per_pe if per_pe else 1.0
            if kind == "mul" and l.w_dtype.name != "TERNARY":
                # multi-bit products by constants: each PE's products by its nonzero weights
                # and their adder tree, as Yosys maps them in isolation (cm.cdot_luts); zero
                # weights (pruned) are dropped with their adders
                f["cdot"] = float(
                    sum(cm.cdot_luts(l.in_dtype, l.w_dtype, int(n), cap, share, pe) for n in live)
                )
            elif kind != "mul":
                # XNOR or one-BIPOLAR products by constants (a fully unrolled binary layer's
                # popcount, or sums of +-constants): each PE's lanes as Yosys maps that block
                # in isolation (cm.cdot_luts: the pair's measured row, or its kind's)
                f["xdot"] = float(
                    sum(cm.cdot_luts(l.in_dtype, l.w_dtype, int(n), cap, share, pe) for n in live)
                )
            else:
                # TERNARY weights: x * (+1) is a wire, x * (-1) a negation that synthesis
                # folds into the adder as a subtraction, and a zero weight (pruned) drops its
                # adder: the adder bits of the PEs' distinct tree nodes are the cost, each adder
                # as wide as its sum's range (a feature counting the negative weights was
                # fitted to 0 LUTs and dropped)
                f["tree_const"] = float(shared)
        else:
            # the products and adder tree of each PE over its live lanes (a lane whose weight
            # is zero in every word is removed), as Yosys maps the block on its own
            # A weight bit that is constant over the words of a ROM (a sparse TERNARY lane
            # that is never -1, a BIPOLAR lane that never changes) is dropped with the logic
            # it drives: the block's cost follows its live lanes' varying weight bits
            # (cm.dot_varying_scale). A loaded URAM or a streamed weight keeps every bit.
            wb = l.w_dtype.bits
            rom_w = depth > 1 and style not in ("ultra", "external")
            f["dot"] = float(
                sum(
                    cm.dot_luts(l.in_dtype, l.w_dtype, int(n), cap)
                    * (cm.dot_varying_scale(int(v), int(n) * wb) if rom_w else 1.0)
                    for n, v in zip(live, wvar_pe)
                )
            )
        tmem = dict(cm.NO_MEMORY)
        tvar = tdist = 0
        if n_thr:
            if nf > 1:
                # the memory is mapped with its varying bits; in soft logic its equal bit
                # columns are one signal (cm.threshold_columns)
                tvar, tdist = cm.threshold_columns(l.thresholds, pe, acc)
                tmem = cm.map_memory(nf, tvar, True, "auto")
            # comparator bank and threshold memory (NF = 1: constant thresholds, no memory)
            # equal threshold columns share a comparator (cm.distinct_thresholds)
            n_eff = cm.distinct_thresholds(l.thresholds, pe)
            a = cm.act_features(n_eff, acc, nf, tdist / pe, tmem["kind"], "act_out", pe)
            f["act"] = pe * a["act"]
            f["act_rom"] = pe * a["act_rom"]
        ff = {
            "const": 1.0,
            "ctrl": ctrl + buf_ctrl,
            "in": iw * (2 if nf > 1 and bmem["kind"] == "lutram" else 1),
            "wreg": cm.mem_ffs(wmem, depth, wvar, True) if not const_w else 0.0,
            "dot": pe * min(acc, sum_bits + 1) if not const_w else 0.0,
            "acc": pe * acc,
            "thr": (cm.mem_ffs(tmem, nf, tvar, True) if n_thr and nf > 1 else 0.0),
            "out": pe * ob,
        }
        mem = {
            "bram18": wmem["bram18"] + bmem["bram18"] + tmem["bram18"],
            "uram": wmem["uram"] + bmem.get("uram", 0),
            "dsp": dsp,
        }
        out = {"lut": f, "ff": ff, "mem": mem}
        if getattr(l, "grouped", False):
            g = cm.mvau_group_features(l, sum_bits, acc)
            mem["bram18"] += g.pop("bram18")
            mem["dsp"] += g.pop("dsp")
            out["group"] = g
        if l.mmv > 1:  # MMV lanes: the whole datapath once per pixel
            out = {k: {n: v * l.mmv for n, v in d.items()} for k, d in out.items()}
        cm.add_weight_streamer(out["mem"], style, l)
        return out

    @property
    def note(self) -> str:
        """Short description of what the op name does not say (reports)."""
        if not self.grouped:
            return ""
        return f"{self.groups} groups of {self.group_size}, {self.mult_bits}-bit multipliers"

    def to_dict(self):
        d = super().to_dict()
        d.update({"MW": self.mw, "MH": self.mh, **self.accumulator_dict()})
        if self.grouped:
            d.update(
                {"groups": self.groups, "group_size": self.group_size, "mult_bits": self.mult_bits}
            )
        return d
