"""Small deterministic CPU training loop for the quantized MLPs.

:func:`train` uses Adam with a cosine learning-rate decay (the learned SYQ scales in a
parameter group of their own, :func:`fpgagen.models.quantizers.optimizer_param_groups`),
cross-entropy loss (or bnn_pynq's squared hinge loss with ``loss="sqrhinge"``), clamps the latent weights of binary/ternary
layers to [-1, 1] after every step (as bnn_pynq does) and shows a tqdm progress bar when tqdm
is installed (plain per-epoch prints otherwise).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from .quantizers import CLIPPED_KINDS, optimizer_param_groups

__all__ = ["SqrHingeLoss", "evaluate", "train"]


class SqrHingeLoss(nn.Module):
    """Squared hinge loss on one-hot targets in {-1, +1} (as bnn_pynq)."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        t = -torch.ones_like(logits)
        t.scatter_(1, target.view(-1, 1), 1.0)
        return torch.clamp(1.0 - logits * t, min=0.0).pow(2).mean()


def evaluate(model: nn.Module, x, y, batch_size: int = 1000) -> float:
    """Top-1 accuracy of ``model`` (eval mode) on numpy/tensor data ``x``, ``y``."""
    was_training = model.training
    model.eval()
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    y = torch.as_tensor(np.asarray(y, dtype=np.int64))
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(x[i : i + batch_size])
            correct += int((out.argmax(1) == y[i : i + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(x), 1)


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable, False
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable, False
    # disable=None: no bar when the output is not a terminal (CI logs, make demo | tee)
    return tqdm(iterable, total=total, desc=desc, leave=False, disable=None), True


def train(
    model: nn.Module,
    data,
    epochs: int = 5,
    lr: float = 0.02,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = True,
    loss: str = "ce",
    weight_decay: float = 0.0,
    clip_weights: bool | None = None,
    num_threads: int | None = None,
    regularizer=None,
) -> dict:
    """Train ``model`` in place on ``data = (x_train, y_train, x_test, y_test)`` (numpy arrays).

    Deterministic for a given ``seed`` (torch/numpy seeds, fixed shuffling).  ``num_threads``
    optionally sets torch's intra-op thread count for the duration of the call.
    ``regularizer`` (``model -> scalar tensor``) is added to the loss of every step.

    Returns ``dict(test_acc, train_acc, epochs, seconds, history)`` where history is a list of
    per-epoch ``dict(epoch, loss, test_acc)``; the model is left in eval mode.
    """
    x_tr, y_tr, x_te, y_te = data
    x_tr = torch.as_tensor(np.asarray(x_tr, dtype=np.float32))
    y_tr = torch.as_tensor(np.asarray(y_tr, dtype=np.int64))
    torch.manual_seed(seed)
    np.random.seed(seed)
    gen = torch.Generator().manual_seed(seed)
    old_threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(num_threads)

    if clip_weights is None:
        clip_weights = getattr(model, "weights", None) in CLIPPED_KINDS
    criterion = SqrHingeLoss() if loss == "sqrhinge" else nn.CrossEntropyLoss()
    opt = torch.optim.Adam(optimizer_param_groups(model, weight_decay), lr=lr)
    n = len(x_tr)
    steps_per_epoch = math.ceil(n / batch_size)
    total_steps = max(epochs * steps_per_epoch, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total_steps) / total_steps))
    )

    history = []
    t0 = time.time()
    try:
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(n, generator=gen)
            batches = range(0, n, batch_size)
            it, has_bar = _progress(
                batches, steps_per_epoch, f"epoch {epoch + 1}/{epochs}", progress
            )
            tot_loss = 0.0
            for i in it:
                idx = perm[i : i + batch_size]
                if len(idx) < 2:  # BatchNorm needs > 1 sample in training mode
                    continue
                out = model(x_tr[idx])
                l = criterion(out, y_tr[idx])
                if regularizer is not None:
                    l = l + regularizer(model)
                opt.zero_grad(set_to_none=True)
                l.backward()
                opt.step()
                sched.step()
                if clip_weights and hasattr(model, "clip_weights"):
                    model.clip_weights(-1.0, 1.0)
                tot_loss += float(l.detach()) * len(idx)
                if has_bar:
                    it.set_postfix(loss=f"{float(l.detach()):.4f}")
            test_acc = evaluate(model, x_te, y_te)
            history.append(dict(epoch=epoch + 1, loss=tot_loss / n, test_acc=test_acc))
            if progress:
                print(
                    f"epoch {epoch + 1}/{epochs}: loss {tot_loss / n:.4f}  test_acc {test_acc:.4f}"
                    f"  ({time.time() - t0:.1f}s)",
                    flush=True,
                )
    finally:
        if num_threads:
            torch.set_num_threads(old_threads)
    model.eval()
    train_acc = evaluate(model, x_tr, y_tr)
    test_acc = evaluate(model, x_te, y_te)
    return dict(
        test_acc=test_acc,
        train_acc=train_acc,
        epochs=epochs,
        seconds=time.time() - t0,
        history=history,
    )
