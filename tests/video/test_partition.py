"""CPU/FPGA partition of a detector build: network.cfg, the CPU layers in numpy (bit-exact
with the golden model), --cpu-layers choices and their errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fpgagen.cli import main
from fpgagen.cpulayers import run_layers
from fpgagen.flow import load_build
from fpgagen.runtime.design import Design
from fpgagen.video.netcfg import NetworkCfg, read_cfg

pytestmark = pytest.mark.torch


def test_auto_split_moves_first_and_last_conv_to_the_cpu(det_build):
    outdir, _ = det_build
    meta = json.loads((outdir / "dataflow.json").read_text())
    part = meta["partition"]
    assert part["cpu_layers"] == "auto"
    assert part["cpu_head"] == ["first_first_0_Conv"] and part["cpu_tail"] == ["head_Conv"]
    assert len(part["fpga"]) == 12  # 7 convolutions + 5 max pools
    # the accelerator starts at layer 1's padding (UINT3 codes) and ends at layer 7 (UINT3)
    assert meta["input"]["hw_dtype"] == "UINT3" and meta["output"]["hw_dtype"] == "UINT3"
    d = json.loads((outdir / "deploy" / "design.json").read_text())
    assert [s["op"] for s in d["host"]["cpu_head"]] == ["pad", "window", "matmul"]
    assert [s["op"] for s in d["host"]["cpu_tail"]] == ["matmul"]
    assert d["input"]["elements_per_frame"] == 32 * 32 * 2  # layer 0: 2 channels at 32x32


def test_network_cfg_is_darknet_style_with_the_offload_marked(det_build):
    outdir, _ = det_build
    secs = read_cfg(outdir / "network.cfg")
    names = [n for n, _ in secs]
    assert names == ["net", "convolutional", "offload", "convolutional", "region"]
    net, first, off, last, reg = (d for _, d in secs)
    assert (net["width"], net["height"], net["channels"]) == ("64", "64", "3")
    assert first["filters"] == "2" and first["size"] == "3" and first["stride"] == "2"
    assert first["activation"] == "relu" and first["fpgagen_device"] == "cpu"
    assert first["fpgagen_weights"] == "INT8"
    assert (off["height"], off["width"], off["channels"]) == ("2", "2", "64")
    assert off["fpgagen_device"] == "fpga"
    assert last["size"] == "1" and last["activation"] == "linear" and last["filters"] == "24"
    assert reg["classes"] == "3" and reg["num"] == "3"
    text = (outdir / "network.cfg").read_text()
    assert text.count("#   [convolutional]") == 7 and text.count("#   [maxpool]") == 5
    cfg = NetworkCfg(outdir / "network.cfg")
    assert cfg.anchors == [(0.8, 0.8), (1.4, 1.0), (1.0, 1.6)]
    assert cfg.names == ["red_rectangle", "red_ellipse", "green_rectangle"]
    # the deploy folder carries a copy for the board
    assert (outdir / "deploy" / "network.cfg").read_text() == text


def test_cpu_layers_in_numpy_equal_the_golden_model(det_build):
    outdir, onnx_path = det_build
    df, _ = load_build(outdir)
    design = Design(outdir / "deploy")
    rng = np.random.default_rng(0)
    x = rng.random((4, 3, 64, 64), dtype=np.float32)
    q = df.head.run(x)  # input quantizer codes
    gold_in = q
    for l in df.cpu_head:
        (gold_in,) = l.execute_streams([gold_in])
    assert np.array_equal(design.run_cpu_head(q), gold_in)
    assert np.array_equal(design.run_head(x), df.hw_input(x))
    hw = rng.integers(0, 8, (4, df.layers[-1].out_channels * 4))  # random UINT3 codes
    gold_out = hw
    for l in df.cpu_tail:
        (gold_out,) = l.execute_streams([gold_out])
    assert np.array_equal(design.run_cpu_tail(hw), gold_out)
    assert np.array_equal(design.run_tail(hw), df.host_tail(hw))
    # the whole split model against QONNX's executor on the original ONNX
    from fpgagen.models.export import qonnx_execute

    ref = qonnx_execute(onnx_path, x)
    y = df.golden(x)["y"]
    assert y.shape == ref.shape
    assert np.abs(y - ref).max() <= 1e-5 * max(1.0, np.abs(ref).max())


def test_cpu_layer_products_stay_exact_in_every_precision():
    """float32, float64 and int64 products give the same integers (exactness chosen from the
    accumulator bound; here forced to each mode on values where float32 is still exact)."""
    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, (5, 27))
    x = rng.integers(0, 256, (3, 27 * 4))
    consts = {"w": w, "t": np.sort(rng.integers(-4000, 4000, (5, 3)), axis=1)}
    outs = []
    for mode in ("f32", "f64", "int"):
        spec = dict(op="matmul", weights="w", thresholds="t", out_bias=0, bipolar_out=False)
        outs.append(run_layers(x, [dict(spec, exact=mode)], consts))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[1], outs[2])
    acc = x.reshape(-1, 27) @ w.T
    want = (acc[..., None] >= consts["t"]).sum(-1).reshape(3, -1)
    assert np.array_equal(outs[2], want)


@pytest.mark.parametrize(
    "stride, pads, exact, thresholds, threads",
    [
        (2, [1, 1, 1, 1], "f32", True, 3),
        (1, [1, 1, 1, 1], "f64", True, 2),
        (1, [0, 0, 1, 1], "int", False, 4),
        (2, None, "f32", False, 1),
    ],
)
def test_fused_banded_convolution_equals_layer_by_layer(stride, pads, exact, thresholds, threads):
    """``pad, window, matmul`` run fused in bands of output rows on several threads: the same
    integers as the three layers one after the other (band edges inside the image: 19 rows)."""
    from fpgagen.cpulayers import BAND_ROWS, run_layer

    rng = np.random.default_rng(stride * 7 + threads)
    h, w, c, oc, k = 37, 23, 3, 5, 3
    ph, pw = (h + pads[0] + pads[2], w + pads[1] + pads[3]) if pads else (h, w)
    assert ((ph - k) // stride + 1) % BAND_ROWS  # a partial last band
    consts = {
        "w": rng.integers(-128, 128, (oc, k * k * c)),
        "t": np.sort(rng.integers(-30000, 30000, (oc, 7)), axis=1),
    }
    layers = [] if pads is None else [dict(op="pad", ifm_h=h, ifm_w=w, ch=c, pads=pads, value=3)]
    layers += [
        dict(op="window", ifm_h=ph, ifm_w=pw, ch=c, kernel=[k, k], stride=[stride, stride]),
        dict(
            op="matmul",
            weights="w",
            thresholds="t" if thresholds else None,
            out_bias=1 if thresholds else 0,
            bipolar_out=False,
            exact=exact,
        ),
    ]
    x = rng.integers(0, 256, (2, h * w * c))
    want = x
    for s in layers:
        want = run_layer(want, s, consts)
    got = run_layers(x, layers, consts, threads=threads)
    assert got.dtype == np.int64 and np.array_equal(got, want)
    if not thresholds:  # raw accumulators: a real check of the products, not only the counts
        assert np.abs(want).max() > 1000


def _cli(capsys, *argv):
    rc = main(list(argv))
    return rc, capsys.readouterr()


def test_cpu_layers_by_name_and_none(det_build, tmp_path, capsys):
    _, onnx_path = det_build
    rc, out = _cli(
        capsys,
        "estimate",
        str(onnx_path),
        "--board",
        "zcu104",
        "--json",
        "--cpu-layers",
        "first_first_0_Conv,body_body_0_body_0_0_Conv",
    )
    assert rc == 0, out.err
    d = json.loads(out.out)
    assert d["partition"]["cpu_head"] == ["first_first_0_Conv", "body_body_0_body_0_0_Conv"]
    assert d["partition"]["cpu_tail"] == []
    rc, out = _cli(
        capsys, "estimate", str(onnx_path), "--board", "zcu104", "--json", "--cpu-layers", "none"
    )
    assert rc == 0 and "partition" not in json.loads(out.out)


@pytest.mark.parametrize(
    "choice, words",
    [
        ("nosuchlayer", ["nosuchlayer is not a layer", "first_first_0_Conv"]),
        ("body_body_2_body_2_0_Conv", ["must be the first and/or the last layers"]),
    ],
)
def test_bad_cpu_layers_are_one_line_errors(det_build, capsys, choice, words):
    _, onnx_path = det_build
    rc, out = _cli(capsys, "estimate", str(onnx_path), "--board", "zcu104", "--cpu-layers", choice)
    assert rc == 2
    assert out.err.count("\n") == 1 and out.err.startswith("fpgagen: error: ")
    for w in words:
        assert w in out.err


@pytest.mark.rtl
@pytest.mark.slow
def test_fpga_block_of_the_detector_verifies_in_rtl(det_build, tmp_path, capsys):
    """The accelerator part (layers 1-7) of the split detector: RTL simulation (``--backend
    rtl``, also under random idle cycles and back-pressure) and the memory-mapped kernel
    (``--backend kernel``) bit-exact with the golden model, and the whole split model against
    the ONNX outputs."""
    outdir, onnx_path = det_build
    from fpgagen.models.export import qonnx_execute

    x = np.random.default_rng(2).random((2, 3, 64, 64), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_execute(onnx_path, x))
    rc, out = _cli(
        capsys,
        "verify",
        str(outdir),
        "--inputs",
        str(tmp_path / "x.npy"),
        "--outputs",
        str(tmp_path / "y.npy"),
        "--backend",
        "rtl",
    )
    assert rc == 0, out.err
    assert "rtl: 2/2 frames bit-exact" in out.out
    assert "back-pressure: 2/2 frames bit-exact" in out.out
    # the same block as the memory-mapped kernel (AXI masters, packing on the bus, control
    # registers) under nominal and stressed memory
    rc, out = _cli(
        capsys,
        "verify",
        str(outdir),
        "--inputs",
        str(tmp_path / "x.npy"),
        "--outputs",
        str(tmp_path / "y.npy"),
        "--backend",
        "kernel",
    )
    assert rc == 0, out.err
    assert "kernel: 2/2 frames bit-exact" in out.out
