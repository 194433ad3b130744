"""Frontend: read a QONNX model into the fpgagen IR, fold constants, infer shapes, check ops."""

from .onnx_import import SUPPORTED_OPS, load_model

__all__ = ["SUPPORTED_OPS", "load_model"]
