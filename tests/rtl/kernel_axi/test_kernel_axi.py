"""The generated memory-mapped kernel (OUTDIR/rtl/fpgagen_kernel.v) under cocotb with
cocotbext-axi, an AXI implementation independent of ours: AxiRam as the DDR with random pauses
on all five channels, AxiLiteMaster writing the registers as the runtime's drivers do, a single
frame and a batch that is no multiple of a burst back to back without reset, the interrupt
path, and an injected SLVERR that must end in ap_done with the STATUS error bit (no hang).
Long batches run in the C++ harness (tests/test_kernel_emu.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from fpgagen import abi, packing

from tests.support.qonnx_graphs import small_mlp

RUNS = (1, 37)  # frames per run


@pytest.mark.rtl
def test_kernel_axi(tmp_path, rtl_build_root):
    from fpgagen.flow import build, load_build
    from fpgagen.sim.runner import run_cocotb

    onnx.save(small_mlp(), tmp_path / "mlp.onnx")
    out = tmp_path / "build"
    build(tmp_path / "mlp.onnx", "zcu104", out, backend="rtl", progress=lambda s: None)
    df, meta = load_build(out)
    k = meta["kernel"]
    first, last = df.layers[0], df.layers[-1]
    runs = []
    for i, n in enumerate(RUNS):
        x = np.random.default_rng(i).uniform(-1, 1, (n, 16)).astype(np.float32)
        g = df.golden(x)
        words = packing.pack(g["codes"], first.in_dtype, first.in_elems)
        ref = packing.pack(g["hw_out"], last.out_dtype, last.out_elems)
        runs.append(
            {
                "n": n,
                "cycles": df.expected_cycles(),
                "in": packing.pack_buffer(words, first.in_width, k["bus_bits"]).tobytes().hex(),
                "out": packing.pack_buffer(ref, last.out_width, k["bus_bits"]).tobytes().hex(),
            }
        )
    run_dir = tmp_path / "sim"
    run_dir.mkdir()
    os.symlink(out / "rtl" / "mem", run_dir / "mem")
    run_cocotb(
        [out / s for s in k["sources"]],
        abi.KERNEL_NAME,
        {},
        Path(__file__).with_name("kernel_axi_tb.py"),
        run_dir,
        build_root=rtl_build_root,
        extra_env={"FPGAGEN_KERNEL_RUNS": json.dumps(runs)},
        public_top_only=True,
    )
