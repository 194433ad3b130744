"""The ONNX-level graph IR used by the frontend and streamlining.

A :class:`Graph` is a topologically ordered list of :class:`Node` objects plus constant
tensors. It is deliberately small: it keeps exactly what the passes need and can always be
executed by :func:`fpgagen.frontend.float_exec.execute`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Graph", "Node", "QuantizedConst"]


@dataclass
class QuantizedConst:
    """A constant that came out of a quantizer: ``value = (codes - zeropt) * scale``.

    All three arrays have the full shape of the constant; ``dtype`` is the integer type of
    the codes (BIPOLAR, TERNARY, INTn or UINTn).
    """

    codes: np.ndarray
    scale: np.ndarray
    zeropt: np.ndarray
    dtype: object


@dataclass
class Node:
    """One operator: ``outputs = op_type(inputs; attrs)``."""

    op_type: str
    name: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    domain: str = ""

    def describe(self) -> str:
        return f"node {self.name!r} (op {self.op_type})"


@dataclass
class Graph:
    """Nodes in topological order, graph inputs/outputs, constants and known shapes."""

    nodes: list
    inputs: list  # names of the (single) graph input(s)
    outputs: list
    consts: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    source: str = "<model>"
    #: constants produced by folding a quantizer: name -> QuantizedConst
    qconsts: dict = field(default_factory=dict)

    def copy(self) -> Graph:
        return copy.deepcopy(self)

    def producer(self, tensor: str):
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list:
        return [n for n in self.nodes if tensor in n.inputs]

    def is_const(self, tensor: str) -> bool:
        return tensor in self.consts

    def const(self, tensor: str) -> np.ndarray:
        return self.consts[tensor]

    def where(self, node: Node) -> str:
        """Prefix for error messages: ``<file>: node 'name' (op X)``."""
        return f"{self.source}: {node.describe()}"
