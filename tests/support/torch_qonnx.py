"""Torch == QONNX on a Brevitas model, with an explanation for rounding ties.

Both evaluate the same float graph, but in a different order of float32 operations; a value
that lands (almost) exactly on a rounding boundary of an activation quantizer can then round
differently and change later layers.  :func:`assert_torch_matches_qonnx` accepts a sample whose
outputs differ only when that is the explanation: at the first activation quantizer whose
outputs differ, both inputs agree to float precision and only a handful of codes differ.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from fpgagen.models.export import load_clean_model, qonnx_execute, torch_predict

__all__ = ["assert_torch_matches_qonnx"]


def _torch_act_io(model, x):
    """(input, output) of every activation quantizer call of ``model`` on the batch ``x``, in
    order (the input after the layer's ReLU for QuantReLU, as the exported Relu -> Quant sees it).

    Run on the same batch as the prediction being explained: PyTorch may pick a different
    convolution algorithm for another batch size, which moves float rounding and so the ties."""
    from brevitas.nn import QuantReLU
    from brevitas.nn.quant_layer import QuantNonLinearActLayer

    seen = []

    def hook(mod, inp, out):
        v = inp[0].value if hasattr(inp[0], "value") else inp[0]
        if isinstance(mod, QuantReLU):
            v = torch.relu(v)
        o = out.value if hasattr(out, "value") else out
        seen.append((v.detach().numpy().copy(), o.detach().numpy().copy()))

    hooks = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, QuantNonLinearActLayer)
    ]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            was = model.training
            model.eval()
            model(torch.as_tensor(np.asarray(x, dtype=np.float32)))
            model.train(was)
    finally:
        for h in hooks:
            h.remove()
    return seen


def _qonnx_act_io(mw, x1):
    """(input, output) of every activation Quant/BipolarQuant node of the cleaned QONNX model."""
    from qonnx.core.onnx_exec import execute_onnx

    iname = mw.graph.input[0].name
    ctx = execute_onnx(mw, {iname: x1}, return_full_exec_context=True)
    out = []
    for n in mw.graph.node:
        if n.op_type in ("Quant", "BipolarQuant") and mw.get_initializer(n.input[0]) is None:
            out.append((ctx[n.input[0]], ctx[n.output[0]]))
    return out


def assert_torch_matches_qonnx(model, onnx_path, x, atol: float = 1e-4, max_flips: int = 4):
    """Torch == QONNX on every sample within ``atol``, or differing only through a rounding tie.

    Returns ``(max abs error over the samples that agree, number of tie-explained samples)``.
    """
    y_t = torch_predict(model, x)
    mw = load_clean_model(onnx_path)
    y_q = qonnx_execute(onnx_path, x, model=mw)
    assert y_q.shape == y_t.shape
    y_t2, y_q2 = y_t.reshape(len(x), -1), y_q.reshape(len(x), -1)
    errs = np.abs(y_t2 - y_q2).max(1)
    ishape = tuple(mw.get_tensor_shape(mw.graph.input[0].name))
    flipped = 0
    t_batch = None
    for i in np.flatnonzero(errs > atol * np.maximum(1.0, np.abs(y_q2).max(1))):
        x1 = np.asarray(x[i : i + 1], dtype=np.float32).reshape(ishape)
        if t_batch is None:
            t_batch = _torch_act_io(model, x)
        t_io = [(ti[i : i + 1], to[i : i + 1]) for ti, to in t_batch]
        q_io = _qonnx_act_io(mw, x1)
        assert len(t_io) == len(q_io), (len(t_io), len(q_io))
        for k, ((ti, to), (qi, qo)) in enumerate(zip(t_io, q_io)):
            diff = np.abs(to.reshape(qo.shape) - qo) > 1e-6 * max(1.0, float(np.abs(qo).max()))
            if not diff.any():
                continue
            tol = 1e-5 * max(1.0, float(np.abs(qi).max()))
            in_err = float(np.abs(ti.reshape(qi.shape) - qi).max())
            assert in_err <= tol, (
                f"sample {i}: activation quantizer {k} sees inputs differing by {in_err:.3g} "
                "(more than float rounding): torch and QONNX compute different functions"
            )
            assert diff.sum() <= max_flips, (
                f"sample {i}: {int(diff.sum())} codes of activation quantizer {k} differ"
            )
            flipped += 1
            break
        else:
            raise AssertionError(
                f"sample {i}: outputs differ by {errs[i]:.3g} with identical activation codes"
            )
    ok = errs <= atol * np.maximum(1.0, np.abs(y_q2).max(1))
    assert ok.sum() >= len(x) // 2, f"only {int(ok.sum())}/{len(x)} samples agree"
    return float(errs[ok].max()), flipped
