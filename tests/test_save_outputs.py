"""``fpgagen verify --save-outputs Y.npy``: what the checked backend produced, in the ONNX
output layout and scale, equal to what QONNX's executor gives for the same inputs."""

import re

import numpy as np
import onnx
import pytest
from fpgagen.cli import main

from tests.support.qonnx_graphs import feature_map_net, qonnx_reference, small_mlp, topk_net


def _build(tmp_path, model, backend="rtl", name="m"):
    p = tmp_path / f"{name}.onnx"
    onnx.save(model, p)
    out = tmp_path / f"{name}_out"
    argv = ["build", str(p), "--board", "zcu104", "-o", str(out), "--backend", backend]
    assert main(argv) == 0
    return p, out


def _inputs(tmp_path, shape, n=6, seed=0):
    x = np.random.default_rng(seed).uniform(-2, 2, (n, *shape)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return x


def _verify(out, tmp_path, *extra):
    y_path = tmp_path / "y.npy"
    argv = ["verify", str(out), "--inputs", str(tmp_path / "x.npy")]
    return main([*argv, "--save-outputs", str(y_path), *extra]), y_path


@pytest.mark.parametrize(
    "net, shape",
    [(small_mlp, (16,)), (feature_map_net, (2, 6, 6)), (topk_net, (16,))],
    ids=["mlp", "feature_map", "topk"],
)
def test_golden_outputs_equal_qonnx(net, shape, tmp_path, capsys):
    p, out = _build(tmp_path, net())
    x = _inputs(tmp_path, shape)
    rc, y_path = _verify(out, tmp_path)
    assert rc == 0
    assert f"to {y_path}" in capsys.readouterr().out
    y, ref = np.load(y_path), qonnx_reference(p, x)
    dims = onnx.load(p).graph.output[0].type.tensor_type.shape.dim
    assert y.shape == ref.shape == (6, *(d.dim_value for d in dims[1:]))
    np.testing.assert_array_equal(y, ref)
    assert y.dtype == (np.int64 if net is topk_net else np.float32)


def test_outputs_are_written_when_the_check_fails(tmp_path, capsys):
    p, out = _build(tmp_path, small_mlp())
    x = _inputs(tmp_path, (16,))
    np.save(tmp_path / "wrong.npy", np.zeros((6, 5), np.float32))
    rc, y_path = _verify(out, tmp_path, "--outputs", str(tmp_path / "wrong.npy"))
    assert rc == 1
    np.testing.assert_array_equal(np.load(y_path), qonnx_reference(p, x))


@pytest.mark.parametrize(
    "target, pattern",
    [("missing/y.npy", "folder .*missing does not exist"), ("y.txt", "must end in .npy")],
)
def test_bad_path_is_one_line_before_any_work(target, pattern, tmp_path, capsys):
    _, out = _build(tmp_path, small_mlp())
    _inputs(tmp_path, (16,))
    argv = ["verify", str(out), "--inputs", str(tmp_path / "x.npy"), "--backend", "rtl"]
    assert main([*argv, "--save-outputs", str(tmp_path / target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(pattern, err), err
    assert not (out / "sim" / "run_rtl").exists()  # failed before simulating


@pytest.mark.rtl
def test_rtl_outputs_equal_qonnx(tmp_path):
    p, out = _build(tmp_path, feature_map_net(), backend="rtl")
    x = _inputs(tmp_path, (2, 6, 6), n=4)
    rc, y_path = _verify(out, tmp_path, "--backend", "rtl", "--no-stress")
    assert rc == 0
    np.testing.assert_array_equal(np.load(y_path), qonnx_reference(p, x))


@pytest.mark.hls
def test_hls_outputs_equal_qonnx(tmp_path, ap_types):
    p, out = _build(tmp_path, small_mlp(), backend="hls")
    x = _inputs(tmp_path, (16,), n=4)
    rc, y_path = _verify(out, tmp_path, "--backend", "hls")
    assert rc == 0
    np.testing.assert_array_equal(np.load(y_path), qonnx_reference(p, x))
