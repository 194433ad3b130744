"""The host head: float pre-processing up to the first quantizer, run on the host as ONNX runs
it; the quantizer's integer codes are what enters the hardware."""

from __future__ import annotations

import numpy as np

from ...dataflow import Dataflow, HostHead
from ...errors import UnsupportedModelError
from ...ir import Node
from .quantizers import out_scale, quantizer
from .values import FloatV, IntV

__all__ = ["QUANTIZERS", "lower_host_node"]

QUANTIZERS = ("Quant", "BipolarQuant", "Trunc")


def lower_host_node(lw, node: Node) -> None:
    """Lower a node whose inputs are host floats: the input quantizer becomes the host head
    (its output an integer stream); any other node stays on the host before it."""
    if node.op_type in QUANTIZERS:
        if lw.head is not None:
            raise UnsupportedModelError(
                f"{lw.where(node)}: a second quantizer on a float input; only one input "
                "quantizer is supported"
            )
        qz = quantizer(lw, node)
        shape = lw.shape(node.outputs[0])
        if len(shape) not in (2, 4):
            raise UnsupportedModelError(
                f"{lw.where(node)}: input tensors of rank {len(shape)} are not supported; "
                "use (N, C) or (N, C, H, W)"
            )
        c = shape[1]
        s, z = out_scale(lw, node, qz, shape)
        inp = lw.graph.inputs[0]
        lw.head = HostHead(
            inp,
            lw.shape(inp),
            list(lw.head_nodes),
            dict(lw.consts),
            node,
            qz.dtype,
            int(np.prod(shape[1:])),
        )
        lw.head.nhwc_shape = (shape[1],) + tuple(shape[2:])
        lw.vals[node.outputs[0]] = IntV(
            "head",
            Dataflow.INPUT,
            qz.dtype,
            shape,
            np.full(c, qz.qmin),
            np.full(c, qz.qmax),
            s,
            -s * z,
        )
        return
    if node.op_type in ("MatMul", "Gemm", "Conv"):
        raise UnsupportedModelError(
            f"{lw.where(node)} consumes a float (non-quantized) tensor; put a quantizer "
            "(e.g. brevitas QuantIdentity) in front of it"
        )
    lw.head_nodes.append(node)
    lw.vals[node.outputs[0]] = FloatV(lw.graph.shapes[node.outputs[0]])
