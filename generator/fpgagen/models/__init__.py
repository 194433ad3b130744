"""Brevitas quantized MLP and CNN presets, datasets, training and QONNX export helpers.

Submodules import torch/brevitas; importing ``fpgagen.models`` itself is cheap (attributes are
resolved lazily on first access).

* :mod:`fpgagen.models.mlp` -- ``QuantMLP``, ``TensorNorm``, ``make_mlp``, ``randomize_bn``, ``PRESETS``
* :mod:`fpgagen.models.cnn` -- ``make_cnn``, ``CNN_PRESETS``, ``CNV_PRESETS``, ``randomize_bn2d``,
  ``cifar_like_images``, ``QuantCNV``, ``QuantMnistCNN``, ``MNIST_CNN_PRESETS``,
  ``QuantResNet``, ``QuantDWSepNet``
* :mod:`fpgagen.models.detector` -- ``TinierYOLO``, ``make_detector``, ``DETECTOR_PRESETS``,
  ``region_loss``, ``train_detector``
* :mod:`fpgagen.models.datasets` -- ``load_mnist5k``, ``load_digits_split``, ``as_images``,
  ``synthetic_shapes_detection``
* :mod:`fpgagen.models.train` -- ``train``, ``evaluate`` (import the function with
  ``from fpgagen.models.train import train``: ``fpgagen.models.train`` is the submodule)
* :mod:`fpgagen.models.export` -- ``export_qonnx_model``, ``qonnx_execute``, ``torch_predict``,
  ``load_clean_model``
"""

import importlib

_EXPORTS = {
    "QuantMLP": "mlp",
    "TensorNorm": "mlp",
    "make_mlp": "mlp",
    "randomize_bn": "mlp",
    "PRESETS": "mlp",
    "WEIGHT_TYPES": "mlp",
    "make_cnn": "cnn",
    "CNN_PRESETS": "cnn",
    "randomize_bn2d": "cnn",
    "cifar_like_images": "cnn",
    "QuantResNet": "cnn",
    "QuantDWSepNet": "cnn",
    "QuantCNV": "cnn",
    "CNV_PRESETS": "cnn",
    "QuantMnistCNN": "cnn",
    "MNIST_CNN_PRESETS": "cnn",
    "TinierYOLO": "detector",
    "make_detector": "detector",
    "DETECTOR_PRESETS": "detector",
    "region_loss": "detector",
    "train_detector": "detector",
    "load_mnist5k": "datasets",
    "load_digits_split": "datasets",
    "as_images": "datasets",
    "synthetic_shapes_detection": "datasets",
    "evaluate": "train",
    "export_qonnx_model": "export",
    "qonnx_execute": "export",
    "torch_predict": "export",
    "load_clean_model": "export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        mod = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
