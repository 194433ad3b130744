"""Transformation base class (the QONNX ``Transformation`` pattern)."""

from __future__ import annotations

import abc

__all__ = ["Transformation", "apply_until_fixpoint"]


class Transformation(abc.ABC):
    """A graph pass: ``apply(graph) -> (graph, changed)``."""

    @abc.abstractmethod
    def apply(self, graph):
        """Return the transformed graph and whether anything changed."""


def apply_until_fixpoint(graph, transformation: Transformation, max_iterations: int = 1000):
    """Apply a transformation until it reports no change; raises instead of looping forever."""
    for _ in range(max_iterations):
        graph, changed = transformation.apply(graph)
        if not changed:
            return graph
    raise RuntimeError(
        f"{type(transformation).__name__} did not converge within {max_iterations} iterations"
    )
