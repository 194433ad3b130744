"""External weights (``ram_style: external``): a small CNN whose three MVAUs take their weights
from DDR passes ``fpgagen verify --backend kernel`` bit-exactly (nominal memory, random
latency with 30% pauses on every AXI channel, injected SLVERR) and ``--backend rtl`` (the
testbench feeds the weight streams); the runtime loads the weight image once and runs on the
emu and golden devices; the golden device refuses a run without the weight buffer. The HLS
kernel reads the same weight image through its argument ``w`` (0x40, as the RTL kernel's
WGT): the CNN with two URAM MVAUs and one external MVAU passes ``verify --backend hls``
(stream top and kernel, g++ C simulation) and computes garbage from a wrong image."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from fpgagen import abi
from fpgagen.cli import main

from tests.support.qonnx_graphs import small_cnn

pytestmark = pytest.mark.rtl


@pytest.fixture(scope="module")
def ext_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ext")
    onnx.save(small_cnn("plain"), tmp / "m.onnx")
    from fpgagen.boards import load_board
    from fpgagen.flow import make_dataflow

    df = make_dataflow(tmp / "m.onnx", load_board("zcu104"))
    fold = {
        "layers": {
            l.name: {**l.folding(), "ram_style": "external"}
            for l in df.layers
            if l.op_type == "MVAU"
        }
    }
    assert len(fold["layers"]) == 3
    (tmp / "fold.json").write_text(json.dumps(fold))
    out = tmp / "build"
    args = ["build", str(tmp / "m.onnx"), "--board", "zcu104", "-o", str(out)]
    assert main([*args, "--folding", str(tmp / "fold.json")]) == 0
    x = np.random.default_rng(3).uniform(-1, 1, (3, 3, 8, 8)).astype(np.float32)
    np.save(tmp / "x.npy", x)
    return tmp, out


def test_external_weights_layout(ext_build):
    tmp, out = ext_build
    meta = json.loads((out / "dataflow.json").read_text())
    w = meta["kernel"]["weights"]
    assert [r["name"] for r in w["layers"]] == list(
        json.loads((tmp / "fold.json").read_text())["layers"]
    )
    for r in w["layers"]:
        assert r["offset"] % 4096 == 0 and r["bytes"] * 8 == r["ring_beats"] * 128
        assert r["copies"] * r["words"] * r["word_bits"] == r["bytes"] * 8
    assert (out / "rtl" / abi.WEIGHTS_FILE).stat().st_size == w["bytes"]
    # no weight ROM: the MVAU instances are external, the kernel has the streamers and the mux
    kernel = (out / "rtl" / "fpgagen_kernel.v").read_text()
    assert kernel.count("kernel_weight_stream #(") == 3 and "kernel_read_mux #(" in kernel
    design = json.loads((out / "deploy" / abi.DESIGN_FILE).read_text())
    assert design["weights"]["bytes"] == w["bytes"]
    assert (out / "deploy" / abi.WEIGHTS_FILE).read_bytes() == (
        out / "rtl" / abi.WEIGHTS_FILE
    ).read_bytes()
    # --backend both: the HLS kernel too, with the same weight image and regions
    assert "hls" in meta["backends"]
    assert (out / "hls" / abi.WEIGHTS_FILE).read_bytes() == (
        out / "rtl" / abi.WEIGHTS_FILE
    ).read_bytes()
    assert meta["kernel_hls"]["weights"]["layers"] == w["layers"]
    src = (out / "hls" / "fpgagen_kernel.cpp").read_text()
    assert "INTERFACE m_axi port=w offset=slave bundle=gmem" in src
    assert "int n, int* status, const fpgagen_bus_t* w)" in src
    assert src.count("read_weights(w, b0, b1, b2, frames)") == 1
    tcl = (out / "hls" / "run_hls_kernel.tcl").read_text()  # Vitis csim gets the image too
    assert "add_files -tb weights.bin" in tcl and "kernel_tb_output.bin [pwd]/weights.bin" in tcl


def test_external_weights_verify_kernel_and_rtl(ext_build, capsys):
    tmp, out = ext_build
    capsys.readouterr()
    x = str(tmp / "x.npy")
    assert main(["verify", str(out), "--inputs", x, "--backend", "kernel"]) == 0
    text = capsys.readouterr().out
    assert "kernel: 3/3 frames bit-exact" in text
    assert "30% random pauses on every AXI channel: 3/3 frames bit-exact" in text
    assert "STATUS = 0x1" in text
    assert main(["verify", str(out), "--inputs", x, "--backend", "rtl"]) == 0
    assert "rtl: 3/3 frames bit-exact" in capsys.readouterr().out


def test_external_weights_runtime(ext_build):
    from fpgagen.errors import DeployError
    from fpgagen.runtime import Accelerator

    tmp, out = ext_build
    x = np.load(tmp / "x.npy")
    with Accelerator(out / "deploy", device="golden") as acc:
        ref = acc.run(x)
        # the driver programmed the weight buffer it filled at load time
        k = acc.device.kernel
        assert k.regs[abi.REG_WGT_LO] | k.regs[abi.REG_WGT_HI] << 32 == acc._weights[0].addr
        # a weight buffer that does not hold the image is refused (the RTL would compute junk)
        k.write_mem(acc._weights[0].addr, bytes(64))
        with pytest.raises(DeployError, match="does not hold the design's weight image"):
            acc.run(x[:1])
    with Accelerator(out / "deploy", device="emu") as acc:
        y = acc.run(x[:2])
    np.testing.assert_array_equal(y, ref[:2])


@pytest.fixture(scope="module")
def uram_build(ext_build):
    """The same CNN with two MVAUs in UltraRAM (loaded by the kernel) and one external."""
    tmp, _ = ext_build
    fold = json.loads((tmp / "fold.json").read_text())
    names = list(fold["layers"])
    for n in (names[0], names[2]):
        fold["layers"][n]["ram_style"] = "ultra"
    (tmp / "fold_uram.json").write_text(json.dumps(fold))
    out = tmp / "build_uram"
    args = ["build", str(tmp / "m.onnx"), "--board", "zcu104", "-o", str(out)]
    assert main([*args, "--folding", str(tmp / "fold_uram.json"), "--backend", "both"]) == 0
    return tmp, out, names


def test_uram_weights_verify_rtl_and_kernel(uram_build, capsys):
    tmp, out, names = uram_build
    meta = json.loads((out / "dataflow.json").read_text())
    regions = {r["name"]: r for r in meta["kernel"]["weights"]["layers"]}
    assert regions[names[0]]["load"] and regions[names[2]]["load"]
    assert not regions[names[1]]["load"] and regions[names[1]]["bits_per_frame"] > 0
    assert meta["kernel"]["weights"]["bits_per_frame"] == regions[names[1]]["bits_per_frame"]
    top = (out / "rtl" / f"{meta['rtl']['top']}.v").read_text()
    assert top.count('.RAM_STYLE("ultra")') == 2
    capsys.readouterr()
    x = str(tmp / "x.npy")
    # rtl: the testbench loads the URAMs through s_wgt before the input starts
    assert main(["verify", str(out), "--inputs", x, "--backend", "rtl"]) == 0
    assert "rtl: 3/3 frames bit-exact" in capsys.readouterr().out
    # kernel: the kernel loads them from the weight buffer at its first start
    assert main(["verify", str(out), "--inputs", x, "--backend", "kernel"]) == 0
    text = capsys.readouterr().out
    assert "kernel: 3/3 frames bit-exact" in text
    assert "30% random pauses on every AXI channel: 3/3 frames bit-exact" in text


def test_uram_weights_load_once_per_weight_address(uram_build):
    """The emu device: the first start loads the URAMs (their regions are read: more read
    bursts), the next start does not (the runtime programs WGT once), every run is bit-exact;
    the golden device sees WGT written once."""
    from fpgagen.runtime import Accelerator

    tmp, out, _ = uram_build
    x = np.load(tmp / "x.npy")[:2]
    with Accelerator(out / "deploy", device="golden") as acc:
        ref = acc.run(x)
        acc.run(x)
        wr = [a for a in acc.device.kernel.log if a[0] == "write" and a[1] == abi.REG_WGT_LO]
        assert len(wr) == 1
    with Accelerator(out / "deploy", device="emu") as acc:
        k = acc.device.kernel
        runs = []
        for _ in range(3):
            before = k.stats()["ar_bursts"]
            np.testing.assert_array_equal(acc.run(x), ref)
            runs.append(k.stats()["ar_bursts"] - before)
    # two URAM regions of one burst each are read at the first start only
    assert runs[0] == runs[1] + 2 and runs[1] == runs[2], runs


def test_external_weights_f1_kernel_argument(ext_build):
    """On F1 the weight buffer is the RTL kernel's argument 4 at WGT_LO (0x40), after the
    output scalar status at 0x30 (kernel.xml), as Vitis HLS numbers the HLS kernel's."""
    tmp, _ = ext_build
    out = tmp / "f1"
    args = ["build", str(tmp / "m.onnx"), "--board", "aws-f1", "-o", str(out)]
    assert main([*args, "--folding", str(tmp / "fold.json"), "--backend", "rtl"]) == 0
    xml = (out / "project" / "kernel.xml").read_text()
    assert 'name="status" addressQualifier="0" id="3"' in xml and 'offset="0x30"' in xml
    assert 'name="w" addressQualifier="1" id="4"' in xml and 'offset="0x40"' in xml


@pytest.mark.hls
@pytest.mark.usefixtures("ap_types")
def test_uram_and_external_weights_hls(uram_build, capsys, tmp_path):
    """HLS: the two URAM MVAUs load their tables from their weight streams, the external one
    takes a memory line per step; the stream top (testbench feeding the weight streams) and
    the kernel (reading weights.bin through w, round robin over the three regions) are
    bit-exact, and a zeroed weight image changes the kernel's outputs."""
    import subprocess

    from fpgagen.sim.hls_kernel_csim import compile_hls_kernel

    tmp, out, names = uram_build
    hls = out / "hls"
    layers = "".join(p.read_text() for p in (hls / "layers").glob("*.h"))
    assert layers.count("BIND_STORAGE variable=weights type=ram_1p impl=uram") == 2
    assert layers.count("fpgagen::load_weights<") == 2 and "(in, out, wgt, thresholds" in layers
    capsys.readouterr()
    assert main(["verify", str(out), "--inputs", str(tmp / "x.npy"), "--backend", "hls"]) == 0
    text = capsys.readouterr().out
    assert "hls (g++ C simulation): 3/3 frames bit-exact" in text
    assert "hls kernel fpgagen_kernel (g++ C simulation, dense buffers): 3/3 frames" in text
    # the shipped testbench vectors, with the right and with a zeroed weight image
    meta = json.loads((out / "dataflow.json").read_text())["kernel_hls"]
    exe = compile_hls_kernel(hls, meta["core_top"])  # cached by verify
    zero = tmp_path / "zero.bin"
    zero.write_bytes(bytes(len((hls / abi.WEIGHTS_FILE).read_bytes())))
    got = {}
    for name, wfile in (("right", hls / abi.WEIGHTS_FILE), ("zero", zero)):
        o = tmp_path / f"{name}.bin"
        r = subprocess.run(
            [str(exe), "kernel_tb_input.bin", "5", str(o), str(wfile)],
            cwd=hls,
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        got[name] = o.read_bytes()
    expected = (hls / "kernel_tb_expected.bin").read_bytes()
    assert got["right"] == expected and got["zero"] != expected


def test_hls_only_build_deploys_the_weight_image(uram_build, tmp_path):
    """--backend hls alone: design.json and deploy/weights.bin come from the HLS kernel (the
    same image as the RTL kernel's), and the runtime loads and programs it."""
    from fpgagen.runtime import Accelerator

    tmp, out_both, _ = uram_build
    out = tmp_path / "hls"
    args = ["build", str(tmp / "m.onnx"), "--board", "zcu104", "-o", str(out)]
    assert main([*args, "--folding", str(tmp / "fold_uram.json"), "--backend", "hls"]) == 0
    design = json.loads((out / "deploy" / abi.DESIGN_FILE).read_text())
    assert [r["load"] for r in design["weights"]["layers"]] == [True, False, True]
    image = (out_both / "rtl" / abi.WEIGHTS_FILE).read_bytes()
    assert (out / "deploy" / abi.WEIGHTS_FILE).read_bytes() == image
    with Accelerator(out / "deploy", device="golden") as acc:
        acc.run(np.load(tmp / "x.npy")[:1])
        k = acc.device.kernel
        assert k.regs[abi.REG_WGT_LO] | k.regs[abi.REG_WGT_HI] << 32 == acc._weights[0].addr


@pytest.fixture(scope="module")
def dw_model(tmp_path_factory):
    """The depthwise CNN (3x3 conv, depthwise 3x3 = the VVAU, pointwise, GAP, FC) and 2
    frames; the VVAU's folding from the ZCU104 plan."""
    tmp = tmp_path_factory.mktemp("dw")
    onnx.save(small_cnn("depthwise"), tmp / "m.onnx")
    from fpgagen.boards import load_board
    from fpgagen.flow import make_dataflow

    df = make_dataflow(tmp / "m.onnx", load_board("zcu104"))
    (vvau,) = [l for l in df.layers if l.op_type == "VVAU"]
    x = np.random.default_rng(5).uniform(-1, 1, (2, 3, 8, 8)).astype(np.float32)
    np.save(tmp / "x.npy", x)
    return tmp, vvau.name, vvau.folding()


def _dw_build(tmp, vvau, folding, style):
    (tmp / f"fold_{style}.json").write_text(
        json.dumps({"layers": {vvau: {**folding, "ram_style": style}}})
    )
    out = tmp / f"build_{style}"
    args = ["build", str(tmp / "m.onnx"), "--board", "zcu104", "-o", str(out)]
    assert main([*args, "--folding", str(tmp / f"fold_{style}.json"), "--backend", "rtl"]) == 0
    meta = json.loads((out / "dataflow.json").read_text())
    (region,) = meta["kernel"]["weights"]["layers"]
    assert region["name"] == vvau
    top = (out / "rtl" / f"{meta['rtl']['top']}.v").read_text()
    assert top.count(f'.RAM_STYLE("{style}")') == 1
    return out, region


def test_vvau_external_weights_verify_kernel(dw_model, capsys):
    """A VVAU whose weights stream from DDR (one line per input word, re-read every output
    pixel) passes the kernel verification bit-exactly, also under random AXI pauses."""
    tmp, vvau, folding = dw_model
    out, region = _dw_build(tmp, vvau, folding, "external")
    assert not region["load"] and region["bits_per_frame"] > 0
    capsys.readouterr()
    assert main(["verify", str(out), "--inputs", str(tmp / "x.npy"), "--backend", "kernel"]) == 0
    text = capsys.readouterr().out
    assert "kernel: 2/2 frames bit-exact" in text
    assert "30% random pauses on every AXI channel: 2/2 frames bit-exact" in text


def test_vvau_uram_weights_verify_rtl(dw_model, capsys):
    """A VVAU with its weights in UltraRAM, loaded through s_wgt before the input starts,
    passes the RTL verification bit-exactly."""
    tmp, vvau, folding = dw_model
    out, region = _dw_build(tmp, vvau, folding, "ultra")
    assert region["load"]
    capsys.readouterr()
    assert main(["verify", str(out), "--inputs", str(tmp / "x.npy"), "--backend", "rtl"]) == 0
    assert "rtl: 2/2 frames bit-exact" in capsys.readouterr().out
