"""The memory-mapped kernel ``fpgagen_kernel`` around a generated stream design.

``write_kernel(df, outdir, bus_bits)`` runs after :func:`fpgagen.codegen.rtl.write_rtl` and
adds to ``outdir/rtl``

* ``fpgagen_kernel.v`` — the generated kernel top (ports as Vitis and Vivado expect of a
  kernel: ``ap_clk``, ``ap_rst_n``, ``s_axi_control_*``, ``m_axi_gmem_*``, ``interrupt``),
  ``kernel_shell`` around ``<design>_top``;
* copies of the hand-written kernel modules (``kernel_*.v`` and what they instantiate).

The register map, port names and buffer layout are those of :mod:`fpgagen.abi`
(docs/kernel.md, docs/conventions.md "Memory buffers of the kernel").
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import abi, packing
from ..errors import FpgagenError
from .rtl import module_files, top_name
from .templates import render

__all__ = [
    "HLS_TB_FRAMES",
    "burst_beats",
    "kernel_geometry",
    "uses_weight_buffer",
    "weight_layout",
    "write_kernel",
    "write_kernel_hls",
]

#: frames of the HLS kernel's C simulation testbench vectors (kernel_tb_input.bin)
HLS_TB_FRAMES = 5

#: bursts in flight at most (read and write side each)
MAX_OUTSTANDING = 4
#: read FIFO (bus words) and longest burst of an UltraRAM loader
LOADER_FIFO = 16
#: alignment of each layer's region in the weight buffer (bytes)
WEIGHT_REGION_ALIGN = 4096


def uses_weight_buffer(layer) -> bool:
    """The layer's weights come from the kernel's weight buffer: streamed every frame
    (``ram_style: external``) or loaded into UltraRAM (``ultra``)."""
    if getattr(layer, "external_weights", False):
        return True
    return getattr(layer, "ram_style", None) is not None and layer.weight_ram_style == "ultra"


def weight_layout(df, bus_bits: int) -> tuple[list, bytes]:
    """The weight buffer of the layers with external or UltraRAM weights: ``(regions, image)``.

    One region per such layer (dataflow order) at a :data:`WEIGHT_REGION_ALIGN` aligned
    offset: ``copies`` back-to-back copies of the layer's weight memory words (the order it
    consumes them, once per input vector), packed densely (:func:`fpgagen.packing.pack_buffer`),
    ``copies`` the smallest count that fills whole bus words, so that the kernel can read the
    region as a ring without a gap in the bit stream (rtl/kernel_weight_stream.v). Each region
    is a dict (name, offset, bytes, word_bits, words, repeats, copies, ring_beats,
    bits_per_frame, load). ``load``: an UltraRAM layer, whose region is read once per new
    weight address (``repeats`` 1, no traffic per frame) to load its URAM."""
    import math

    import numpy as np

    regions, parts, offset = [], [], 0
    for l in df.layers:
        if not uses_weight_buffer(l):
            continue
        load = not l.external_weights
        ws = l.weight_stream()
        words = l.weight_words()
        bits, depth = ws["word_bits"], ws["words"]
        assert words.shape[0] == depth, (l.name, words.shape, depth)
        copies = bus_bits // math.gcd(depth * bits, bus_bits)
        ring_bits = copies * depth * bits
        img = packing.pack_buffer(np.tile(words, (copies, 1)), bits, bus_bits)
        assert len(img) * 8 == ring_bits
        regions.append(
            {
                "name": l.name,
                "offset": offset,
                "bytes": ring_bits // 8,
                "word_bits": bits,
                "words": depth,
                "repeats": 1 if load else ws["repeats"],
                "copies": copies,
                "ring_beats": ring_bits // bus_bits,
                "bits_per_frame": 0 if load else ws["bits_per_frame"],
                "load": load,
            }
        )
        parts.append((offset, bytes(img)))
        offset = -(-(offset + ring_bits // 8) // WEIGHT_REGION_ALIGN) * WEIGHT_REGION_ALIGN
    image = bytearray(offset if regions else 0)
    for off, b in parts:
        image[off : off + len(b)] = b
    # the last region need not be padded to the alignment
    end = regions[-1]["offset"] + regions[-1]["bytes"] if regions else 0
    return regions, bytes(image[:end])


def _read_ports(ext: bool) -> dict:
    """What the shell's read-channel ports connect to: the kernel's m_axi_gmem ports, or
    source 0 of kernel_read_mux when weight streamers share them."""
    names = "arid araddr arlen arsize arburst arlock arcache arprot arqos arvalid arready"
    names += " rid rdata rresp rlast rvalid rready"
    if not ext:
        return {n: f"m_axi_gmem_{n}" for n in names.split()}
    m = {n: f"shell_rd_{n}" for n in "arid arsize arburst arlock arcache arprot arqos".split()}
    m.update(
        araddr="src_araddr[63:0]",
        arlen="src_arlen[7:0]",
        arvalid="src_arvalid[0]",
        arready="src_arready[0]",
        rid="m_axi_gmem_rid",
        rdata="src_rdata",
        rresp="src_rresp",
        rlast="src_rlast",
        rvalid="src_rvalid[0]",
        rready="src_rready[0]",
    )
    return m


def burst_beats(bus_bits: int) -> int:
    """Beats per burst of the kernel: 64, or fewer when 64 beats would exceed 4 KB."""
    return min(64, abi.MAX_BURST_BEATS, abi.BURST_BOUNDARY // (bus_bits // 8))


def kernel_geometry(df) -> dict:
    """Stream words of the kernel's buffers: word widths (data bits, no AXI-Stream padding)
    and words per frame, input and output."""
    first, last = df.layers[0], df.layers[-1]
    return {
        "in_word_bits": first.in_width,
        "out_word_bits": last.out_width,
        "in_words_per_frame": first.in_words_per_frame,
        "out_words_per_frame": last.out_words_per_frame,
    }


def _check_bus(bus_bits) -> int:
    if (
        not isinstance(bus_bits, int)
        or bus_bits < 32
        or bus_bits > 1024
        or bus_bits & (bus_bits - 1)
    ):
        raise FpgagenError(
            f"kernel bus width {bus_bits!r} bits is not supported; use a power of two from 32 "
            "to 1024 (128 on Zynq UltraScale+ HP ports, 512 on AWS F1; boards/*.yaml kernel.bus_bits)"
        )
    return bus_bits


def write_kernel(df, outdir, bus_bits: int) -> dict:
    """Write ``outdir/rtl/fpgagen_kernel.v`` and the kernel modules (after ``write_rtl``).

    Returns what ``dataflow.json`` records under ``"kernel"``: top, bus_bits, sources (every
    Verilog file of the kernel, relative to ``outdir``), word widths and words per frame of
    both buffers, and the burst parameters.
    """
    bus_bits = _check_bus(bus_bits)
    outdir = Path(outdir)
    rtl = outdir / "rtl"
    core_top = top_name(df)
    if not (rtl / f"{core_top}.v").is_file():
        raise FpgagenError(f"{outdir}: no {core_top}.v in rtl/; write_rtl must run first")
    geo = kernel_geometry(df)
    beats = burst_beats(bus_bits)
    regions, image = weight_layout(df, bus_bits)
    # weight streamers: 4 bursts of FIFO to hide DDR latency; UltraRAM loaders run once, so
    # short bursts and a 16-word FIFO (LUTs) do
    ext = [
        {**r, "fifo_depth": LOADER_FIFO if r["load"] else 4 * beats}
        | {"burst_beats": min(LOADER_FIFO, beats) if r["load"] else beats}
        for r in regions
    ]
    ctx = {
        "top": core_top,
        "bus_bits": bus_bits,
        "in_bits": geo["in_word_bits"],
        "out_bits": geo["out_word_bits"],
        "in_axis_bits": packing.axis_width(geo["in_word_bits"]),
        "out_axis_bits": packing.axis_width(geo["out_word_bits"]),
        "in_words": geo["in_words_per_frame"],
        "out_words": geo["out_words_per_frame"],
        "burst_beats": beats,
        "read_fifo_depth": 4 * beats,
        "max_outstanding": MAX_OUTSTANDING,
        "ext": ext,
        "weight_bytes": len(image),
        "order_depth": MAX_OUTSTANDING * (1 + len(ext)),
        "has_load": any(r["load"] for r in ext),
        "rdmap": _read_ports(bool(ext)),
    }
    mods = ["kernel_shell"] + (["kernel_weight_stream", "kernel_read_mux"] if ext else [])
    for p in [f for m in mods for f in module_files(m)]:
        shutil.copyfile(p, rtl / p.name)
    top_path = rtl / f"{abi.KERNEL_NAME}.v"
    top_path.write_text(render("kernel.v.j2", **ctx))
    sources = sorted(p for p in rtl.glob("*.v") if p != top_path) + [top_path]
    weights = None
    if regions:
        (rtl / abi.WEIGHTS_FILE).write_bytes(image)
        weights = {
            "file": f"rtl/{abi.WEIGHTS_FILE}",
            "bytes": len(image),
            "bits_per_frame": sum(r["bits_per_frame"] for r in regions),
            "layers": regions,
        }
    return {
        "top": abi.KERNEL_NAME,
        "core_top": core_top,
        "bus_bits": bus_bits,
        "sources": [str(p.relative_to(outdir)) for p in sources],
        **geo,
        "burst_beats": beats,
        "read_fifo_depth": 4 * beats,
        "max_outstanding": MAX_OUTSTANDING,
        "weights": weights,
    }


def write_kernel_hls(df, outdir, bus_bits: int, part: str, clock_mhz: float) -> dict:
    """Add the HLS kernel top to ``outdir/hls`` (after ``write_hls``): ``fpgagen_kernel.h/.cpp``
    (``fpgagen_kernel(const ap_uint<BUS>* in, ap_uint<BUS>* out, int n)``: m_axi bundle gmem,
    s_axilite control incl. return, DATAFLOW of read/unpack, the stream top, pack/write),
    ``kernel_tb.cpp`` (C simulation on dense buffers), ``kernel_tb_input.bin`` /
    ``kernel_tb_expected.bin`` (golden vectors) and ``run_hls_kernel.tcl`` (Vitis HLS: csim,
    export as IP catalog IP and as .xo). Returns what dataflow.json records under
    ``"kernel_hls"``."""
    import re

    import numpy as np

    from .hls import HLS_DIR, sample_codes

    bus_bits = _check_bus(bus_bits)
    hls = Path(outdir) / HLS_DIR
    core_top = top_name(df)
    top_h = hls / f"{core_top}.h"
    if not top_h.is_file():
        raise FpgagenError(f"{outdir}: no hls/{core_top}.h; write_hls must run first")
    geo = kernel_geometry(df)
    m = re.search(r"#define AP_INT_MAX_W (\d+)", top_h.read_text())
    need = bus_bits + max(geo["in_word_bits"], geo["out_word_bits"])
    first, last = df.layers[0], df.layers[-1]
    regions, image = weight_layout(df, bus_bits)
    beats = burst_beats(bus_bits)
    for r in regions:  # first beat of the region; the FIFO of its reader (as in the RTL)
        r["beat0"] = r["offset"] * 8 // bus_bits
        r["fifo_depth"] = LOADER_FIFO if r["load"] else 4 * beats
        r["burst"] = min(LOADER_FIFO, beats) if r["load"] else beats
    need = max([need] + [bus_bits + r["word_bits"] for r in regions])
    width = max(int(m.group(1)) if m else 1024, -(-need // 1024) * 1024)
    ctx = {
        "top": core_top,
        "bus_bits": bus_bits,
        "in_bits": geo["in_word_bits"],
        "out_bits": geo["out_word_bits"],
        "in_words": geo["in_words_per_frame"],
        "out_words": geo["out_words_per_frame"],
        "burst_beats": burst_beats(bus_bits),
        "ap_int_max_w": width if width > 1024 else 0,
        "part": part,
        "clock_mhz": clock_mhz,
        "period_ns": f"{1000.0 / clock_mhz:.3f}",
        "tb_frames": HLS_TB_FRAMES,
        "regions": regions,
        "weight_bytes": len(image),
    }
    files = []
    for name, tmpl in (
        ("fpgagen_kernel.h", "hls_kernel.h.j2"),
        ("fpgagen_kernel.cpp", "hls_kernel.cpp.j2"),
        ("kernel_tb.cpp", "hls_kernel_tb.cpp.j2"),
        ("run_hls_kernel.tcl", "hls_run_hls_kernel.tcl.j2"),
    ):
        (hls / name).write_text(render(tmpl, **ctx))
        files.append(hls / name)
    codes = sample_codes(df, HLS_TB_FRAMES, seed=77)
    expected = np.asarray(df.run_layers(codes), dtype=np.int64)
    words_in = packing.pack(codes, first.in_dtype, first.in_elems)
    words_out = packing.pack(expected, last.out_dtype, last.out_elems)
    for name, words, bits in (
        ("kernel_tb_input.bin", words_in, geo["in_word_bits"]),
        ("kernel_tb_expected.bin", words_out, geo["out_word_bits"]),
    ):
        (hls / name).write_bytes(bytes(packing.pack_buffer(words, bits, bus_bits)))
        files.append(hls / name)
    weights = None
    if regions:  # the weight buffer image, the same file the RTL kernel reads
        (hls / abi.WEIGHTS_FILE).write_bytes(image)
        files.append(hls / abi.WEIGHTS_FILE)
        weights = {
            "file": f"{HLS_DIR}/{abi.WEIGHTS_FILE}",
            "bytes": len(image),
            "bits_per_frame": sum(r["bits_per_frame"] for r in regions),
            "layers": [
                {k: v for k, v in r.items() if k not in ("beat0", "fifo_depth", "burst")}
                for r in regions
            ],
        }
    return {
        "top": abi.KERNEL_NAME,
        "core_top": core_top,
        "bus_bits": bus_bits,
        **geo,
        "files": [str(p.relative_to(outdir)) for p in files],
        "script": f"{HLS_DIR}/run_hls_kernel.tcl",
        "weights": weights,
    }
