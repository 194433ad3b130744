"""fpgagen.runtime: one Accelerator over the golden, pynq and xrt devices, the deploy folder,
``fpgagen run``.

Pynq and XRT run against fakes of their documented Python APIs (tests/runtime/fakes): in
process with the golden kernel model behind the fake registers (real outputs), and the pynq
fake alone in a subprocess Python that has nothing but numpy, recording a trace that is then
replayed on a kernel model.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from fpgagen import abi
from fpgagen.cli import main
from fpgagen.errors import DeployError
from fpgagen.flow import build, load_build
from fpgagen.runtime import Accelerator, Design
from fpgagen.runtime.deploy import PACKAGE, VENDORED, header, vendored_sources
from fpgagen.runtime.simdev import GoldenKernel

from tests.runtime.support import (
    FAKES,
    add_fake_bitstream,
    decode_outputs,
    replay,
    run_example_alone,
)
from tests.support.qonnx_graphs import feature_map_net, qonnx_reference, topk_net

GEN = Path(__file__).resolve().parents[2] / "generator" / "fpgagen"


def _quiet(_s):
    pass


def _golden_y(outdir, x):
    df, _ = load_build(outdir)
    return df.golden(x)["y"]


# -- golden device through fpgagen run -----------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_run_golden_gives_what_verify_checks(builds, name, tmp_path, capsys):
    outdir, model, xp = builds[name]
    y_path = tmp_path / "y.npy"
    rc = main(
        ["run", str(outdir / "deploy"), "--inputs", str(xp), "--device", "golden"]
        + ["-o", str(y_path)]
    )
    assert rc == 0, capsys.readouterr().err
    x = np.load(xp)
    y = np.load(y_path)
    gold = _golden_y(outdir, x)
    assert y.dtype == gold.dtype and y.shape == gold.shape == (len(x), 5)
    assert np.array_equal(y, gold)  # exactly what verify compares with ONNX
    ref = qonnx_reference(model, x)  # and that is the ONNX model's output
    assert np.abs(y - ref.reshape(y.shape)).max() <= 1e-4 * max(1.0, np.abs(ref).max())
    assert main(["verify", str(outdir), "--inputs", str(xp), "--outputs", str(y_path)]) == 0


@pytest.mark.parametrize(
    ("make", "shape"), [(feature_map_net, (2, 6, 6)), (topk_net, (16,))], ids=["nchw", "topk"]
)
def test_run_golden_other_outputs(make, shape, tmp_path):
    """An NCHW feature map with per-channel scales (streamed NHWC) and class indices (int64
    after TopK) come back in the ONNX output layout and type."""
    path = tmp_path / "m.onnx"
    onnx.save(make(), path)
    out = tmp_path / "b"
    build(path, "zcu104", out, backend="rtl", progress=lambda s: None)
    x = np.random.default_rng(5).uniform(-1, 1, (4, *shape)).astype(np.float32)
    with Accelerator(out / "deploy", device="golden") as acc:
        y = acc.run(x)
    ref = qonnx_reference(path, x).reshape(y.shape)
    assert np.array_equal(y, _golden_y(out, x))
    if y.dtype == np.int64:
        assert y.shape == (4, 3) and np.array_equal(y, ref)
    else:
        assert y.shape == (4, 3, 3, 3) and np.abs(y - ref).max() <= 1e-4 * np.abs(ref).max()


def test_run_prints_outputs_and_throughput(builds, capsys):
    outdir, _, xp = builds["cnn"]
    rc = main(
        ["run", str(outdir / "deploy"), "--inputs", str(xp), "--device", "golden"]
        + ["--throughput", "6"]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "5 frames on device golden: outputs (5, 5)" in out
    assert "throughput on golden: 6 frames" in out and "to_device" in out


def test_buffers_allocated_once_and_grown_only_for_bigger_batches(builds):
    outdir, _, xp = builds["mlp"]
    x = np.load(xp)
    acc = Accelerator(outdir / "deploy", device="golden")
    allocs = []
    real = acc.device.alloc
    acc.device.alloc = lambda *a, **k: allocs.append(a) or real(*a, **k)
    gold = _golden_y(outdir, x)
    assert np.array_equal(acc.run(x[:4]), gold[:4])
    first = acc._buffers[0]
    assert np.array_equal(acc.run(x[4:6]), gold[4:6])
    assert np.array_equal(acc.run(x[:3]), gold[:3])
    assert acc._buffers[0] is first and len(allocs) == 2  # in + out, once
    assert np.array_equal(acc.run(x), gold)  # 7 > 4 frames: re-allocated
    assert len(allocs) == 4 and acc._buffers[0][0] == 7
    assert acc.run(x[:0]).shape == (0, 5)
    acc.close()


def test_kernel_error_response_is_one_line_error(builds):
    outdir, _, xp = builds["mlp"]
    acc = Accelerator(outdir / "deploy", device="golden", error_at=(0, 1 << 40))
    with pytest.raises(DeployError, match=r"AXI error response reading the input buffer"):
        acc.run(np.load(xp))


def test_golden_kernel_register_protocol(builds):
    """The model behaves as the abi says: idle/start/done clear-on-read, ISR toggle, N=0."""
    outdir, _, _ = builds["mlp"]
    df, _ = load_build(outdir)
    k = GoldenKernel(df, 128)
    assert k.read_reg(abi.REG_CTRL) & abi.CTRL_IDLE
    k.write_reg(abi.REG_IER, 1)
    k.write_reg(abi.REG_N, 0)
    k.write_reg(abi.REG_CTRL, abi.CTRL_START)
    assert not k.read_reg(abi.REG_CTRL) & abi.CTRL_IDLE
    k.step(10)
    assert k.read_reg(abi.REG_CTRL) & abi.CTRL_DONE
    assert not k.read_reg(abi.REG_CTRL) & abi.CTRL_DONE  # cleared by the read
    assert k.read_reg(abi.REG_ISR) == 1
    k.write_reg(abi.REG_ISR, 1)
    assert k.read_reg(abi.REG_ISR) == 0


# -- deploy folder --------------------------------------------------------------------------------
def test_design_json_fields(builds):
    outdir, _, _ = builds["cnn"]
    d = json.loads((outdir / "deploy" / abi.DESIGN_FILE).read_text())
    df, meta = load_build(outdir)
    first, last = df.layers[0], df.layers[-1]
    assert d["kernel"]["name"] == abi.KERNEL_NAME and d["kernel"]["bus_bits"] == 128
    assert d["kernel"]["control_base"] == 0xA0000000 and d["kernel"]["pl_clock_index"] == 0
    assert d["clock_mhz"] == meta["clock_mhz"] and d["board"] == "zcu104"
    assert d["input"]["onnx_shape"] == [1, 3, 8, 8]
    assert (d["input"]["elems"], d["input"]["word_bits"]) == (first.in_elems, first.in_width)
    assert d["input"]["words_per_frame"] * d["input"]["elems"] == 3 * 8 * 8
    assert (d["output"]["dtype"], d["output"]["words_per_frame"]) == (
        str(last.out_dtype),
        last.out_words_per_frame,
    )
    assert (
        d["design_hash"].startswith("sha256:") and meta["deploy"]["design_hash"] == d["design_hash"]
    )
    ops = [n["op"] for n in d["host"]["head"]["nodes"]] + [d["host"]["head"]["quant"]["op"]]
    assert ops[-1] == "Quant"


def test_design_hash_changes_with_kernel_sources(builds, tmp_path):
    outdir, _, _ = builds["mlp"]
    copy = tmp_path / "b"
    shutil.copytree(outdir, copy)
    v = sorted((copy / "rtl").glob("*.v"))[0]
    v.write_text(v.read_text() + "// edited\n")
    with pytest.raises(DeployError, match="does not match the sources"):
        Accelerator(copy / "deploy", device="golden")


def test_vendored_copies_identical_to_originals_modulo_imports(builds):
    outdir, _, _ = builds["mlp"]
    pkg = outdir / "deploy" / PACKAGE
    assert sorted(p.name for p in pkg.glob("*.py")) == sorted(VENDORED)
    for name, rel in VENDORED.items():
        orig = (GEN / rel).read_text().splitlines()
        copy = (pkg / name).read_text().splitlines()
        assert copy[0] == header(rel).rstrip("\n")
        copy = copy[1:]
        assert len(copy) == len(orig), name
        for a, b in zip(orig, copy, strict=True):
            if a != b:  # only relative imports one package level up may change
                assert a.lstrip().startswith("from ..") and b == a.replace("from ..", "from .", 1)
        # Python 3.10 syntax (current PYNQ images)
        ast.parse((pkg / name).read_text(), feature_version=(3, 10))
    assert vendored_sources()["packing.py"] == (pkg / "packing.py").read_text()


def test_vendored_runtime_imports_only_numpy_and_stdlib(builds):
    outdir, _, _ = builds["mlp"]
    allowed = set(sys.stdlib_module_names) | {"numpy", "pynq", "pyxrt", "fpgagen"}
    for p in (outdir / "deploy" / PACKAGE).glob("*.py"):
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module]
            else:
                continue
            for m in mods:
                if m == "cv2" and p.name in ("pipeline.py", "videoio.py", "clip.py"):
                    assert node.col_offset > 0, f"{p.name}: top-level import of cv2"
                    continue  # the video pipeline needs OpenCV, only when it runs
                assert m.split(".")[0] in allowed, f"{p.name} imports {m}"
                if m.startswith("fpgagen"):  # only the simulated devices, lazily
                    assert node.col_offset > 0, f"{p.name}: top-level import of {m}"


def test_deploy_alone_runs_example_with_only_numpy_and_fake_pynq(builds, tmp_path):
    """Copied alone, the deploy folder runs its example script in a Python with only numpy and
    a fake pynq; the recorded register/buffer trace replayed on a kernel model gives the
    outputs fpgagen verify checks."""
    outdir, _, xp = builds["cnn"]
    r, ev, deploy = run_example_alone(outdir / "deploy", xp, tmp_path)
    x = np.load(xp)
    assert r.returncode == 0, r.stderr
    assert "5 frames on pynq" in r.stdout
    ops = [e["op"] for e in ev]
    assert ops[0] == "overlay" and ev[0]["bitfile"] == "accel.bit" and ev[0]["download"]
    pl_mhz = json.loads((deploy / abi.DESIGN_FILE).read_text())["kernel"]["pl_clock_mhz"]
    assert 180.0 <= pl_mhz <= 200.0  # what the PS divides from its PLL for 200 MHz
    assert {"op": "clock", "name": "fclk0_mhz", "mhz": pl_mhz} in ev
    mmio = next(e for e in ev if e["op"] == "mmio")
    assert mmio["base"] == 0xA0000000
    writes = [(e["addr"] - mmio["base"], e["value"]) for e in ev if e["op"] == "write"]
    assert [w[0] for w in writes] == [
        abi.REG_IN_LO,
        abi.REG_IN_HI,
        abi.REG_OUT_LO,
        abi.REG_OUT_HI,
        abi.REG_N,
        abi.REG_CTRL,
    ]
    assert writes[4][1] == len(x) and writes[5][1] == abi.CTRL_START
    assert ops.index("sync_to_device") < ops.index("write")  # data before ap_start
    # replay on the kernel model: real outputs
    df, _ = load_build(outdir)
    design = Design(deploy)
    got = replay(ev, GoldenKernel(df, design.bus_bits))
    out_addr = writes[2][1] | (writes[3][1] << 32)
    y = decode_outputs(design, got[out_addr], len(x))
    assert np.array_equal(y, _golden_y(outdir, x))


# -- pynq and xrt devices against fakes of their APIs -------------------------------------------
@pytest.fixture
def fake_modules(monkeypatch):
    """Import the fake pynq and pyxrt (fresh) instead of anything installed."""
    monkeypatch.syspath_prepend(str(FAKES))
    for m in [m for m in sys.modules if m.split(".")[0] in ("pynq", "pyxrt")]:
        monkeypatch.delitem(sys.modules, m)
    import pynq
    import pyxrt

    yield pynq, pyxrt
    for m in [m for m in sys.modules if m.split(".")[0] in ("pynq", "pyxrt")]:
        monkeypatch.delitem(sys.modules, m)


def test_pynq_device_with_kernel_model_behind_the_fake(builds, fake_modules, tmp_path):
    pynq, _ = fake_modules
    outdir, _, xp = builds["mlp"]
    deploy = tmp_path / "d"  # alone: the pynq device needs no build folder
    shutil.copytree(outdir / "deploy", deploy)
    add_fake_bitstream(deploy, "pynq")
    df, _ = load_build(outdir)
    pynq.KERNEL = GoldenKernel(df, 128)
    x = np.load(xp)
    with Accelerator(deploy, device="auto") as acc:
        assert acc.device.name == "pynq"
        assert np.array_equal(acc.run(x), _golden_y(outdir, x))
        r = acc.throughput(9)
        assert r["frames"] == 9 and r["fps_kernel"] > 0 and "to_device" in r["seconds"]
    assert any(e["op"] == "free" for e in pynq.TRACE)


def test_pynq_device_waits_for_the_interrupt(builds, fake_modules, tmp_path):
    pynq, _ = fake_modules
    outdir, _, xp = builds["cnn"]
    deploy = tmp_path / "d"
    shutil.copytree(outdir / "deploy", deploy)
    add_fake_bitstream(deploy, "pynq")
    df, _ = load_build(outdir)
    pynq.KERNEL = GoldenKernel(df, 128)
    x = np.load(xp)
    gold = _golden_y(outdir, x)
    with Accelerator(deploy, device="pynq", interrupt=True) as acc:
        assert np.array_equal(acc.run(x), gold)
        assert np.array_equal(acc.run(x[1:3]), gold[1:3])  # re-armed: ISR was cleared
    base = 0xA0000000
    ev = [e for e in pynq.TRACE if e["op"] in ("write", "interrupt", "interrupt_wait")]
    regs = [(e["op"], e.get("addr", base) - base, e.get("value")) for e in ev]
    assert regs[0][0] == "interrupt" and regs[1:3] == [
        ("write", abi.REG_GIE, 1),
        ("write", abi.REG_IER, 1),
    ]
    assert regs.count(("interrupt_wait", 0, None)) == 2
    assert regs.count(("write", abi.REG_ISR, 1)) == 2  # toggle-on-write clear after each run
    assert not pynq.KERNEL.interrupt


def test_xrt_device_spreads_a_batch_over_compute_units(builds, fake_modules, tmp_path):
    _, pyxrt = fake_modules
    outdir, _, xp = builds["mlp_f1"]
    deploy = tmp_path / "d"
    shutil.copytree(outdir / "deploy", deploy)
    cus = ["fpgagen_kernel_1", "fpgagen_kernel_2"]
    add_fake_bitstream(deploy, "xrt", compute_units=cus)
    df, _ = load_build(outdir)
    pyxrt.CUS = cus
    pyxrt.KERNELS = {c: GoldenKernel(df, 512) for c in cus}
    x = np.load(xp)
    with Accelerator(deploy) as acc:  # auto: an F1 build runs on xrt
        assert acc.device.name == "xrt" and acc.device.compute_units == 2
        assert np.array_equal(acc.run(x), _golden_y(outdir, x))
    runs = [e for e in pyxrt.TRACE if e[0] == "run"]
    assert [(r[1], r[4]) for r in runs] == [("fpgagen_kernel_1", 3), ("fpgagen_kernel_2", 2)]
    assert ("load_xclbin", "accel.awsxclbin") in pyxrt.TRACE
    syncs = [e[2] for e in pyxrt.TRACE if e[0] == "sync"]
    assert syncs.count("XCL_BO_SYNC_BO_TO_DEVICE") == 2 == syncs.count("XCL_BO_SYNC_BO_FROM_DEVICE")


# -- one-line errors ----------------------------------------------------------------------------
def _err(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_missing_bitstream_names_the_path(builds, tmp_path, capsys):
    outdir, _, xp = builds["mlp"]
    deploy = tmp_path / "d"
    shutil.copytree(outdir / "deploy", deploy)
    assert main(["run", str(deploy), "--inputs", str(xp), "--device", "pynq"]) == 2
    assert f"{deploy / 'accel.bit'}: no bitstream for device pynq" in _err(capsys)


def test_mismatching_bitstream_is_refused(builds, tmp_path, capsys):
    outdir, _, xp = builds["mlp"]
    deploy = tmp_path / "d"
    shutil.copytree(outdir / "deploy", deploy)
    add_fake_bitstream(deploy, "pynq", design_hash="sha256:" + "0" * 64)
    assert main(["run", str(deploy), "--inputs", str(xp), "--device", "pynq"]) == 2
    assert "bitstream.json: the bitstream was built from design sha256:000" in _err(capsys)
    add_fake_bitstream(deploy, "pynq")
    (deploy / "accel.bit").write_bytes(b"another bitstream")
    assert main(["run", str(deploy), "--inputs", str(xp), "--device", "pynq"]) == 2
    assert f"{deploy / 'accel.bit'}: sha256 does not match" in _err(capsys)


def test_missing_pynq_package_is_one_line(builds, tmp_path, capsys, monkeypatch):
    outdir, _, xp = builds["mlp"]
    deploy = tmp_path / "d"
    shutil.copytree(outdir / "deploy", deploy)
    add_fake_bitstream(deploy, "pynq")
    monkeypatch.setitem(sys.modules, "pynq", None)  # import pynq -> ImportError
    assert main(["run", str(deploy), "--inputs", str(xp), "--device", "pynq"]) == 2
    assert "device pynq needs the Python package 'pynq', which is not installed" in _err(capsys)


def test_golden_needs_the_build_folder(builds, tmp_path, capsys):
    outdir, _, xp = builds["mlp"]
    deploy = tmp_path / "d"
    shutil.copytree(outdir / "deploy", deploy)
    assert main(["run", str(deploy), "--inputs", str(xp), "--device", "golden"]) == 2
    assert "no dataflow.json; device golden needs the build folder" in _err(capsys)


def test_bad_inputs_and_deploy_folder(builds, tmp_path, capsys):
    outdir, _, _ = builds["mlp"]
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((2, 3), np.float32))
    assert main(["run", str(outdir / "deploy"), "--inputs", str(bad), "--device", "golden"]) == 2
    assert "input batch has shape (2, 3); the model expects (N, 16)" in _err(capsys)
    assert main(["run", str(tmp_path), "--inputs", str(bad), "--device", "golden"]) == 2
    assert f"{tmp_path / 'design.json'}: no such file" in _err(capsys)
    missing = tmp_path / "nope.npy"
    assert main(["run", str(outdir / "deploy"), "--inputs", str(missing)]) == 2
    assert "nope.npy: no such file" in _err(capsys)
