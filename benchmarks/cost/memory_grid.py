#!/usr/bin/env python3
"""Which memory Yosys builds for a RAM of depth x width, against the model's replica of its
choice (``fpgagen.cost.model.map_memory``): the check behind "BRAM18 exact" (issue 18).

    python benchmarks/cost/memory_grid.py [-j 2]   # Yosys; writes the results

Each point is a simple dual-port RAM as the layers write theirs (one write port, one read
port with an enable and a registered output: rtl/axis_fifo.v, rtl/sliding_window.v) of
``depth`` words of ``width`` bits, taken through ``synth_xilinx -family xcup`` up to its
memory mapping (``-run begin:map_ffs``), which names the library cell Yosys chose: a LUTRAM,
a block RAM or none (flip-flops and logic). The grid crosses the LUTRAM/block-RAM boundary
(depth 40-300, width 12-48), where one score term decides. Results go to
``benchmarks/results/cost_memory_grid.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "generator"))

OUT = ROOT / "benchmarks" / "results" / "cost_memory_grid.json"
DEPTHS = (40, 64, 66, 70, 72, 80, 96, 100, 128, 150, 200, 256, 300)
WIDTHS = (12, 16, 18, 20, 22, 24, 25, 27, 28, 29, 30, 32, 34, 36, 40, 48)

RAM_V = """\
module ram #(parameter W = 8, parameter D = 16) (
    input wire clk, input wire we, input wire re,
    input wire [$clog2(D)-1:0] wa, input wire [$clog2(D)-1:0] ra,
    input wire [W-1:0] wd, output reg [W-1:0] q
);
reg [W-1:0] mem [0:D-1];
always @(posedge clk) begin
    if (we) mem[wa] <= wd;
    if (re) q <= mem[ra];
end
endmodule
"""


def yosys_kind(depth: int, width: int, work: Path) -> str:
    """``lutram``, ``bram`` or ``logic``: what Yosys maps the RAM to."""
    from fpgagen.synth.yosys import yosys_command

    src = work / "ram.v"
    if not src.is_file():
        src.write_text(RAM_V)
    script = (
        f"read_verilog {src.name}; chparam -set W {width} -set D {depth} ram; "
        "synth_xilinx -family xcup -flatten -noiopad -noclkbuf -top ram -run begin:map_ffs"
    )
    # (run in the work directory: the WebAssembly Yosys sees the files below it)
    r = subprocess.run(yosys_command() + ["-p", script], capture_output=True, text=True, cwd=work)
    if r.returncode:
        raise RuntimeError(f"Yosys failed on {depth} x {width}: {r.stderr[-300:]}")
    cells = [ln.split(" via ")[1] for ln in r.stdout.splitlines() if "mapping memory" in ln]
    if not cells:
        return "logic"
    return "lutram" if "LUTRAM" in cells[0] else "bram" if "BLOCKRAM" in cells[0] else cells[0]


def compare(points: dict) -> list[dict]:
    """The points where the model's choice differs from Yosys's."""
    from fpgagen.cost.model import map_memory

    out = []
    for key, kind in points.items():
        d, w = map(int, key.split("x"))
        ours = map_memory(d, w, False, "auto")["kind"]
        if ours != kind:
            out.append({"depth": d, "width": w, "yosys": kind, "model": ours})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=1)
    a = ap.parse_args(argv)
    from fpgagen.synth.yosys import yosys_version

    grid = [(d, w) for d in DEPTHS for w in WIDTHS]
    with tempfile.TemporaryDirectory(prefix="fpgagen_memgrid_") as tmp:
        work = Path(tmp)
        (work / "ram.v").write_text(RAM_V)
        with ThreadPoolExecutor(a.jobs) as ex:
            kinds = list(ex.map(lambda p: yosys_kind(p[0], p[1], work), grid))
    points = {f"{d}x{w}": k for (d, w), k in zip(grid, kinds)}
    bad = compare(points)
    OUT.write_text(
        json.dumps({"yosys": yosys_version(), "points": points, "model_mismatches": bad}, indent=1)
        + "\n"
    )
    print(f"{len(points)} memories, model differs on {len(bad)}: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
