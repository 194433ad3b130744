"""Verilog backend: memory files, module copies and the generated top level.

``write_rtl(dataflow, outdir)`` fills ``outdir/rtl`` with

* ``<top>.v`` — the stitched top level (AXI-Stream in/out, one instance per layer);
* a copy of every hand-written module it instantiates (from the package's ``rtl/``);
* ``mem/*.mem`` — weights and thresholds, referenced as ``mem/<file>`` relative to the
  simulation or synthesis working directory;

and ``outdir/sim/fpgagen_tb.v`` — the simulation harness.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .. import packing
from ..layers.base import sanitize
from ..resources import data_dir
from .templates import render

__all__ = ["MEM_DIR", "module_files", "top_name", "write_rtl"]

MEM_DIR = "mem"


def top_name(dataflow) -> str:
    return sanitize(dataflow.name) + "_top"


def module_files(module: str) -> list[Path]:
    """``rtl/<module>.v`` first, then every rtl/ module it instantiates (transitively),
    sorted by name so that the list (and every cache key derived from it) is stable."""
    base = data_dir("rtl")
    names = {p.stem for p in base.glob("*.v")}
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        text = (base / f"{m}.v").read_text()
        todo += [
            o
            for o in sorted(names - seen)
            if re.search(rf"^\s*{re.escape(o)}\s+(#|\w)", text, re.M)
        ]
    return [base / f"{module}.v"] + [base / f"{m}.v" for m in sorted(seen - {module})]


def write_rtl(dataflow, outdir) -> dict:
    """Write the Verilog design; returns {"top": name, "sources": [paths], "rtl_dir": path}."""
    outdir = Path(outdir)
    rtl = outdir / "rtl"
    mem = rtl / MEM_DIR
    mem.mkdir(parents=True, exist_ok=True)
    layers = dataflow.layers
    streams = [{"name": dataflow.INPUT, "width": layers[0].in_width}]
    ctx_layers = []
    modules = []
    for l in layers:
        l.check_hw()
        l.write_memories(mem)
        for s in l.outs:
            streams.append({"name": s, "width": l.out_width})
        ports = list(zip(l.in_ports, l.ins)) + list(zip(l.out_ports, l.outs))
        wgt = None
        if hasattr(l, "weight_stream"):  # MVAU/VVAU: the weight stream port
            ws = l.weight_stream()
            load = l.weight_ram_style == "ultra"
            wgt = {
                "streamed": l.external_weights or load,
                "load": load,
                "bits": ws["word_bits"],
                "words": ws["words"],
            }
        ctx_layers.append(
            {
                "name": l.name,
                "op_type": l.op_type,
                "module": l.rtl_module,
                "params": list(l.rtl_params(MEM_DIR).items()),
                "ports": ports,
                "wgt": wgt,
                # lanes: identical module copies on slices of the words, in lockstep
                "lanes": l.lanes,
                "lane_in": l.in_width // l.lanes,
                "lane_out": l.out_width // l.lanes,
                "comment": f"{l.in_vectors()}x{l.in_channels} {l.in_dtype} -> "
                f"{l.num_vectors}x{l.out_channels} {l.out_dtype}"
                + (f", {l.folding()}" if l.folding() else "")
                + f", {l.expected_cycles()} cycles/frame",
            }
        )
        if l.rtl_module not in modules:
            modules.append(l.rtl_module)
    top = top_name(dataflow)
    ctx = {
        "top": top,
        "layers": ctx_layers,
        "streams": streams,
        "in_width": layers[0].in_width,
        "in_axis_width": packing.axis_width(layers[0].in_width),
        "out_width": layers[-1].out_width,
        "out_axis_width": packing.axis_width(layers[-1].out_width),
        "in_elems": layers[0].in_elems,
        "out_elems": layers[-1].out_elems,
        "in_dtype": str(layers[0].in_dtype),
        "out_dtype": str(layers[-1].out_dtype),
    }
    sources = []
    for m in modules:
        for p in module_files(m):
            dst = rtl / p.name
            if dst not in sources:
                shutil.copyfile(p, dst)
                sources.append(dst)
    top_path = rtl / f"{top}.v"
    top_path.write_text(render("top.v.j2", **ctx))
    sources.append(top_path)
    # the harness watches every FIFO's fill level (hierarchical references into the top)
    ctx["ext_layers"] = [
        {
            "name": c["name"],
            "bits": c["wgt"]["bits"],
            "words": c["wgt"]["words"],
            "file": f"{MEM_DIR}/{c['name']}_weights.mem",
            "load": c["wgt"]["load"],
        }
        for c in ctx_layers
        if c["wgt"] and c["wgt"]["streamed"]
    ]
    ctx["fifos"] = [
        {"name": l.name, "depth": d, "bits": max(1, (d + 1).bit_length())}
        for l in layers
        if (d := l.buffer_depth) is not None
    ]
    sim = outdir / "sim"
    sim.mkdir(parents=True, exist_ok=True)
    (sim / "fpgagen_tb.v").write_text(render("harness.v.j2", **ctx))
    return {
        "top": top,
        "sources": [str(p.relative_to(outdir)) for p in sources],
        "harness": "sim/fpgagen_tb.v",
    }
