"""Export Brevitas models to QONNX and run the QONNX reference executor / PyTorch forward.

* :func:`export_qonnx_model` -- eval mode, ``dynamo=False``, warnings silenced; threshold-
  quantized weights (ternary, SYQ) are baked on a copy first so QONNX reproduces them exactly.
* :func:`qonnx_execute` -- ``cleanup_model`` then ``execute_onnx``, one sample at a time when
  the exported graph has a fixed batch dimension of 1; returns the stacked outputs.
* :func:`torch_predict` -- eval-mode forward under ``torch.no_grad`` as a numpy array.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from pathlib import Path

import numpy as np

__all__ = ["export_qonnx_model", "load_clean_model", "qonnx_execute", "torch_predict"]


def export_qonnx_model(model, input_shape, path) -> Path:
    """Export ``model`` (put in eval mode) to QONNX at ``path`` with an input of ``input_shape``.

    ``input_shape`` includes the batch dimension, e.g. ``(1, 784)``.  Returns ``Path(path)``.
    The file is the raw Brevitas export (no cleanup applied).
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from brevitas.export import export_qonnx

    from .quantizers import bake_quantized_weights, threshold_quantizers

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    if threshold_quantizers(model):
        model = bake_quantized_weights(copy.deepcopy(model))
    x = torch.rand(*input_shape)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            with torch.no_grad():
                export_qonnx(model, args=x, export_path=str(path), dynamo=False)
    finally:
        model.train(was_training)
    return path


def load_clean_model(onnx_path):
    """Return a qonnx ``ModelWrapper`` of ``onnx_path`` after ``cleanup_model``."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cleanup_model(ModelWrapper(str(onnx_path)))


def qonnx_execute(onnx_path, x: np.ndarray, model=None) -> np.ndarray:
    """Run QONNX's reference executor on batch ``x`` and return the stacked outputs.

    ``x`` is reshaped per sample to the graph's input shape when the graph's batch dim is 1
    (e.g. a (N, 784) batch for a graph with input (1, 784) or (1, 1, 28, 28)).  A pre-cleaned
    ``ModelWrapper`` may be passed as ``model`` to skip reloading.
    """
    from qonnx.core.onnx_exec import execute_onnx

    if model is None:
        model = load_clean_model(onnx_path)
    graph = model.graph
    iname = graph.input[0].name
    oname = graph.output[0].name
    ishape = tuple(model.get_tensor_shape(iname))
    x = np.asarray(x, dtype=np.float32)
    if ishape and ishape[0] == 1:
        per = ishape[1:]
        n = x.shape[0] if x.shape != ishape else 1
        xs = x.reshape((n, *per)) if per else x.reshape(n)
        outs = []
        for i in range(n):
            xi = xs[i].reshape(ishape)
            outs.append(execute_onnx(model, {iname: xi})[oname][0])
        return np.stack(outs)
    return np.asarray(
        execute_onnx(model, {iname: x.reshape(ishape) if x.size == np.prod(ishape) else x})[oname]
    )


def torch_predict(model, x) -> np.ndarray:
    """Eval-mode forward of ``model`` on ``x`` (numpy or tensor), as a float32 numpy array."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            xt = (
                torch.as_tensor(np.asarray(x, dtype=np.float32))
                if not torch.is_tensor(x)
                else x.float()
            )
            out = model(xt)
    finally:
        model.train(was_training)
    if hasattr(out, "value"):  # QuantTensor
        out = out.value
    return out.detach().cpu().numpy().astype(np.float32)
