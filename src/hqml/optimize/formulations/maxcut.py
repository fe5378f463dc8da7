"""Max-cut: split a graph's vertices in two, maximising the weight of the edges between."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from .base import Formulation, dimod_module


@dataclass
class Cut:
    """A cut: the two vertex sets and the total weight of the edges across."""

    left: set
    right: set
    value: float


class MaxCut(Formulation):
    """Max-cut of a weighted graph as a QUBO (no constraints, so no penalty).

    Variable ``x_v = 1`` puts vertex ``v`` on the right. An edge ``(u, v)`` of weight ``w`` is cut
    when ``x_u + x_v - 2 x_u x_v = 1``; the BQM minimises ``-sum_edges w (x_u + x_v - 2 x_u x_v)``,
    so its energy is minus the cut weight.

    Args:
        graph: a ``networkx.Graph`` (edge attribute ``weight``, default 1) or an iterable of
            ``(u, v)`` / ``(u, v, weight)`` tuples.

    >>> p = MaxCut([(0, 1), (1, 2), (2, 0)])
    >>> p.decode({0: 1, 1: 0, 2: 0}).value
    2.0
    """

    def __init__(self, graph: Any):
        self.edges: list[tuple[Hashable, Hashable, float]] = []
        self.nodes: list[Hashable] = []
        if hasattr(graph, "edges") and hasattr(graph, "nodes"):
            self.nodes = list(graph.nodes)
            items: Iterable = ((u, v, d.get("weight", 1.0)) for u, v, d in graph.edges(data=True))
        else:
            items = graph
        for e in items:
            if len(e) not in (2, 3):
                raise ValueError(f"an edge is (u, v) or (u, v, weight), got {e!r}")
            u, v = e[0], e[1]
            if u == v:
                raise ValueError(f"self-loop on {u!r}: a max-cut graph needs u != v")
            self.edges.append((u, v, float(e[2]) if len(e) == 3 else 1.0))
            for x in (u, v):
                if x not in self.nodes:
                    self.nodes.append(x)
        if not self.nodes:
            raise ValueError("the graph has no vertices")

    def to_bqm(self) -> Any:
        dimod = dimod_module()
        bqm = dimod.BinaryQuadraticModel({v: 0.0 for v in self.nodes}, {}, 0.0, "BINARY")
        for u, v, w in self.edges:
            bqm.add_linear(u, -w)
            bqm.add_linear(v, -w)
            bqm.add_quadratic(u, v, 2 * w)
        return bqm

    def cut_value(self, side: dict) -> float:
        """Total weight of edges whose ends have different ``side`` values."""
        return float(sum(w for u, v, w in self.edges if side[u] != side[v]))

    def decode(self, sample: dict) -> Cut:
        left = {v for v in self.nodes if sample[v] in (0, -1)}
        return Cut(left, set(self.nodes) - left, self.cut_value(sample))
