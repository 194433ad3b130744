"""fpgagen train: a trained, exported model builds and its golden model equals QONNX."""

import numpy as np
import pytest

pytest.importorskip("torch")

from fpgagen.cli import main

pytestmark = pytest.mark.torch


def test_train_build_verify(tmp_path, capsys):
    onnx_path = tmp_path / "tfc_t.onnx"
    assert (
        main(
            [
                "train",
                "--model",
                "tfc",
                "--weights",
                "ternary",
                "--abits",
                "2",
                "--dataset",
                "digits",
                "--epochs",
                "2",
                "-o",
                str(onnx_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    acc = float(out.split("test accuracy ")[-1].split()[0].rstrip(","))
    assert acc > 0.5  # 10 classes: chance is 0.1
    from fpgagen.models.datasets import load_digits_split
    from fpgagen.models.export import qonnx_execute

    x = load_digits_split(0)[2][:16]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_execute(onnx_path, x))
    assert (
        main(
            [
                "build",
                str(onnx_path),
                "--board",
                "zcu104",
                "-o",
                str(tmp_path / "b"),
                "--backend",
                "rtl",
                "--fps",
                "1000000",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "verify",
                str(tmp_path / "b"),
                "--inputs",
                str(tmp_path / "x.npy"),
                "--outputs",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--model", "xfc"], "unknown model 'xfc'; available: tfc, sfc, lfc, mnist_cnn"),
        (["--weights", "syq3"], "unknown weights 'syq3'"),
        (["--abits", "12"], "--abits 12 is not supported; use 1..8"),
        (["--dataset", "cifar10"], "unknown dataset 'cifar10'; available: mnist5k, digits"),
        (
            ["--model", "mnist_cnn", "--dataset", "digits"],
            "model mnist_cnn takes 28x28 images; dataset digits has 8x8 (use mnist5k)",
        ),
        (
            ["--model", "mnist_cnn", "--weights", "syq", "--syq-group", "channel"],
            "unknown --syq-group 'channel'; available: auto, pixel, row, layer",
        ),
        (
            ["--model", "tfc", "--weights", "syq", "--syq-group", "row"],
            "--syq-group applies to the convolutions of mnist_cnn with syq or syq_binary weights "
            "(got --model tfc --weights syq)",
        ),
        (
            ["--model", "mnist_cnn", "--weights", "ternary", "--syq-group", "row"],
            "--syq-group applies to the convolutions of mnist_cnn",
        ),
    ],
)
def test_train_bad_arguments(args, msg, tmp_path, capsys):
    assert main(["train", "-o", str(tmp_path / "m.onnx")] + args) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists()
