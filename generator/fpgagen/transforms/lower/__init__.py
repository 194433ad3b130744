"""Streamline and lower a QONNX graph to the hardware dataflow, as rules.

Lowering walks the graph once, in topological order (:class:`~.core.LowerNextNode`, one node
per step), tracking what every tensor *is*:

* :class:`~.values.FloatV` — a float tensor on the host, before the first quantizer (input
  pre-processing; :mod:`.head`);
* :class:`~.values.IntV` — an integer stream ``q`` produced by the head or a hardware layer,
  with the float function that gives the ONNX tensor from it: ``post(float32(a * q + b))``.

A node with stream inputs is lowered by the rule registered for its op (docs/architecture.md,
"Lowering rules"; docs/streamlining.md has the arithmetic):

=====================  ==========================================  ==================
module                 ONNX ops                                    hardware layers
=====================  ==========================================  ==================
:mod:`.matmul`         MatMul, Gemm                                MVAU
:mod:`.conv`           Conv                                        FMPadding, SlidingWindow, MVAU / VVAU
:mod:`.pooling`        MaxPool, AveragePool, GlobalAveragePool     FMPadding, SlidingWindow, Pool, GlobalAccPool
:mod:`.residual`       Add of two streams                          AddStreams (DuplicateStreams at forks)
:mod:`.activations`    Quant, BipolarQuant, Trunc; Mul, Add, Sub,  thresholds on the MVAU/VVAU, Thresholding
                       Div, Neg, Relu, BatchNormalization, Identity
:mod:`.reshape`        Reshape, Flatten (Transpose: rejected)      none
:mod:`.label_select`   TopK, ArgMax                                LabelSelect
=====================  ==========================================  ==================

Whatever follows the last hardware layer becomes the host tail. The input graph is never
changed. An op without a rule gets ``UnsupportedModelError("<file>: node 'n' (op X) is not
supported here")``.
"""

from __future__ import annotations

# importing the rule modules registers their rules
from . import activations, conv, label_select, matmul, pooling, reshape, residual  # noqa: F401
from .core import (
    Lowering,
    LoweringRule,
    LowerNextNode,
    lower,
    lowering_rule,
    rules_for,
    unregister_rule,
)
from .values import FloatV, IntV

__all__ = [
    "FloatV",
    "IntV",
    "LowerNextNode",
    "Lowering",
    "LoweringRule",
    "lower",
    "lowering_rule",
    "rules_for",
    "unregister_rule",
]
