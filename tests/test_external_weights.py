"""External weights (``ram_style: external``): a small CNN whose three MVAUs take their weights
from DDR passes ``fpgagen verify --backend kernel`` bit-exactly (nominal memory, random
latency with 30% pauses on every AXI channel, injected SLVERR) and ``--backend rtl`` (the
testbench feeds the weight streams); the runtime loads the weight image once and runs on the
emu and golden devices; the golden device refuses a run without the weight buffer; HLS is
refused with one line."""

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
    assert "HLS backend skipped" not in meta.get("backends", []) and "hls" not in meta["backends"]


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


def test_external_weights_hls_refused(ext_build, capsys):
    tmp, out = ext_build
    args = ["build", str(tmp / "m.onnx"), "--board", "zcu104", "-o", str(tmp / "hls")]
    assert main([*args, "--folding", str(tmp / "fold.json"), "--backend", "hls"]) == 2
    err = capsys.readouterr().err
    assert "external weights (ram_style 'external') are built by the RTL backend only" in err
    assert len(err.strip().splitlines()) == 1


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
    assert main([*args, "--folding", str(tmp / "fold_uram.json"), "--backend", "rtl"]) == 0
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
    """On F1 the weight buffer is the RTL kernel's 4th argument (kernel.xml, WGT_LO)."""
    tmp, _ = ext_build
    out = tmp / "f1"
    args = ["build", str(tmp / "m.onnx"), "--board", "aws-f1", "-o", str(out)]
    assert main([*args, "--folding", str(tmp / "fold.json"), "--backend", "rtl"]) == 0
    xml = (out / "project" / "kernel.xml").read_text()
    assert 'name="w" addressQualifier="1" id="3"' in xml and 'offset="0x34"' in xml
