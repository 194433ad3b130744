"""The golden model (head + integer hardware layers + tail) against QONNX's executor."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("qonnx")

from fpgagen.boards import load_board
from fpgagen.flow import argmax_agree, make_dataflow
from fpgagen.models.export import qonnx_execute

PRESETS = [
    "tiny_w1a1",
    "tiny_w1a2",
    "tiny_w2a2",
    "tiny_ternary_odd",
    "tiny_w4a4",
    "tiny_w8a8",
    "tfc_w1a1",
    "tfc_w1a2",
    "tfc_w2a2",
    "mlp_ternary_odd",
    # model-zoo variants: threshold ternary and SYQ (per-row fixed-point scales)
    "tfc_ternary",
    "tfc_syq",
    "sfc_ternary",
    "sfc_syq",
    "lfc_w1a2",
]

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("seed", [0, 1])
def test_golden_matches_qonnx(name, seed, preset_onnx):
    path = preset_onnx(name, seed)
    df = make_dataflow(path, load_board("zcu104"))
    in_features = df.head.input_shape[1]
    rng = np.random.default_rng(seed)
    x = rng.random((32, in_features), dtype=np.float32)
    ref = qonnx_execute(path, x)
    gold = df.golden(x)
    y = gold["y"]
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, atol=1e-4, rtol=1e-5)
    assert argmax_agree(y, ref)
    # non-trivial: the hardware output is not constant over the batch
    assert len({tuple(r) for r in gold["hw_out"]}) > 1


def test_hidden_activations_match_qonnx_intermediates(preset_onnx):
    """Each thresholded layer's integer output equals QONNX's quantizer codes."""
    from fpgagen.models.export import load_clean_model
    from qonnx.core.onnx_exec import execute_onnx

    path = preset_onnx("tiny_w2a2", 0)
    df = make_dataflow(path, load_board("zcu104"))
    m = load_clean_model(path)
    x = np.random.default_rng(3).random((1, 64), dtype=np.float32)
    ctx = execute_onnx(m, {m.graph.input[0].name: x}, return_full_exec_context=True)
    quant_outs = [
        n.output[0]
        for n in m.graph.node
        if n.op_type == "Quant" and n.input[0] not in [i.name for i in m.graph.initializer]
    ]
    trace = {}
    df.run_layers(df.hw_input(x), trace)
    acts = [trace[l.name] for l in df.compute_layers if l.out_dtype.bits <= 8]
    scales = [ctx[n.input[1]] for n in m.graph.node if n.output[0] in quant_outs]
    # quant_outs[0] is the input quantizer (host head); the rest follow the MVAUs in order
    for act, qo, s in zip(acts, quant_outs[1:], scales[1:]):
        np.testing.assert_array_equal(act.reshape(ctx[qo].shape), np.round(ctx[qo] / s))
