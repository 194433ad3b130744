"""fpgagen: quantized neural networks (QONNX) to streaming FPGA dataflow accelerators."""

__version__ = "0.1.0"

__all__ = ["__version__"]
