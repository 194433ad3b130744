"""``fpgagen video --reference``: the whole ONNX model in QONNX's executor (the oracle)."""

from __future__ import annotations

import numpy as np

__all__ = ["qonnx_runner"]


def qonnx_runner(onnx_path):
    """A function: one image ``(C, H, W)`` float32 -> the model's output ``(1, ...)``."""
    import warnings

    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = cleanup_model(ModelWrapper(str(onnx_path)))
    iname, oname = m.graph.input[0].name, m.graph.output[0].name

    def run(x):
        return execute_onnx(m, {iname: np.asarray(x, dtype=np.float32)[None]})[oname]

    return run
