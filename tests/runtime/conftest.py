"""Fixtures of the runtime tests: small builds (MLP and CNN on the ZCU104, an MLP on AWS F1)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from fpgagen.flow import build

from tests.support.qonnx_graphs import small_cnn, small_mlp


def _quiet(_s):
    pass


@pytest.fixture(scope="session")
def builds(tmp_path_factory):
    """name -> (outdir, model path, inputs): small MLP and CNN on the ZCU104, MLP on F1."""
    root = tmp_path_factory.mktemp("rt_builds")
    rng = np.random.default_rng(3)
    out = {}
    cases = [
        ("mlp", small_mlp(), "zcu104", rng.uniform(-2, 2, (7, 16))),
        ("cnn", small_cnn(), "zcu104", rng.uniform(0, 1, (5, 3, 8, 8))),
        ("mlp_f1", small_mlp(seed=1), "aws-f1", rng.uniform(-2, 2, (5, 16))),
    ]
    for name, model, board, x in cases:
        path = root / f"{name}.onnx"
        onnx.save(model, path)
        od = root / name
        build(path, board, od, backend="rtl", progress=_quiet)
        xp = root / f"{name}_x.npy"
        np.save(xp, x.astype(np.float32))
        out[name] = (od, path, xp)
    return out
