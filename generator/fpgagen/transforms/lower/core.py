"""The lowering run, the rule registry and the pass that applies the rules node by node.

A :class:`Lowering` holds what every tensor *is* (:class:`~.values.FloatV` or
:class:`~.values.IntV`), the hardware layers emitted so far and the host head. It reads the
input :class:`~fpgagen.ir.Graph` and never changes it: constants that lowering creates (biases
moved into the host tail) go into the run's own ``consts``.

Rules (:class:`LoweringRule`, registered with :func:`lowering_rule`) lower one ONNX node whose
tensor input(s) are integer streams. :class:`LowerNextNode` is the ``Transformation`` that lowers
the next node with its rule; :func:`lower` applies it until every node is lowered.
"""

from __future__ import annotations

import abc
import copy

import numpy as np

from ...dataflow import Dataflow, HostTail
from ...errors import UnsupportedModelError
from ...ir import Graph, Node
from ...layers import DuplicateStreams, LabelSelect, sanitize
from ..base import Transformation, apply_until_fixpoint
from .head import lower_host_node
from .values import FloatV, IntV

__all__ = [
    "LowerNextNode",
    "Lowering",
    "LoweringRule",
    "lower",
    "lowering_rule",
    "rules_for",
    "unregister_rule",
]


class LoweringRule(abc.ABC):
    """Lowers one ONNX node whose tensor input(s) are integer streams.

    Subclasses name the ONNX ``ops`` they handle and implement :meth:`lower`, which emits
    hardware layers through the :class:`Lowering` (``lw.add``) and returns the
    :class:`~.values.IntV` of the node's output. A rule raises
    :class:`~fpgagen.errors.UnsupportedModelError` (naming the node) for what it cannot lower.
    """

    #: ONNX op types this rule handles
    ops: tuple[str, ...] = ()
    #: how many stream inputs the rule takes (in the node's input order)
    inputs: int = 1
    #: True when the rule accepts an input with deferred max-pools (see ``IntV.pools``);
    #: otherwise such an input is rejected before the rule runs
    takes_pooled: bool = False
    #: rules for the same op are tried from the highest priority down
    priority: int = 0

    def applies(self, lw: Lowering, node: Node) -> bool:
        """Whether this rule handles ``node`` (the first applicable rule of its op runs)."""
        return True

    @abc.abstractmethod
    def lower(self, lw: Lowering, node: Node, *xs: IntV) -> IntV:
        """Lower ``node`` whose stream inputs are ``xs``; returns its output value."""


_RULES: dict[str, list[LoweringRule]] = {}


def lowering_rule(cls: type[LoweringRule]) -> type[LoweringRule]:
    """Class decorator: register an instance of ``cls`` for each op in ``cls.ops``."""
    if not cls.ops:
        raise TypeError(f"lowering rule {cls.__name__} names no ONNX ops")
    rule = cls()
    for op in cls.ops:
        rules = [r for r in _RULES.get(op, []) if type(r) is not cls]
        rules.append(rule)
        rules.sort(key=lambda r: -r.priority)  # stable: registration order within a priority
        _RULES[op] = rules
    return cls


def unregister_rule(cls: type[LoweringRule]) -> None:
    """Remove the rule ``cls`` from every op it was registered for."""
    for op in list(_RULES):
        _RULES[op] = [r for r in _RULES[op] if type(r) is not cls]
        if not _RULES[op]:
            del _RULES[op]


def rules_for(op: str) -> list[LoweringRule]:
    """The rules registered for ONNX op ``op``, in the order they are tried."""
    return list(_RULES.get(op, []))


class Lowering:
    """One lowering run over ``graph`` (read only); :meth:`finish` gives the Dataflow."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.source = graph.source
        self.shapes = graph.shapes
        self.qconsts = graph.qconsts
        #: the graph's constants plus the ones lowering adds (a new dict; arrays never written)
        self.consts: dict = dict(graph.consts)
        self.vals: dict = {graph.inputs[0]: FloatV(graph.shapes[graph.inputs[0]])}
        self.layers: list = []
        self.head = None
        self.head_nodes: list = []
        self.position = 0  # index of the next node to lower
        self._names: set = set()
        self._uses: dict = {}
        self._forks: dict = {}
        for n in graph.nodes:
            for t in n.inputs:
                if t and t not in graph.consts:
                    self._uses[t] = self._uses.get(t, 0) + 1

    # -- helpers for rules ---------------------------------------------------------------------
    def where(self, node: Node) -> str:
        """Prefix for error messages: ``<file>: node 'name' (op X)``."""
        return self.graph.where(node)

    def shape(self, tensor: str) -> tuple:
        """ONNX shape of ``tensor`` (batch 1)."""
        return tuple(self.shapes[tensor])

    def uniq(self, base: str) -> str:
        """A layer name made from ``base`` that no other layer of this run has."""
        name = sanitize(base)
        k, out = 0, name
        while out in self._names:
            k += 1
            out = f"{name}_{k}"
        self._names.add(out)
        return out

    def add(self, layer, ins: list) -> list:
        """Append ``layer`` reading streams ``ins``; returns the names of its output streams."""
        layer.ins = list(ins)
        layer.outs = [f"s_{layer.name}"] + [
            f"s_{layer.name}_{i}" for i in range(1, len(layer.out_ports))
        ]
        self.layers.append(layer)
        return layer.outs

    def add_bias(self, v: IntV, node: Node, suffix: str, value: np.ndarray) -> None:
        """Make ``v``'s float image add the constant ``value`` (a Gemm/Conv bias) on the host."""
        key = f"{node.inputs[2]}__{suffix}"
        self.consts[key] = value
        v.post = [Node("Add", node.name + "_bias", ["__x__", key], ["__y__"])]
        v.direction = np.ones(v.channels)

    def dyn_inputs(self, node: Node) -> list:
        """Names of the node's non-constant inputs."""
        return [t for t in node.inputs if t and t not in self.consts]

    def take(self, tensor: str, node: Node) -> IntV:
        """The value of ``tensor`` for one consumer (duplicating streams used several times)."""
        v = self.vals[tensor]
        n = self._uses.get(tensor, 1)
        if not isinstance(v, IntV) or n <= 1:
            return v
        if tensor not in self._forks:
            if v.pools:
                raise UnsupportedModelError(
                    f"{self.where(node)}: a max-pooled accumulator feeds several nodes"
                )
            if v.pending:
                v.src.set_thresholds(None)
            copies, stream = [], v.stream
            for _i in range(n - 1):
                dup = DuplicateStreams(
                    self.uniq(f"dup_{tensor}"), v.dtype, v.channels, 1, v.num_vectors
                )
                o0, o1 = self.add(dup, [stream])
                copies.append(o0)
                stream = o1
            copies.append(stream)
            self._forks[tensor] = [copy.copy(v) for _ in copies]
            for c, s in zip(self._forks[tensor], copies):
                c.stream, c.src = s, "dup"
        return self._forks[tensor].pop(0)

    # -- one node ------------------------------------------------------------------------------
    def lower_node(self, node: Node) -> None:
        """Lower one node: host pre-processing, or the registered rule of its op."""
        ins = [self.vals.get(t) for t in self.dyn_inputs(node)]
        if any(isinstance(v, FloatV) for v in ins) or not ins:
            if any(isinstance(v, IntV) for v in ins):
                raise UnsupportedModelError(
                    f"{self.where(node)} mixes float host-side and quantized tensors"
                )
            lower_host_node(self, node)
            return
        rule = next((r for r in rules_for(node.op_type) if r.applies(self, node)), None)
        dyn = self.dyn_inputs(node)
        xs = [self.take(t, node) for t in dyn[: rule.inputs if rule else 1]]
        if (rule is None or not rule.takes_pooled) and xs[0].pools:
            raise UnsupportedModelError(
                f"{self.where(node)}: a MaxPool on an accumulator must be followed by a quantizer"
            )
        if rule is None:
            raise UnsupportedModelError(f"{self.where(node)} is not supported here")
        self.vals[node.outputs[0]] = rule.lower(self, node, *xs)

    # -- the end -------------------------------------------------------------------------------
    def finish(self) -> Dataflow:
        """The dataflow: the head, the layers and the host tail after the last layer."""
        g = self.graph
        out = self.vals[g.outputs[0]]
        if not isinstance(out, IntV) or not self.layers:
            raise UnsupportedModelError(
                f"{g.source}: no quantized layer found; the model must contain a quantized "
                "MatMul/Gemm/Conv (export it with Brevitas quantized layers)"
            )
        if out.pools:
            raise UnsupportedModelError(
                f"{g.source}: the model ends in a MaxPool on an accumulator; quantize first"
            )
        if out.pending:
            out.src.set_thresholds(None)
        if out.perm is not None and not np.array_equal(out.perm, np.arange(len(out.perm))):
            raise UnsupportedModelError(f"{g.source}: the output is a flattened feature map")
        c = len(out.lo)
        work = tuple(out.shape)
        if len(work) == 4:  # stream is NHWC; the tail works on NCHW
            work = ("nhwc",) + work
        tail = HostTail(
            np.broadcast_to(out.a, (c,)).copy(),
            np.broadcast_to(out.b, (c,)).copy(),
            out.post,
            dict(self.consts),
            tuple(g.shapes[g.outputs[0]]),
            work,
            integer=isinstance(out.src, LabelSelect),
        )
        producers = [l for l in self.layers if out.stream in l.outs]
        if not producers or producers[0] is not self.layers[-1]:
            raise UnsupportedModelError(f"{g.source}: the graph output is not the last layer")
        name = sanitize(g.source.rsplit("/", 1)[-1].rsplit(".", 1)[0])
        return Dataflow(name, g.source, self.head, self.layers, tail)


class LowerNextNode(Transformation):
    """Lower the next node of a :class:`Lowering` with its rule; no change after the last."""

    def apply(self, lw: Lowering):
        if lw.position >= len(lw.graph.nodes):
            return lw, False
        lw.lower_node(lw.graph.nodes[lw.position])
        lw.position += 1
        return lw, True


def lower(graph: Graph) -> Dataflow:
    """Lower a loaded IR graph to an (unfolded) dataflow; ``graph`` is left unchanged."""
    lw = apply_until_fixpoint(Lowering(graph), LowerNextNode(), max_iterations=len(graph.nodes) + 1)
    return lw.finish()
