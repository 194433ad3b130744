"""Sparse ternary training (after Faraone et al., ICONIP 2017).

Three stages on a model whose weights use the threshold ternary quantizer ("ternary" or
"syq"; see :mod:`fpgagen.models.quantizers`):

1. **Regularised training**: the task loss plus ``l2 * sum(W^2)`` plus a *quantisation
   threshold regulariser* ``lam * sum(|W| for |W| <= delta)`` over every ternary layer, with
   ``delta = prune_frac * max|W|`` of that layer.  The L1 pull acts only on the weights below
   the pruning threshold, driving them to zero without shrinking the weights that stay.
2. **Quantisation pruning**: every weight with ``|W| <= delta`` gets a fixed mask of 0, i.e.
   its ternary code is 0 from now on (the ternary threshold ``eta`` itself is unchanged).
3. **Retraining** with the masks fixed, so the kept weights adapt to the pruned ones.

:func:`sparse_ternary_train` returns the accuracy and the sparsity (fraction of zero ternary
weights, per layer and overall) after each stage.  Zero weights are what the hardware saves:
the weight memory of a sparse layer compresses and, per output row, fewer columns contribute.
"""

from __future__ import annotations

import torch
from torch import nn

from .quantizers import threshold_quantizers, weight_stats
from .train import evaluate, train

__all__ = ["prune", "sparse_ternary_train", "threshold_regularizer"]


def threshold_regularizer(model: nn.Module, prune_frac: float, lam: float, l2: float):
    """The stage-1 regulariser as a function ``model -> scalar tensor``."""
    layers = [layer for layer, _tq in threshold_quantizers(model)]
    if not layers:
        raise ValueError(
            "sparse ternary training needs ternary or SYQ weights (fpgagen.models.quantizers)"
        )

    def reg(_model) -> torch.Tensor:
        total = 0.0
        for layer in layers:
            w = layer.weight
            delta = prune_frac * w.detach().abs().max()
            small = (w.detach().abs() <= delta).to(w.dtype)
            total = total + lam * (w.abs() * small).sum() + l2 * (w * w).sum()
        return total

    return reg


@torch.no_grad()
def prune(model: nn.Module, prune_frac: float) -> None:
    """Quantisation pruning: fix the codes of all weights with ``|W| <= prune_frac*max|W|`` to 0."""
    for layer, tq in threshold_quantizers(model):
        w = layer.weight
        keep = w.abs() > prune_frac * w.abs().max()
        tq.mask = keep if tq.mask is None else (tq.mask & keep)


def sparse_ternary_train(
    model: nn.Module,
    data,
    epochs: int = 10,
    retrain_epochs: int | None = None,
    prune_frac: float = 0.5,
    lam: float = 1e-3,
    l2: float = 1e-5,
    seed: int = 0,
    progress: bool = True,
    **train_kw,
) -> dict:
    """Regularised training, quantisation pruning and retraining of ``model`` (in place).

    Returns ``dict(stages=[dict(stage, test_acc, sparsity)], test_acc, sparsity, layers,
    seconds)``; ``layers`` is the per-layer table of :func:`weight_stats` after retraining.
    """
    if retrain_epochs is None:
        retrain_epochs = max(1, epochs // 2)
    x_te, y_te = data[2], data[3]
    reg = threshold_regularizer(model, prune_frac, lam, l2)
    stages, seconds = [], 0.0

    r = train(model, data, epochs=epochs, seed=seed, progress=progress, regularizer=reg, **train_kw)
    seconds += r["seconds"]
    stages.append(
        dict(stage="regularised", test_acc=r["test_acc"], sparsity=weight_stats(model)["sparsity"])
    )

    prune(model, prune_frac)
    stages.append(
        dict(
            stage="pruned",
            test_acc=evaluate(model, x_te, y_te),
            sparsity=weight_stats(model)["sparsity"],
        )
    )

    r = train(model, data, epochs=retrain_epochs, seed=seed + 1, progress=progress, **train_kw)
    seconds += r["seconds"]
    stats = weight_stats(model)
    stages.append(dict(stage="retrained", test_acc=r["test_acc"], sparsity=stats["sparsity"]))
    return dict(
        stages=stages,
        test_acc=r["test_acc"],
        sparsity=stats["sparsity"],
        layers=stats["layers"],
        seconds=seconds,
    )
