"""HLS C++ backend (Vitis HLS): the dataflow as a ``#pragma HLS DATAFLOW`` top function.

``write_hls(dataflow, outdir, part, clock_mhz)`` fills ``outdir/hls`` with

* ``fpgagen/*.h`` — the HLS header library (``streams.h``, ``thresholding.h``, ``mvau.h``,
  ``vvau.h``, ``dwc.h``, ``window.h``, ``pool.h``, ``branch.h``), copied from the package's
  ``hls_templates/fpgagen``;
* ``layers/<L>.h`` — one per layer except FIFOs: its configuration struct, its weights and
  thresholds (MVAU, VVAU, Thresholding) as ``static const`` tables (the RTL ``.mem`` words, line for
  line) and a wrapper function that is one DATAFLOW process;
* ``layers.h`` — includes them all;
* ``<top>.h`` / ``<top>.cpp`` — the top function ``<top>(s_axis, m_axis, n_frames)``;
* ``tb.cpp`` with ``tb_input.hex`` / ``tb_expected.hex`` (a few frames from the golden model);
* ``run_hls.tcl`` and ``Makefile`` — Vitis HLS in batch mode (csim, csynth, cosim, ip).

The dataflow is a DAG (``layer.ins`` / ``layer.outs`` name its streams): every stream is one
``hls::stream`` of the top function, DuplicateStreams and AddStreams are processes with two
outputs or two inputs. FIFO layers are not processes: their depth becomes the ``STREAM depth``
of the stream they sit on. See docs/hls.md.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np

from .. import packing
from ..datatypes import DataType, int_type
from ..errors import FpgagenError
from ..layers.base import check_identifier, sanitize
from ..layers.memory import memory_style
from ..resources import data_dir
from .rtl import top_name
from .templates import HEADER, render

__all__ = ["HLS_DIR", "LIBRARY", "MAX_WORD_BITS", "sample_codes", "write_hls"]

#: folder of the HLS design inside a build folder
HLS_DIR = "hls"
#: the header library, in include order
LIBRARY = (
    "streams.h",
    "thresholding.h",
    "mvau.h",
    "vvau.h",
    "dwc.h",
    "window.h",
    "pool.h",
    "branch.h",
)
#: widest ap_uint Vitis HLS accepts (AP_INT_MAX_W limit)
MAX_WORD_BITS = 32768
#: frames in tb_input.hex / tb_expected.hex (the self-check of Vitis csim and cosim)
TB_FRAMES = 4

_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_DEFAULT_DEPTH = 2
#: slack of each output of the RTL fork (duplicate_stream's skid registers), which the HLS fork
#: lacks: added to the depth of the streams a DuplicateStreams writes
_FORK_SLACK = 2
INPUT = "s_in"


# -- small helpers ----------------------------------------------------------------------------
def _kind(dt: DataType) -> str:
    if dt.is_bipolar:
        return "fpgagen::KIND_BIPOLAR"
    return "fpgagen::KIND_SIGNED" if dt.signed else "fpgagen::KIND_UNSIGNED"


def _chunking(word_bits: int) -> tuple[int, int, str]:
    """(chunk bits, chunks per word, C type) for parameter words of ``word_bits`` bits."""
    for cb, ctype in ((8, "uint8_t"), (16, "uint16_t"), (32, "uint32_t")):
        if word_bits <= cb:
            return cb, 1, ctype
    return 32, -(-word_bits // 32), "uint32_t"


def _table(words: np.ndarray, word_bits: int, pe: int) -> dict:
    """A parameter table: packed words (uint8 matrix) -> C initialiser rows.

    Each word of ``word_bits`` bits is split into ``pe`` slices (PE ``p`` = bits
    ``[p*bits/pe +: bits/pe]``), each slice into chunks of a plain unsigned C type, least
    significant chunk first: ``table[row][p][chunk]``.
    """
    slice_bits = word_bits // pe
    cb, nc, ctype = _chunking(slice_bits)
    smask, cmask, digits = (1 << slice_bits) - 1, (1 << cb) - 1, cb // 4
    rows = []
    for v in packing.words_to_ints(words):
        slices = []
        for p in range(pe):
            sv = (v >> (slice_bits * p)) & smask
            slices.append(
                "{"
                + ", ".join(f"0x{(sv >> (cb * j)) & cmask:0{digits}x}u" for j in range(nc))
                + "}"
            )
        rows.append("{" + ", ".join(slices) + "}")
    return {
        "cb": cb,
        "nc": nc,
        "ctype": ctype,
        "depth": len(rows),
        "bits": slice_bits,
        "pe": pe,
        "rows": ",\n".join("        " + r for r in rows),
    }


def _impl(style: str) -> str:
    return {"block": "bram", "distributed": "lutram", "ultra": "uram"}.get(style, "auto")


def _comment(l) -> str:
    return (
        f"{_in_vectors(l)}x{l.in_channels} {l.in_dtype} -> {l.num_vectors}x{l.out_channels} "
        f"{l.out_dtype}, {l.folding() or 'no folding'}, {l.expected_cycles()} cycles/frame"
    )


def _fail(msg: str):
    raise FpgagenError(msg)


# -- per-layer contexts (keyed by op_type) ------------------------------------------------
def _mvau_ctx(l) -> dict:
    n_thr = 0 if l.thresholds is None else int(l.thresholds.shape[1])
    out_bias = 0 if l.out_dtype.is_bipolar else int(l.out_bias)
    if l.out_dtype.is_bipolar and n_thr != 1:
        _fail(
            f"layer {l.name} (MVAU): a BIPOLAR output needs exactly 1 threshold per channel, "
            f"got {n_thr}"
        )
    weights = _table(l.weight_words(), l.pe * l.simd * l.w_dtype.bits, l.pe)
    if n_thr:
        tbits = l.pe * n_thr * l.acc_bits
        thres = _table(l.threshold_words(), tbits, l.pe)
        thres["impl"] = _impl(memory_style(l.nf, tbits))
    else:
        thres = {
            "cb": 8,
            "nc": 1,
            "ctype": "uint8_t",
            "depth": 1,
            "bits": 1,
            "pe": l.pe,
            "rows": "        {" + ", ".join(["{0x00u}"] * l.pe) + "}",
            "impl": "lutram",
        }
    weights["impl"] = _impl(l.weight_ram_style)
    cfg = [
        ("unsigned", "MW", l.mw),
        ("unsigned", "MH", l.mh),
        ("unsigned", "SIMD", l.simd),
        ("unsigned", "PE", l.pe),
        ("unsigned", "NV", l.num_vectors),
        ("int", "IN_KIND", _kind(l.in_dtype)),
        ("unsigned", "IN_BITS", l.in_dtype.bits),
        ("int", "W_KIND", _kind(l.w_dtype)),
        ("unsigned", "W_BITS", l.w_dtype.bits),
        ("unsigned", "ACC_BITS", l.acc_bits),
        ("unsigned", "N_THRES", n_thr),
        ("int", "OUT_BIAS", out_bias),
        ("unsigned", "OUT_BITS", l.out_dtype.bits),
        ("unsigned", "W_CB", weights["cb"]),
        ("unsigned", "W_NC", weights["nc"]),
        ("unsigned", "T_ROWS", thres["depth"]),
        ("unsigned", "T_CB", thres["cb"]),
        ("unsigned", "T_NC", thres["nc"]),
    ]
    mode = "XNOR-popcount" if l.xnor else "integer"
    ctx = {
        "cfg": cfg,
        "weights": weights,
        "thresholds": thres,
        "n_thres": n_thr,
        "lib": "mvau.h",
        "func": "mvau",
        "mode": mode,
        "mults": None,
        "max_bits": max(weights["bits"], thres["bits"], l.in_width, l.out_width),
    }
    if getattr(l, "grouped", False):
        mults = _table(l.mult_words(), l.pe * l.mult_bits, l.pe)
        mults["impl"] = _impl(memory_style(l.nf * l.groups, l.pe * l.mult_bits))
        cfg += [
            ("unsigned", "GROUPS", l.groups),
            ("unsigned", "MULT_BITS", l.mult_bits),
            ("unsigned", "M_CB", mults["cb"]),
            ("unsigned", "M_NC", mults["nc"]),
        ]
        ctx.update(
            {
                "mults": mults,
                "func": "mvau_grouped",
                "mode": f"{mode}, {l.groups} groups of {l.group_size} columns with "
                f"{l.mult_bits}-bit multipliers",
            }
        )
    return ctx


def _vvau_ctx(l) -> dict:
    n_thr = 0 if l.thresholds is None else int(l.thresholds.shape[1])
    out_bias = 0 if l.out_dtype.is_bipolar else int(l.out_bias)
    if l.out_dtype.is_bipolar and n_thr != 1:
        _fail(
            f"layer {l.name} (VVAU): a BIPOLAR output needs exactly 1 threshold per channel, "
            f"got {n_thr}"
        )
    if not n_thr and l.out_dtype.bits != l.acc_bits:
        _fail(
            f"layer {l.name} (VVAU): without thresholds the output is the {l.acc_bits}-bit "
            f"accumulator, not {l.out_dtype}"
        )
    weights = _table(l.weight_words(), l.pe * l.w_dtype.bits, l.pe)
    weights["impl"] = _impl(l.weight_ram_style)
    if n_thr:
        tbits = l.pe * n_thr * l.acc_bits
        thres = _table(l.threshold_words(), tbits, l.pe)
        thres["impl"] = _impl(memory_style(l.cf, tbits))
    else:
        thres = {
            "cb": 8,
            "nc": 1,
            "ctype": "uint8_t",
            "depth": 1,
            "bits": 1,
            "pe": l.pe,
            "rows": "        {" + ", ".join(["{0x00u}"] * l.pe) + "}",
            "impl": "lutram",
        }
    cfg = [
        ("unsigned", "CH", l.ch),
        ("unsigned", "PE", l.pe),
        ("unsigned", "K", l.k),
        ("unsigned", "NV", l.num_vectors),
        ("int", "IN_KIND", _kind(l.in_dtype)),
        ("unsigned", "IN_BITS", l.in_dtype.bits),
        ("int", "W_KIND", _kind(l.w_dtype)),
        ("unsigned", "W_BITS", l.w_dtype.bits),
        ("unsigned", "ACC_BITS", l.acc_bits),
        ("unsigned", "N_THRES", n_thr),
        ("int", "OUT_BIAS", out_bias),
        ("unsigned", "OUT_BITS", l.out_dtype.bits),
        ("unsigned", "W_CB", weights["cb"]),
        ("unsigned", "W_NC", weights["nc"]),
        ("unsigned", "T_ROWS", thres["depth"]),
        ("unsigned", "T_CB", thres["cb"]),
        ("unsigned", "T_NC", thres["nc"]),
    ]
    return {
        "cfg": cfg,
        "weights": weights,
        "thresholds": thres,
        "n_thres": n_thr,
        "lib": "vvau.h",
        "func": "vvau",
        "mults": None,
        "mode": "XNOR-popcount" if l.xnor else "integer",
        "max_bits": max(weights["bits"], thres["bits"], l.in_width, l.out_width),
    }


def _thresholding_ctx(l) -> dict:
    n_thr = int(l.thresholds.shape[1])
    if n_thr < 1:
        _fail(f"layer {l.name} (Thresholding): needs at least one threshold per channel")
    if l.out_dtype.is_bipolar and n_thr != 1:
        _fail(
            f"layer {l.name} (Thresholding): a BIPOLAR output needs exactly 1 threshold per "
            f"channel, got {n_thr}"
        )
    nf = l.in_channels // l.pe
    words = packing.pack(l.thresholds.reshape(nf, l.pe, n_thr), int_type(l.t_bits), l.pe * n_thr)
    tbits = l.pe * n_thr * l.t_bits
    thres = _table(words, tbits, l.pe)
    thres["impl"] = _impl(memory_style(nf, tbits))
    cfg = [
        ("unsigned", "CH", l.in_channels),
        ("unsigned", "PE", l.pe),
        ("unsigned", "NV", l.num_vectors),
        ("int", "IN_KIND", _kind(l.in_dtype)),
        ("unsigned", "IN_BITS", l.in_dtype.bits),
        ("unsigned", "T_BITS", l.t_bits),
        ("unsigned", "N_THRES", n_thr),
        ("int", "OUT_BIAS", 0 if l.out_dtype.is_bipolar else int(l.out_bias)),
        ("unsigned", "OUT_BITS", l.out_dtype.bits),
        ("unsigned", "T_CB", thres["cb"]),
        ("unsigned", "T_NC", thres["nc"]),
    ]
    return {
        "cfg": cfg,
        "thresholds": thres,
        "max_bits": max(thres["bits"], l.in_width, l.out_width),
    }


def _dwc_ctx(l) -> dict:
    if l.in_dtype != l.out_dtype:
        _fail(f"layer {l.name} (DWC): input {l.in_dtype} and output {l.out_dtype} differ")
    elems = l.num_vectors * l.in_channels
    if elems % l.in_elems or elems % l.out_elems:
        _fail(
            f"layer {l.name} (DWC): {elems} elements per frame do not fill words of "
            f"{l.in_elems} and {l.out_elems} elements"
        )
    cfg = [
        ("unsigned", "IN_ELEMS", l.in_elems),
        ("unsigned", "OUT_ELEMS", l.out_elems),
        ("unsigned", "BITS", l.in_dtype.bits),
        ("unsigned", "ELEMS_PER_FRAME", elems),
    ]
    return _plain("dwc.h", "dwc", cfg, l.in_width + l.out_width)


def _signed_field(dt: DataType) -> tuple[int, int]:
    """(bits, signed) of an element as the pooling RTL sees it (BIPOLAR: 1-bit unsigned)."""
    return (1, 0) if dt.is_bipolar else (dt.bits, int(dt.signed))


def _plain(lib: str, func: str, cfg: list, max_bits: int) -> dict:
    return {"lib": lib, "func": func, "cfg": cfg, "max_bits": max_bits}


def _sliding_window_ctx(l) -> dict:
    if l.in_dtype != l.out_dtype:
        _fail(f"layer {l.name} (SlidingWindow): input {l.in_dtype} and output {l.out_dtype} differ")
    cf = l.ch // l.simd
    span = (l.k_h - 1) * l.ifm_w * cf + l.k_w * cf
    depth = max(int(l.buffer_words()), span)
    cfg = [
        ("unsigned", k, v)
        for k, v in (
            ("IFM_H", l.ifm_h),
            ("IFM_W", l.ifm_w),
            ("CH", l.ch),
            ("SIMD", l.simd),
            ("K_H", l.k_h),
            ("K_W", l.k_w),
            ("S_H", l.s_h),
            ("S_W", l.s_w),
            ("BITS", l.in_dtype.bits),
            ("DEPTH", depth),
        )
    ]
    ctx = _plain("window.h", "sliding_window", cfg, l.in_width)
    ctx["extra"] = f"buffer of {depth} words of {l.in_width} bits"
    return ctx


def _fm_padding_ctx(l) -> dict:
    pad = int(packing.encode([l.value], l.in_dtype)[0])
    cfg = [
        ("unsigned", k, v)
        for k, v in (
            ("IFM_H", l.ifm_h),
            ("IFM_W", l.ifm_w),
            ("CH", l.ch),
            ("SIMD", l.simd),
            ("PAD_T", l.pt),
            ("PAD_B", l.pb),
            ("PAD_L", l.pl),
            ("PAD_R", l.pr),
            ("BITS", l.in_dtype.bits),
            ("PAD", pad),
        )
    ]
    return _plain("window.h", "fm_padding", cfg, l.in_width)


def _pool_ctx(l) -> dict:
    ib, sg = _signed_field(l.in_dtype)
    ob = l.out_dtype.bits
    if ob < ib:
        _fail(f"layer {l.name} (Pool): output {l.out_dtype} is narrower than input {l.in_dtype}")
    cfg = [
        ("unsigned", k, v)
        for k, v in (
            ("CH", l.ch),
            ("PE", l.pe),
            ("K", l.k),
            ("NV", l.num_vectors),
            ("IN_BITS", ib),
            ("IN_SIGNED", sg),
            ("OUT_BITS", ob),
            ("MODE", 0 if l.mode == "max" else 1),
        )
    ]
    return _plain("pool.h", "pool", cfg, max(l.in_width, l.out_width))


def _global_acc_pool_ctx(l) -> dict:
    ib, sg = _signed_field(l.in_dtype)
    ob = l.out_dtype.bits
    if ob < ib:
        _fail(
            f"layer {l.name} (GlobalAccPool): output {l.out_dtype} is narrower than input "
            f"{l.in_dtype}"
        )
    cfg = [
        ("unsigned", k, v)
        for k, v in (
            ("N_PIX", l.n_pix),
            ("CH", l.ch),
            ("PE", l.pe),
            ("IN_BITS", ib),
            ("IN_SIGNED", sg),
            ("OUT_BITS", ob),
        )
    ]
    return _plain("pool.h", "global_acc_pool", cfg, max(l.in_width, l.out_width))


def _label_select_ctx(l) -> dict:
    if not 1 <= l.k <= l.ch or (1 << l.out_dtype.bits) < l.ch:
        _fail(
            f"layer {l.name} (LabelSelect): K={l.k} must be in 1..{l.ch} and {l.out_dtype} "
            f"must hold every index below {l.ch}"
        )
    cfg = [
        ("unsigned", "CH", l.ch),
        ("unsigned", "PE", l.pe),
        ("unsigned", "K", l.k),
        ("unsigned", "IN_BITS", l.in_dtype.bits),
        ("int", "IN_KIND", _kind(l.in_dtype)),
        ("unsigned", "IDX_BITS", l.out_dtype.bits),
    ]
    return _plain("pool.h", "label_select", cfg, max(l.in_width, l.out_width))


def _duplicate_ctx(l) -> dict:
    if l.in_width != l.out_width:
        _fail(f"layer {l.name} (DuplicateStreams): input and output words differ")
    cfg = [("unsigned", "WIDTH", l.in_width), ("unsigned", "WORDS", l.in_words_per_frame)]
    return _plain("branch.h", "duplicate_streams", cfg, l.in_width)


def _add_ctx(l) -> dict:
    if l.in_dtype.is_bipolar:
        _fail(f"layer {l.name} (AddStreams): BIPOLAR inputs are not supported")
    if l.out_dtype.bits < l.in_dtype.bits or l.in_elems != l.out_elems:
        _fail(
            f"layer {l.name} (AddStreams): output {l.out_dtype} x {l.out_elems} does not "
            f"extend input {l.in_dtype} x {l.in_elems}"
        )
    cfg = [
        ("unsigned", k, v)
        for k, v in (
            ("PE", l.in_elems),
            ("WORDS", l.in_words_per_frame),
            ("IN_BITS", l.in_dtype.bits),
            ("IN_SIGNED", int(l.in_dtype.signed)),
            ("OUT_BITS", l.out_dtype.bits),
        )
    ]
    return _plain("branch.h", "add_streams", cfg, max(l.in_width, l.out_width))


_LAYER_CONTEXT = {
    "MVAU": _mvau_ctx,
    "VVAU": _vvau_ctx,
    "Thresholding": _thresholding_ctx,
    "DWC": _dwc_ctx,
    "SlidingWindow": _sliding_window_ctx,
    "FMPadding": _fm_padding_ctx,
    "Pool": _pool_ctx,
    "GlobalAccPool": _global_acc_pool_ctx,
    "LabelSelect": _label_select_ctx,
    "DuplicateStreams": _duplicate_ctx,
    "AddStreams": _add_ctx,
}
_TEMPLATES = {
    "MVAU": "hls_layer_mvau.h.j2",
    "VVAU": "hls_layer_mvau.h.j2",
    "Thresholding": "hls_layer_thresholding.h.j2",
}
_PLAIN_TEMPLATE = "hls_layer_plain.h.j2"
#: stream ports of each process (the wrapper's parameter names): inputs, outputs
_PORTS = {"DuplicateStreams": (("in",), ("out0", "out1")), "AddStreams": (("in0", "in1"), ("out",))}
SUPPORTED_OPS = tuple(_LAYER_CONTEXT) + ("FIFO",)


def _in_vectors(l) -> int:
    return l.in_vectors() if hasattr(l, "in_vectors") else l.num_vectors


def _graph(dataflow) -> tuple[list, list, str]:
    """(layers, [(ins, outs)] per layer, output stream) of the dataflow, checked.

    A plain list of layers without ``ins``/``outs`` is a chain. Every stream must be produced
    once (``s_in`` by the host), consumed once (the output stream: never), and each layer must
    have as many input and output streams as it has ports.
    """
    layers = list(dataflow.layers)
    inp = getattr(dataflow, "INPUT", INPUT)
    if any(getattr(l, "ins", None) is None or getattr(l, "outs", None) is None for l in layers):
        names = [inp] + [f"s_{i}" for i in range(1, len(layers) + 1)]
        edges = [([names[i]], [names[i + 1]]) for i in range(len(layers))]
    else:
        edges = [(list(l.ins), list(l.outs)) for l in layers]
    produced = {inp: None}
    consumed: dict = {}
    for l, (ins, outs) in zip(layers, edges):
        n_in, n_out = _PORTS.get(l.op_type, (("in",), ("out",)))
        if len(ins) != len(n_in) or len(outs) != len(n_out):
            _fail(
                f"layer {l.name} ({l.op_type}): has {len(ins)} input and {len(outs)} output "
                f"streams, needs {len(n_in)} and {len(n_out)}"
            )
        for s in ins:
            if s not in produced:
                _fail(
                    f"layer {l.name} ({l.op_type}): input stream {s!r} is not produced by an "
                    "earlier layer (the layers must be in topological order)"
                )
            if s in consumed:
                _fail(
                    f"stream {s!r} is consumed by both {consumed[s]} and {l.name}; fork it "
                    "with a DuplicateStreams layer"
                )
            consumed[s] = l.name
        for s in outs:
            if s in produced:
                _fail(f"layer {l.name} ({l.op_type}): stream {s!r} is produced twice")
            produced[s] = l
    output = edges[-1][1][0]
    if output in consumed:
        _fail(
            f"the output stream {output!r} of the last layer {layers[-1].name} is consumed by "
            f"{consumed[output]}; the last layer must produce the accelerator output"
        )
    dangling = [s for s in produced if s not in consumed and s != output]
    if dangling:
        _fail(
            f"stream {dangling[0]!r} (from {getattr(produced[dangling[0]], 'name', 'the input')})"
            " is never consumed; every stream but the output needs a consumer"
        )
    return layers, edges, output


# -- stimuli ----------------------------------------------------------------------------------
#: layers that only move input values around (sample_codes looks through them)
_MOVERS = ("FIFO", "DWC", "SlidingWindow", "FMPadding", "DuplicateStreams")


def sample_codes(dataflow, n: int, seed: int = 0) -> np.ndarray:
    """``n`` random input frames ``(n, channels)`` the first layer accepts.

    Values are drawn from the declared input range of the first layer that computes on them
    (an MVAU's accumulator width assumes it; FIFOs, DWCs, padding and sliding windows in front
    only move values), else from the whole input type.
    """
    first = dataflow.layers[0]
    dt = first.in_dtype
    lo, hi = dt.min, dt.max
    user = next((l for l in dataflow.layers if l.op_type not in _MOVERS), None)
    if user is not None and getattr(user, "in_range", None) is not None:
        lo, hi = (int(v) for v in user.in_range)
    rng = np.random.default_rng(seed)
    shape = (n, _in_vectors(first) * first.in_channels)
    if dt.is_bipolar:
        return rng.choice(np.array([-1, 1], dtype=np.int64), size=shape)
    return rng.integers(lo, hi + 1, size=shape, dtype=np.int64)


def _hex_file(words: np.ndarray, bits: int, what: str) -> str:
    lines = packing.to_hex(words, bits)
    return (
        f"// {HEADER}\n// {what}: one word per line, most significant digit first\n"
        + "\n".join(lines)
        + "\n"
    )


# -- the backend ----------------------------------------------------------------------------
def _check_part(part: str) -> str:
    if not isinstance(part, str) or not _PART_RE.match(part):
        _fail(
            f"FPGA part {part!r} is not a valid part name (letters, digits, _ . : -); "
            "check the board file"
        )
    return part


def _layer_ident(i: int, name: str) -> str:
    """C++ name of layer ``i``: ``L<i>_<name>`` (never a keyword, never a clash)."""
    try:
        check_identifier(name)
    except (ValueError, TypeError):
        _fail(
            f"layer {i} name {name!r} is not a valid identifier ([A-Za-z_][A-Za-z0-9_]*); "
            "rename the layer"
        )
    return f"L{i}_{name.strip('_') or 'layer'}"


def write_hls(dataflow, outdir, part: str, clock_mhz: float) -> dict:
    """Write the HLS C++ design of ``dataflow`` to ``outdir/hls``.

    ``part`` is the FPGA part for ``set_part``; ``clock_mhz`` gives the ``create_clock``
    period. Returns ``{"top": <top function>, "files": [paths relative to outdir]}``; every
    file starts with the fpgagen header line. Raises :class:`FpgagenError` for an op_type the
    backend does not support, an invalid name, part or clock.
    """
    outdir = Path(outdir)
    _check_part(part)
    try:
        clock_mhz = float(clock_mhz)
    except (TypeError, ValueError):
        _fail(f"clock {clock_mhz!r} MHz is not a number")
    if not 0 < clock_mhz < 2000:
        _fail(f"clock {clock_mhz:g} MHz is out of range; use a value in (0, 2000)")
    layers = list(dataflow.layers)
    if not layers:
        _fail(f"dataflow {dataflow.name!r} has no hardware layers")
    top = top_name(dataflow)
    check_identifier(top)
    for l in layers:
        if l.op_type not in SUPPORTED_OPS:
            _fail(
                f"layer {l.name}: op_type {l.op_type!r} is not supported by the HLS backend; "
                f"supported: {', '.join(SUPPORTED_OPS)}"
            )
    layers, edges, output = _graph(dataflow)

    # streams and processes: FIFOs become stream depths (their output is their input stream)
    used = {top, f"{top}_in_t", f"{top}_out_t", f"{top}_IN_WORDS", f"{top}_OUT_WORDS"}

    def unique(name: str) -> str:
        while name in used:
            name += "_"
        used.add(name)
        return name

    streams: dict = {}  # C++ stream name -> stream
    alias: dict = {}  # dataflow stream -> C++ stream name

    def new_stream(s: str, width: int, producer: str) -> None:
        base = sanitize(s)
        cname = unique(base if base.startswith("s_") else f"s_{base}")
        alias[s] = cname
        streams[cname] = {
            "name": cname,
            "width": width,
            "depth": 0,
            "fifos": [],
            "orig": s,
            "producer": producer,
            "slack": 0,
        }

    new_stream(edges[0][0][0], layers[0].in_width, "the accelerator input")
    procs = []
    max_bits = max(packing.axis_width(layers[0].in_width), packing.axis_width(layers[-1].out_width))
    for i, (l, (ins, outs)) in enumerate(zip(layers, edges)):
        for s in ins:
            st = streams[alias[s]]
            if l.in_width != st["width"]:
                _fail(
                    f"layer {l.name} ({l.op_type}): input word of {l.in_width} bits does not "
                    f"match the {st['width']}-bit stream {s!r} ({st['producer']})"
                )
        if l.op_type == "FIFO":
            _layer_ident(i, l.name)
            st = streams[alias[ins[0]]]
            st["depth"] += int(l.depth)
            st["fifos"].append(f"{l.name} (depth {l.depth})")
            alias[outs[0]] = st["name"]
            continue
        ident = unique(re.sub(r"_+", "_", _layer_ident(i, l.name)))
        for s in outs:
            new_stream(s, l.out_width, f"{l.op_type} {l.name}")
            if l.op_type == "DuplicateStreams":
                streams[alias[s]]["slack"] = _FORK_SLACK
        ctx = _LAYER_CONTEXT[l.op_type](l)
        max_bits = max(max_bits, ctx["max_bits"])
        p_in, p_out = _PORTS.get(l.op_type, (("in",), ("out",)))
        ports = [(l.in_width, p) for p in p_in] + [(l.out_width, p) for p in p_out]
        args = [alias[s] for s in ins] + [alias[s] for s in outs]
        procs.append(
            {
                "ident": ident,
                "name": l.name,
                "op_type": l.op_type,
                "template": _TEMPLATES.get(l.op_type, _PLAIN_TEMPLATE),
                "comment": _comment(l),
                "in_width": l.in_width,
                "out_width": l.out_width,
                "ports": ports,
                "args": args,
                **ctx,
            }
        )
    for st in streams.values():
        st["depth"] = max(_DEFAULT_DEPTH, st["depth"]) + st["slack"]
        st["fifos"] = ", ".join(st["fifos"])
    s_first, s_last = alias[edges[0][0][0]], alias[output]
    if max_bits > MAX_WORD_BITS:
        _fail(
            f"dataflow {dataflow.name!r}: a {max_bits}-bit word exceeds the {MAX_WORD_BITS}-bit "
            "limit of ap_uint; reduce PE/SIMD"
        )

    first, last = layers[0], layers[-1]
    io = {
        "top": top,
        "part": part,
        "clock_mhz": clock_mhz,
        "period_ns": f"{1000.0 / clock_mhz:.3f}".rstrip("0").rstrip("."),
        "in_width": first.in_width,
        "in_axis_width": packing.axis_width(first.in_width),
        "out_width": last.out_width,
        "out_axis_width": packing.axis_width(last.out_width),
        "in_elems": first.in_elems,
        "out_elems": last.out_elems,
        "in_dtype": str(first.in_dtype),
        "out_dtype": str(last.out_dtype),
        "in_words": first.in_words_per_frame,
        "out_words": last.out_words_per_frame,
        "in_channels": _in_vectors(first) * first.in_channels,
        "out_channels": last.num_vectors * last.out_channels,
        "ap_int_max_w": max_bits if max_bits > 1024 else 0,
        "layers": procs,
        "streams": list(streams.values()),
        "tb_frames": TB_FRAMES,
        "s_first": s_first,
        "s_last": s_last,
        "cycles": dataflow.expected_cycles(),
    }

    hls = outdir / HLS_DIR
    for sub in ("fpgagen", "layers"):  # ours entirely: drop headers of a previous design
        shutil.rmtree(hls / sub, ignore_errors=True)
    (hls / "fpgagen").mkdir(parents=True, exist_ok=True)
    (hls / "layers").mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def emit(rel: str, text: str) -> None:
        p = hls / rel
        p.write_text(text)
        files.append(p)

    lib = data_dir("hls_templates") / "fpgagen"
    for name in LIBRARY:
        emit(f"fpgagen/{name}", f"// {HEADER}\n" + (lib / name).read_text())
    for p in procs:
        emit(f"layers/{p['ident']}.h", render(p["template"], io=io, l=p))
    emit("layers.h", render("hls_layers.h.j2", **io))
    emit(f"{top}.h", render("hls_top.h.j2", **io))
    emit(f"{top}.cpp", render("hls_top.cpp.j2", **io))
    emit("tb.cpp", render("hls_tb.cpp.j2", **io))
    codes = sample_codes(dataflow, TB_FRAMES, seed=2024)
    expected = np.asarray(dataflow.run_layers(codes), dtype=np.int64)
    emit(
        "tb_input.hex",
        _hex_file(
            packing.pack(codes, first.in_dtype, first.in_elems),
            first.in_width,
            f"{TB_FRAMES} input frames of {top}",
        ),
    )
    emit(
        "tb_expected.hex",
        _hex_file(
            packing.pack(expected, last.out_dtype, last.out_elems),
            packing.axis_width(last.out_width),
            f"golden outputs of {top} for tb_input.hex",
        ),
    )
    emit("run_hls.tcl", render("hls_run_hls.tcl.j2", **io))
    emit("Makefile", render("hls_Makefile.j2", **io))
    return {"top": top, "files": [str(p.relative_to(outdir)) for p in files]}
