"""Local-structure features of a graph for predicting its QAOA max-cut angles.

At depth ``p`` an edge's energy only sees the nodes within distance ``p`` of it (the light cone),
so what sets the optimal angles is local: the degrees around an edge and the short cycles
inside its light cone. A ring of 10 nodes and one of 64 look the same to a ``p = 3`` edge; a
random 3-regular graph of 12 nodes has many short cycles, one of 64 few. These features say
that directly (cycle densities and the light cone's excess over a tree), where the size ``1/n``
says it only for graphs like the training ones.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

STRUCTURE_FEATURES = (
    "1/sqrt(d)",
    "1/d",
    "degree cv",
    "triangles per edge",
    "4-cycles per edge",
    "leaf fraction",
    "degree-2 fraction",
    "light-cone excess r=1",
    "light-cone excess r=2",
    "light-cone excess r=3",
)


def _neighbours(graph: Any) -> list[list[int]]:
    nb: list[list[int]] = [[] for _ in range(graph.n)]
    for a, b in graph.edges:
        nb[a].append(b)
        nb[b].append(a)
    return nb


def light_cone_excess(graph: Any, radius: int) -> float:
    """Mean over edges of the cyclomatic number (edges - nodes + 1) of the ball of ``radius``
    around the edge, divided by the ball's nodes: 0 when every ball is a tree, 1/2 when a
    3-regular graph's balls cover all of it."""
    nb = _neighbours(graph)
    out = []
    for a, b in graph.edges:
        dist = {a: 0, b: 0}
        todo = deque((a, b))
        while todo:
            v = todo.popleft()
            if dist[v] < radius:
                for w in nb[v]:
                    if w not in dist:
                        dist[w] = dist[v] + 1
                        todo.append(w)
        inside = sum(1 for v in dist for w in nb[v] if w in dist) // 2
        out.append((inside - len(dist) + 1) / len(dist))
    return float(np.mean(out))


def structure_features(graph: Any) -> np.ndarray:
    """The features of :data:`STRUCTURE_FEATURES`, in that order (no bias, no size term).

    Cycle counts from traces of powers of the adjacency matrix: triangles ``tr(A^3) / 6`` and
    4-cycles ``(tr(A^4) - 2 sum d^2 + 2|E|) / 8``, each counted per edge they lie on (3 and 4
    edges per cycle).
    """
    adj = np.zeros((graph.n, graph.n))
    for a, b in graph.edges:
        adj[a, b] = adj[b, a] = 1
    deg = adj.sum(axis=1)
    m, mean = len(graph.edges), deg.mean()
    a2 = adj @ adj
    triangles = float(np.einsum("ij,ji->", a2, adj)) / 6
    four_cycles = (float(np.einsum("ij,ji->", a2, a2)) - 2 * (deg**2).sum() + 2 * m) / 8
    return np.array(
        [
            1 / np.sqrt(mean),
            1 / mean,
            deg.std() / mean,
            3 * triangles / m,
            4 * four_cycles / m,
            float(np.mean(deg == 1)),
            float(np.mean(deg == 2)),
            *(light_cone_excess(graph, r) for r in (1, 2, 3)),
        ]
    )


class AngleExtrapolationWarning(UserWarning):
    """The graph's degree or triangle features lie outside those the model was trained on."""


def warn_if_outside(
    graph: Any,
    features: np.ndarray,
    feature_range: tuple[np.ndarray, np.ndarray],
    names: Sequence[str],
    checked: Sequence[int],
) -> None:
    """Warn (:class:`AngleExtrapolationWarning`, at the caller of ``predict``) when a checked
    feature of ``graph`` lies outside the training graphs' range ``(low, high)``."""
    lo, hi = feature_range
    out = [
        f"{names[i]} = {features[i]:.3g} (trained on {lo[i]:.3g}..{hi[i]:.3g})"
        for i in checked
        if not lo[i] - 1e-9 <= features[i] <= hi[i] + 1e-9
    ]
    if out:
        warnings.warn(
            f"{graph.n}-node graph outside the training graphs: {'; '.join(out)}; the"
            " predicted angles are an extrapolation (train on similar graphs)",
            AngleExtrapolationWarning,
            stacklevel=3,
        )
