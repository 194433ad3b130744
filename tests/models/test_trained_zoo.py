"""Issue 6 acceptance: trained TFC-W1A1 / ternary / SYQ (and sparse ternary) on MNIST-5k.

Each model is trained with ``fpgagen train`` (fixed seed, bundled MNIST-5k, a held-out test
split), must reach an accuracy reasonable for its precision, and then builds with ``fpgagen
build`` and passes ``fpgagen verify`` bit-exactly against the golden model and QONNX's
executor on the RTL and on the HLS C simulation.  The accuracy table of longer runs is
benchmarks/models/accuracy.py (docs/accuracy.md).
"""

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from fpgagen.cli import main

pytestmark = [pytest.mark.torch]

EPOCHS = 8

# weights, abits, minimum held-out accuracy after EPOCHS epochs (30-epoch means are 89-92%)
TRAINED = [
    ("binary", 1, 0.85),
    ("ternary", 2, 0.87),
    ("syq", 2, 0.87),
]


def _train(tmp_path, capsys, weights, abits, extra=()):
    onnx_path = tmp_path / f"tfc_{weights}.onnx"
    assert (
        main(
            [
                "train",
                "--model",
                "tfc",
                "--weights",
                weights,
                "--abits",
                str(abits),
                "--dataset",
                "mnist5k",
                "--epochs",
                str(EPOCHS),
                "--seed",
                "0",
                "-o",
                str(onnx_path),
                *extra,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    return onnx_path, out


def _accuracy(out: str) -> float:
    return float(out.split("test accuracy ")[-1].split()[0].rstrip(","))


@pytest.mark.rtl
@pytest.mark.hls
@pytest.mark.slow
@pytest.mark.parametrize("weights, abits, min_acc", TRAINED, ids=[t[0] for t in TRAINED])
def test_trained_tfc_builds_and_verifies(weights, abits, min_acc, tmp_path, capsys):
    from fpgagen.models.datasets import load_mnist5k
    from fpgagen.models.export import qonnx_execute

    onnx_path, out = _train(tmp_path, capsys, weights, abits)
    acc = _accuracy(out)
    assert acc >= min_acc, out
    if weights in ("ternary", "syq"):
        assert "weight sparsity" in out
    x = load_mnist5k(0)[2][:16]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_execute(onnx_path, x))
    build = tmp_path / "build"
    assert (
        main(
            [
                "build",
                str(onnx_path),
                "--board",
                "zcu104",
                "-o",
                str(build),
                "--backend",
                "both",
                "--fps",
                "1000000",
            ]
        )
        == 0
    )
    for backend in ("rtl", "hls"):
        assert (
            main(
                [
                    "verify",
                    str(build),
                    "--inputs",
                    str(tmp_path / "x.npy"),
                    "--outputs",
                    str(tmp_path / "y.npy"),
                    "--backend",
                    backend,
                ]
            )
            == 0
        ), backend


def test_syq_scales_are_fixed_point_in_the_export(tmp_path, capsys):
    """The exported SYQ scales are m * 2^-F (one F per layer), one per output row."""
    from fpgagen.models.export import load_clean_model

    onnx_path, _ = _train(tmp_path, capsys, "syq", 2)
    mw = load_clean_model(onnx_path)
    quants = [
        n
        for n in mw.graph.node
        if n.op_type == "Quant" and mw.get_initializer(n.input[0]) is not None
    ]
    assert len(quants) == 4
    for n in quants:
        w = mw.get_initializer(n.input[0])
        s = mw.get_initializer(n.input[1])
        assert s.size == w.shape[1] or s.size == w.shape[0]  # one scale per output row
        for f in range(0, 31):
            m = s * 2.0**f
            if np.all(m == np.round(m)):
                break
        else:
            pytest.fail(f"{n.name}: scales are not fixed point: {s.ravel()[:4]}")
        assert np.all(m >= 1) and m.max() < 2**16
        t = w / s
        assert set(np.unique(t).tolist()) <= {-1.0, 0.0, 1.0}


def test_sparse_ternary_reports_sparsity_and_accuracy(tmp_path, capsys):
    """Sparse ternary training prunes most weights and stays close to the dense model."""
    from fpgagen.boards import load_board
    from fpgagen.flow import make_dataflow
    from fpgagen.models.datasets import load_mnist5k
    from fpgagen.models.export import qonnx_execute

    _, dense_out = _train(tmp_path, capsys, "ternary", 2)
    dense_acc = _accuracy(dense_out)
    dense_sp = float(dense_out.split("weight sparsity ")[-1].split("%")[0]) / 100
    onnx_path, out = _train(
        tmp_path / "sparse", capsys, "ternary", 2, ("--sparse", "--prune-frac", "0.5")
    )
    for stage in ("regularised", "pruned", "retrained"):
        assert stage in out
    acc = _accuracy(out)
    sp = float(out.split("weight sparsity ")[-1].split("%")[0]) / 100
    assert sp > 0.6 and sp > dense_sp + 0.4, out
    assert acc >= dense_acc - 0.05, (dense_out, out)
    # the sparse model is still an ordinary ternary network for fpgagen: golden == QONNX
    x = load_mnist5k(0)[2][:32]
    df = make_dataflow(onnx_path, load_board("zcu104"), fps=1e6)
    y = df.golden(x)["y"]
    ref = qonnx_execute(onnx_path, x)
    assert np.abs(y - ref).max() <= 1e-4
    # and the zeros are in the hardware's weight matrices
    zeros = sum(int((l.weights == 0).sum()) for l in df.compute_layers if hasattr(l, "weights"))
    total = sum(l.weights.size for l in df.compute_layers if hasattr(l, "weights"))
    assert zeros / total == pytest.approx(sp, abs=0.02)
    json.dumps(out)  # the CLI output is plain text


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--weights", "binary", "--sparse"], "--sparse needs ternary weights"),
        (
            ["--weights", "ternary", "--sparse", "--prune-frac", "1.5"],
            "--prune-frac 1.5 must be in (0, 1)",
        ),
    ],
)
def test_sparse_bad_arguments(args, msg, tmp_path, capsys):
    assert main(["train", "--epochs", "1", "-o", str(tmp_path / "m.onnx")] + args) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists()
