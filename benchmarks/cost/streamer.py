#!/usr/bin/env python3
"""The kernel's weight streamer alone in Yosys against the cost model (issue 20, issue 18).

    python benchmarks/cost/streamer.py [-j 2]   # Yosys, cached; writes the results

``rtl/kernel_weight_stream.v`` (kernel_axi_read as a ring + read FIFO + kernel_unpack) on the
Zynq UltraScale+ 128-bit bus, with the parameters ``codegen.kernel`` gives an ``external``
layer (a FIFO of 4 bursts of 64 beats) or an ``ultra`` layer's loader (16-word FIFO and
bursts, one pass), for the weight word widths and counts of
``tests/cost/test_weights_external.py``. Each row: Yosys LUT / FF / DSP / BRAM18 and
``cost.model.weight_streamer`` without the layer's source on kernel_read_mux
(:data:`~fpgagen.cost.model.STREAMER_MUX`). Results go to
``benchmarks/results/cost_streamer.json``; docs/cost_model.md "External weights" quotes them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "generator"))

OUT = ROOT / "benchmarks" / "results" / "cost_streamer.json"
BUS = 128

#: (style, word bits, words, repeats): the test's cases
CASES = [
    ("external", 32, 4608, 169),
    ("external", 8, 72, 1024),
    ("external", 256, 2304, 169),
    ("external", 24, 96, 169),
    ("external", 72, 1152, 169),
    ("external", 600, 64, 4),
    ("ultra", 32, 4608, 1),
    ("ultra", 256, 2304, 1),
]


def params(style: str, bits: int, words: int, repeats: int) -> dict:
    """kernel_weight_stream's parameters as ``codegen.kernel`` sets them for one region."""
    from fpgagen.codegen.kernel import LOADER_FIFO, burst_beats

    beats = burst_beats(BUS)
    copies = BUS // math.gcd(words * bits, BUS)
    load = style == "ultra"
    return {
        "BUS_BITS": BUS,
        "WORD_BITS": bits,
        "WORDS": words,
        "REPEATS": 1 if load else repeats,
        "RING_BEATS": copies * words * bits // BUS,
        "BURST_BEATS": min(LOADER_FIFO, beats) if load else beats,
        "FIFO_DEPTH": LOADER_FIFO if load else 4 * beats,
    }


#: the streamer's ports (rtl/kernel_weight_stream.v) but ``frames``: (direction, width)
PORTS = {
    "clk": ("input", "1"),
    "rst": ("input", "1"),
    "start": ("input", "1"),
    "addr": ("input", "64"),
    "idle": ("output", "1"),
    "drained": ("output", "1"),
    "error": ("output", "1"),
    "m_axi_araddr": ("output", "64"),
    "m_axi_arlen": ("output", "8"),
    "m_axi_arsize": ("output", "3"),
    "m_axi_arburst": ("output", "2"),
    "m_axi_arlock": ("output", "1"),
    "m_axi_arcache": ("output", "4"),
    "m_axi_arprot": ("output", "3"),
    "m_axi_arqos": ("output", "4"),
    "m_axi_arvalid": ("output", "1"),
    "m_axi_arready": ("input", "1"),
    "m_axi_rdata": ("input", "BUS_BITS"),
    "m_axi_rresp": ("input", "2"),
    "m_axi_rlast": ("input", "1"),
    "m_axi_rvalid": ("input", "1"),
    "m_axi_rready": ("output", "1"),
    "m_axis_tdata": ("output", "WORD_BITS"),
    "m_axis_tvalid": ("output", "1"),
    "m_axis_tready": ("input", "1"),
}


def wrapper(p: dict) -> str:
    """A top that ties ``frames`` as the kernel does: the run's frame count for a streamer
    (a port), 1 for a loader (``.frames(32'd1)`` in rtl/templates/kernel.v.j2)."""
    ps = ", ".join(f"parameter {k} = {v}" for k, v in p.items())
    decl = ",\n".join(f"    {d} wire [{w} - 1:0] {n}" for n, (d, w) in PORTS.items())
    conn = ",\n".join(f"        .{n}({n})" for n in PORTS)
    inst = ", ".join(f".{k}({k})" for k in p)
    return (
        f"module loader_top #({ps}) (\n{decl}\n);\n"
        f"    kernel_weight_stream #({inst}) s (\n{conn},\n        .frames(32'd1)\n    );\n"
        "endmodule\n"
    )


def _one(case, workdir: str) -> dict:
    from fpgagen.codegen.rtl import module_files
    from fpgagen.synth.yosys import synth_verilog

    style, bits, words, rep = case
    p = params(*case)
    d = Path(workdir) / f"{style}_{bits}"
    d.mkdir(parents=True, exist_ok=True)
    srcs, top = module_files("kernel_weight_stream"), "kernel_weight_stream"
    if style == "ultra":
        (d / "loader_top.v").write_text(wrapper(p))
        srcs, top = [d / "loader_top.v", *srcs], "loader_top"
    r = synth_verilog(srcs, top, p, d / "yosys", label=f"kernel_weight_stream {style} {bits}")
    return {k: r[k] for k in ("lut", "ff", "dsp", "bram18", "seconds")}


def main(argv=None) -> int:
    from fpgagen.cost.model import STREAMER_MUX, weight_streamer
    from fpgagen.tasks import Task, run_tasks

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="fpgagen_streamer_")
    tasks = [Task(_one, {"case": c, "workdir": work}, label=str(c)) for c in CASES]
    outs = run_tasks(tasks, jobs=a.jobs, cache=False, progress=lambda m: print(m, flush=True))
    rows = []
    for c, o in zip(CASES, outs):
        if not o.ok:
            print(f"FAILED: {o.label}: {o.error}", flush=True)
            continue
        style, bits, words, rep = c
        est = weight_streamer(style, {"word_bits": bits, "words": words, "repeats": rep})
        est = {k: est[k] - STREAMER_MUX.get(k, 0) for k in est}
        rows.append(
            {
                "style": style,
                "word_bits": bits,
                "words": words,
                "repeats": rep,
                "yosys": o.result,
                "model": est,
            }
        )
        y = o.result
        print(
            f"{style:8s} {bits:4d} bits: LUT {y['lut']:6d} / {est['lut']:6d}  "
            f"FF {y['ff']:5d} / {est['ff']:5d}  DSP {y['dsp']} / {est['dsp']}  "
            f"BRAM18 {y['bram18']} / {est['bram18']}",
            flush=True,
        )
    OUT.write_text(json.dumps({"bus_bits": BUS, "rows": rows}, indent=1) + "\n")
    return 0 if len(rows) == len(CASES) else 1


if __name__ == "__main__":
    sys.exit(main())
