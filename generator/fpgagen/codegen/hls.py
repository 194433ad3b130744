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
from ..errors import FpgagenError
from ..layers.base import LAYER_TYPES, check_identifier, sanitize
from ..layers.hw import Kind, Memory, SignedInt, parse_names
from ..resources import data_dir
from .kernel import uses_weight_buffer
from .rtl import top_name
from .templates import HEADER, render

__all__ = [
    "HLS_DIR",
    "LIBRARY_BASE",
    "MAX_WORD_BITS",
    "layer_context",
    "library_headers",
    "sample_codes",
    "supported_ops",
    "write_hls",
]

#: folder of the HLS design inside a build folder
HLS_DIR = "hls"
#: the header every other header of the library includes (copied first)
LIBRARY_BASE = "streams.h"


def library_headers() -> list:
    """The HLS header library (hls_templates/fpgagen/*.h): ``streams.h``, then the others
    by name. A new layer's header is picked up by being there."""
    names = sorted(p.name for p in (data_dir("hls_templates") / "fpgagen").glob("*.h"))
    return [LIBRARY_BASE] + [n for n in names if n != LIBRARY_BASE]


#: widest ap_uint Vitis HLS accepts (AP_INT_MAX_W limit)
MAX_WORD_BITS = 32768
#: frames in tb_input.hex / tb_expected.hex (the self-check of Vitis csim and cosim)
TB_FRAMES = 4

_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_DEFAULT_DEPTH = 2
INPUT = "s_in"


# -- small helpers ----------------------------------------------------------------------------
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


# -- the layer's process: rendered from its backend-neutral hardware parameters -------------
def _memory_table(m: Memory) -> dict:
    """A layer memory as an HLS table (a one-row zero placeholder when it is absent)."""
    if m.words is None:
        return {
            "cb": 8,
            "nc": 1,
            "ctype": "uint8_t",
            "depth": 1,
            "bits": 1,
            "pe": m.pe,
            "rows": "        {" + ", ".join(["{0x00u}"] * m.pe) + "}",
            "impl": "lutram",
        }
    t = _table(m.words, m.bits, m.pe)
    t["impl"] = _impl(m.style)
    return t


def _cfg_value(v) -> tuple[str, object]:
    """(C type, C++ literal) of a neutral parameter value."""
    if isinstance(v, Kind):
        return "int", f"fpgagen::KIND_{v}"
    if isinstance(v, SignedInt):
        return "int", int(v)
    return "unsigned", int(v)


def layer_context(l) -> dict:
    """Template context of layer ``l``'s HLS process: its configuration struct (``cfg``),
    its memories as tables, and the library function it calls."""
    l.check_hw()
    hw = l.hw_params()
    wstream = None
    if uses_weight_buffer(l):  # weights from the kernel's weight buffer: no ROM rows
        ws = l.weight_stream()
        wstream = {
            "bits": ws["word_bits"],
            "load": not l.external_weights,
            "words": ws["words"],
            "repeats": ws["repeats"],
        }
        w = hw["weights"]
        hw = {**hw, "weights": Memory(w.name, w.words[:1], w.bits, w.pe, w.style)}
    tables = {k: _memory_table(v) for k, v in hw.items() if isinstance(v, Memory)}
    if wstream is not None:  # the table's shape is the weight memory's
        tables["weights"]["depth"] = wstream["words"]
    cfg = []
    for name, key in parse_names(l.hls_names):
        mem, _, attr = key.partition(".")
        if attr:
            cfg.append(("unsigned", name, tables[mem][attr]))
        else:
            ctype, value = _cfg_value(hw[key])
            cfg.append((ctype, name, value))
    max_bits = max([l.max_word_bits()] + [t["bits"] for t in tables.values()])
    lanes = l.lanes
    return {
        # lanes: identical processes on slices of the words (MVAU with MMV)
        "lanes": lanes,
        "lane_in": l.in_width // lanes,
        "lane_out": l.out_width // lanes,
        "lane_words_in": l.in_words_per_frame,
        "lane_words_out": l.out_words_per_frame,
        **l.hls_extra(),
        **tables,
        "cfg": cfg,
        "lib": l.hls_lib,
        "func": l.hls_func,
        "template": l.hls_template,
        "max_bits": max(max_bits, wstream["bits"] if wstream else 0),
        "wstream": wstream,
    }


def _hls_supported(cls) -> bool:
    """A layer type the backend generates: the class that defines the op_type declares its
    HLS process (``hls_lib``) or is a stream buffer (``buffer_depth``)."""
    return "hls_lib" in cls.__dict__ or "buffer_depth" in cls.__dict__


def supported_ops() -> list:
    """Names of the layer types the HLS backend generates, sorted."""
    return sorted(t for t, c in LAYER_TYPES.items() if _hls_supported(c))


def _ports(l) -> tuple[tuple, tuple]:
    """Stream parameter names of a layer's process: ``in``/``out``, numbered when several."""

    def names(base, n):
        return (base,) if n == 1 else tuple(f"{base}{i}" for i in range(n))

    return names("in", len(l.in_ports)), names("out", len(l.out_ports))


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
        n_in, n_out = _ports(l)
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
def sample_codes(dataflow, n: int, seed: int = 0) -> np.ndarray:
    """``n`` random input frames ``(n, channels)`` the first layer accepts.

    Values are drawn from the declared input range of the first layer that computes on them
    (an MVAU's accumulator width assumes it; FIFOs, DWCs, padding and sliding windows in front
    only move values), else from the whole input type.
    """
    first = dataflow.layers[0]
    dt = first.in_dtype
    lo, hi = dt.min, dt.max
    user = next((l for l in dataflow.layers if not l.moves_values), None)
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
        cls = LAYER_TYPES.get(l.op_type)
        if cls is None or not _hls_supported(cls):
            _fail(
                f"layer {l.name}: op_type {l.op_type!r} is not supported by the HLS backend; "
                f"supported: {', '.join(supported_ops())}"
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
    wstreams: list = []  # weight streams of layers with external/UltraRAM weights, in order
    max_bits = max(packing.axis_width(layers[0].in_width), packing.axis_width(layers[-1].out_width))
    for i, (l, (ins, outs)) in enumerate(zip(layers, edges)):
        for s in ins:
            st = streams[alias[s]]
            if l.in_width != st["width"]:
                _fail(
                    f"layer {l.name} ({l.op_type}): input word of {l.in_width} bits does not "
                    f"match the {st['width']}-bit stream {s!r} ({st['producer']})"
                )
        if l.buffer_depth is not None:
            _layer_ident(i, l.name)
            st = streams[alias[ins[0]]]
            st["depth"] += int(l.buffer_depth)
            st["fifos"].append(f"{l.name} (depth {l.buffer_depth})")
            alias[outs[0]] = st["name"]
            continue
        ident = unique(re.sub(r"_+", "_", _layer_ident(i, l.name)))
        for s in outs:
            new_stream(s, l.out_width, f"{l.op_type} {l.name}")
            streams[alias[s]]["slack"] = l.hls_out_slack
        ctx = layer_context(l)
        max_bits = max(max_bits, ctx["max_bits"])
        p_in, p_out = _ports(l)
        ports = [(l.in_width, p) for p in p_in] + [(l.out_width, p) for p in p_out]
        args = [alias[s] for s in ins] + [alias[s] for s in outs]
        if ctx["wstream"] is not None:  # a weight stream: an argument of the top function
            wname = unique(f"s_wgt_{ident}")
            args.append(wname)
            wstreams.append(
                {
                    **ctx["wstream"],
                    "name": wname,
                    "layer": l.name,
                    "hex": packing.to_hex(l.weight_words(), ctx["wstream"]["bits"]),
                }
            )
        procs.append(
            {
                "ident": ident,
                "name": l.name,
                "op_type": l.op_type,
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
        "wstreams": wstreams,
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
    for name in library_headers():
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
