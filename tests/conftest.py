"""Shared pytest fixtures/helpers.

* ``generator/`` is put on ``sys.path`` so ``import fpgagen`` works without installing.
* Helpers (plain functions, torch imported lazily):
    - ``preset_model(name, seed=0)`` -> the ``fpgagen.models.mlp`` preset ``name`` built with
      ``seed`` and ``randomize_bn(model, seed)``, in eval mode (cached per session).
    - ``exported_model(name, tmp_path_factory, seed=0)`` -> ``Path`` of that exact model exported
      to QONNX (raw Brevitas export, input shape ``(1, in_features)``; cached per session).
* Fixtures (session scope):
    - ``preset_onnx``: callable ``(name, seed=0) -> Path`` (= ``exported_model``).
    - ``preset_torch``: callable ``(name, seed=0) -> QuantMLP`` (= ``preset_model``).
    - ``mnist_samples``: ``(x, y)``, 16 MNIST-5k test images, x float32 (16, 784) in [0, 1].
    - ``digits_samples``: ``(x, y)``, 16 sklearn-digits test images, x float32 (16, 64) in [0, 1].
    - ``cnn_onnx``: callable ``(name, seed=0) -> Path``, the ``fpgagen.models.cnn`` preset
      ``name`` (``make_cnn(name, seed)``, randomized BN stats) exported to QONNX with input
      ``model.input_shape`` (raw Brevitas export; cached per session).
    - ``cnn_torch``: callable ``(name, seed=0) -> nn.Module``, that exact model (eval mode).
    - ``cifar_like_samples``: 8 synthetic images, float32 (8, 3, 32, 32) in [0, 1], fixed seed
      (``fpgagen.models.cnn.cifar_like_images(8, seed=0)``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# pytest-xdist runs one worker per core: one BLAS/torch thread each, or they oversubscribe
os.environ.setdefault("OMP_NUM_THREADS", "1")

_GENERATOR = Path(__file__).resolve().parents[1] / "generator"
if str(_GENERATOR) not in sys.path:
    sys.path.insert(0, str(_GENERATOR))


def _ci() -> bool:
    import os

    return bool(os.environ.get("CI"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failure: CI installs every tool the suite needs."""
    outcome = yield
    rep = outcome.get_result()
    if _ci() and rep.skipped and not item.get_closest_marker("allow_skip_in_ci"):
        rep.outcome = "failed"
        rep.longrepr = f"skipped in CI, where every tool must be installed: {rep.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    rep = outcome.get_result()
    if _ci() and rep.skipped:
        rep.outcome = "failed"
        rep.longrepr = f"module skipped in CI, where every tool must be installed: {rep.longrepr}"


_MODELS: dict = {}
_ONNX: dict = {}
_EXPORT_DIR: list = []


def preset_model(name: str, seed: int = 0):
    """Preset ``name`` with weights seeded by ``seed`` and randomized BN stats (eval mode)."""
    key = (name, seed)
    if key not in _MODELS:
        from fpgagen.models.mlp import make_mlp, randomize_bn

        model = make_mlp(name, seed=seed)
        randomize_bn(model, seed)
        model.eval()
        _MODELS[key] = model
    return _MODELS[key]


def exported_model(name: str, tmp_path_factory, seed: int = 0) -> Path:
    """QONNX export of ``preset_model(name, seed)`` in a session temp dir; returns its path."""
    key = (name, seed)
    if key not in _ONNX:
        from fpgagen.models.export import export_qonnx_model

        if not _EXPORT_DIR:
            _EXPORT_DIR.append(tmp_path_factory.mktemp("qonnx_models"))
        model = preset_model(name, seed)
        path = _EXPORT_DIR[0] / f"{name}_s{seed}.onnx"
        _ONNX[key] = export_qonnx_model(model, (1, model.in_features), path)
    return _ONNX[key]


@pytest.fixture(scope="session")
def preset_onnx(tmp_path_factory):
    return lambda name, seed=0: exported_model(name, tmp_path_factory, seed)


@pytest.fixture(scope="session")
def preset_torch():
    return preset_model


@pytest.fixture(scope="session")
def mnist_samples():
    from fpgagen.models.datasets import load_mnist5k

    _, _, x, y = load_mnist5k(0)
    return x[:16].copy(), y[:16].copy()


@pytest.fixture(scope="session")
def digits_samples():
    from fpgagen.models.datasets import load_digits_split

    _, _, x, y = load_digits_split(0)
    return x[:16].copy(), y[:16].copy()


_CNN_MODELS: dict = {}
_CNN_ONNX: dict = {}


def cnn_model(name: str, seed: int = 0):
    """CNN preset ``name`` built by ``make_cnn(name, seed)`` (randomized BN stats, eval mode)."""
    key = (name, seed)
    if key not in _CNN_MODELS:
        from fpgagen.models.cnn import make_cnn

        _CNN_MODELS[key] = make_cnn(name, seed=seed).eval()
    return _CNN_MODELS[key]


def exported_cnn(name: str, tmp_path_factory, seed: int = 0) -> Path:
    """QONNX export of ``cnn_model(name, seed)`` in a session temp dir; returns its path."""
    key = (name, seed)
    if key not in _CNN_ONNX:
        from fpgagen.models.export import export_qonnx_model

        if not _EXPORT_DIR:
            _EXPORT_DIR.append(tmp_path_factory.mktemp("qonnx_models"))
        model = cnn_model(name, seed)
        path = _EXPORT_DIR[0] / f"cnn_{name}_s{seed}.onnx"
        _CNN_ONNX[key] = export_qonnx_model(model, model.input_shape, path)
    return _CNN_ONNX[key]


@pytest.fixture(scope="session")
def cnn_onnx(tmp_path_factory):
    return lambda name, seed=0: exported_cnn(name, tmp_path_factory, seed)


@pytest.fixture(scope="session")
def cnn_torch():
    return cnn_model


@pytest.fixture(scope="session")
def cifar_like_samples():
    from fpgagen.models.cnn import cifar_like_images

    return cifar_like_images(8, seed=0)


@pytest.fixture(scope="session")
def ap_types():
    """Xilinx's ap_types headers (shipped in the hls4ml wheel), required for C simulation."""
    from fpgagen.errors import FpgagenError
    from fpgagen.sim.hls_csim import find_ap_types

    from tests.support.tools import require

    try:
        return find_ap_types()
    except FpgagenError as e:
        require(False, str(e))
