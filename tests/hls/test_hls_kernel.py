"""The HLS kernel top ``fpgagen_kernel(const ap_uint<BUS>* in, ap_uint<BUS>* out, int n,
int* status)``:
bit-exact in g++ C simulation on dense buffers (as drivers call the Vitis kernel) for an MLP
on a 128-bit and a CNN on a 512-bit bus, its testbench vectors, the interface directives that
give the abi.py register map, and the Vitis HLS script exporting IP catalog IP and .xo."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import onnx
import pytest
from fpgagen import abi, packing
from fpgagen.flow import build, load_build, verify

from tests.support.qonnx_graphs import small_cnn, small_mlp

pytestmark = [pytest.mark.hls, pytest.mark.usefixtures("ap_types")]


@pytest.mark.parametrize(
    "kind, board, shape, n", [("mlp", "zcu104", (16,), 33), ("cnn", "aws-f1", (3, 8, 8), 3)]
)
def test_hls_kernel_bit_exact(kind, board, shape, n, tmp_path):
    from fpgagen.sim.hls_kernel_csim import compile_hls_kernel, simulate_hls_kernel

    onnx.save(small_mlp() if kind == "mlp" else small_cnn("plain"), tmp_path / "m.onnx")
    out = tmp_path / "b"
    build(tmp_path / "m.onnx", board, out, backend="hls", progress=lambda s: None)
    df, meta = load_build(out)
    k = meta["kernel_hls"]
    assert k["top"] == abi.KERNEL_NAME and k["bus_bits"] == (128 if board == "zcu104" else 512)
    x = np.random.default_rng(4).uniform(-1, 1, (n, *shape)).astype(np.float32)
    gold = df.golden(x)
    got = simulate_hls_kernel(out, df, gold["codes"], k)
    assert np.array_equal(got, gold["hw_out"])
    # verify --backend hls runs the kernel too
    np.save(tmp_path / "x.npy", x)
    rep = verify(out, tmp_path / "x.npy", backend="hls", progress=lambda s: None)
    assert rep["kernel_mismatched_frames"] == 0
    # the testbench vectors shipped for Vitis HLS csim are what the kernel computes
    exe = compile_hls_kernel(out / "hls", k["core_top"])
    hls = out / "hls"
    frames = 5
    r = subprocess.run(
        [str(exe), "kernel_tb_input.bin", str(frames), str(tmp_path / "o.bin")],
        cwd=hls,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.bin").read_bytes() == (hls / "kernel_tb_expected.bin").read_bytes()
    assert len((hls / "kernel_tb_expected.bin").read_bytes()) == abi.buffer_bytes(
        frames, k["out_words_per_frame"], k["out_word_bits"], k["bus_bits"]
    )


def test_hls_kernel_interface_and_script(tmp_path):
    onnx.save(small_mlp(), tmp_path / "m.onnx")
    out = tmp_path / "b"
    build(tmp_path / "m.onnx", "zcu104", out, backend="hls", progress=lambda s: None)
    src = (out / "hls" / "fpgagen_kernel.cpp").read_text()
    for directive in (
        "INTERFACE m_axi port=in offset=slave bundle=gmem",
        "INTERFACE m_axi port=out offset=slave bundle=gmem",
        "INTERFACE s_axilite port=in bundle=control",
        "INTERFACE s_axilite port=out bundle=control",
        "INTERFACE s_axilite port=n bundle=control",
        "INTERFACE s_axilite port=status bundle=control",
        "INTERFACE s_axilite port=return bundle=control",
        "DATAFLOW",
    ):
        assert directive in src
    # the output scalar status puts STATUS at 0x30 (abi.py); no weights: no argument w
    assert (
        "void fpgagen_kernel(const fpgagen_bus_t* in, fpgagen_bus_t* out, int n, int* status)"
        in src
    )
    tcl = (out / "hls" / "run_hls_kernel.tcl").read_text()
    assert "set_top fpgagen_kernel" in tcl
    assert "export_design -format ip_catalog" in tcl and "export_design -format xo" in tcl
    assert json.loads((out / "dataflow.json").read_text())["kernel_hls"]["script"] == (
        "hls/run_hls_kernel.tcl"
    )
    # dense buffers: the input vector file is packing.pack_buffer of the testbench codes
    raw = (out / "hls" / "kernel_tb_input.bin").read_bytes()
    assert len(raw) % 16 == 0 and len(raw) > 0
    df, meta = load_build(out)
    k = meta["kernel_hls"]
    words = packing.unpack_buffer(
        np.frombuffer(raw, np.uint8), 5 * k["in_words_per_frame"], k["in_word_bits"]
    )
    assert words.shape[0] == 5 * k["in_words_per_frame"]
