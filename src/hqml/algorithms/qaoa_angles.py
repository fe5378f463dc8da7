"""Learned QAOA initial angles for max-cut: a ridge regression from graph features to angles.

Training labels are QAOA-optimised angles of many small graphs, found depth by depth with the
INTERP warm start (Zhou et al. 2020) from a linear ramp at ``p = 1``, which keeps every graph's
angles in the same smooth branch (``gamma > 0``, ``beta < 0`` in hqml's convention, see
:mod:`hqml.algorithms.qaoa`). The features are the ones optimal angles are known to depend on:
the degree (``gamma`` scales like ``1 / sqrt(d)`` on ``d``-regular graphs), its spread, and how
many edges sit in triangles; the model predicts all ``2 p`` angles of a new, larger graph
without running a circuit. :class:`~hqml.algorithms.qaoa_angle_net.AngleNetwork` is the
nonlinear model on local-structure features (the one the example now reports as "learned").

The cost is ``H = sum_edges Z_i Z_j / 2`` (so ``<cut> = |E| / 2 - <H>``), as in
:data:`~hqml.algorithms.qaoa.FIXED_ANGLES_3REGULAR`'s comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from ..circuit.observables import PauliSum
from .optimizers import minimize
from .qaoa import QAOA
from .qaoa_features import AngleExtrapolationWarning as AngleExtrapolationWarning  # re-exported
from .qaoa_features import warn_if_outside

Edges = Sequence[tuple[int, int]]
FEATURES = ("bias", "1/sqrt(d)", "1/d", "degree cv", "triangles per edge", "1/n")
# features whose training range predict() checks (1/n is meant to be extrapolated: larger graphs)
_CHECKED = (1, 3, 4)


class AngleModel(Protocol):
    """What :func:`compare_initialisations` needs of a model: :class:`AngleRegressor`, or
    :class:`~hqml.algorithms.qaoa_angle_net.AngleNetwork`."""

    def predict(self, graph: Graph, p: int) -> np.ndarray: ...


@dataclass(frozen=True)
class Graph:
    """An undirected simple graph on nodes ``0..n-1``."""

    n: int
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        seen = set()
        for a, b in self.edges:
            if not (0 <= a < self.n and 0 <= b < self.n) or a == b:
                raise ValueError(f"edge ({a}, {b}) is not between two distinct nodes of 0..n-1")
            key = (min(a, b), max(a, b))
            if key in seen:
                raise ValueError(f"edge {key} appears twice")
            seen.add(key)
        if not self.edges:
            raise ValueError("the graph has no edges")

    def degrees(self) -> np.ndarray:
        d = np.zeros(self.n)
        for a, b in self.edges:
            d[a] += 1
            d[b] += 1
        return d


def maxcut_hamiltonian(graph: Graph) -> PauliSum:
    """``sum_edges Z_a Z_b / 2`` (its minimum is ``|E| / 2 - max cut``)."""
    return PauliSum({((min(a, b), "Z"), (max(a, b), "Z")): 0.5 for a, b in graph.edges})


def random_regular_graph(n: int, d: int, rng: np.random.Generator) -> Graph:
    """A random simple ``d``-regular graph (Steger-Wormald pairing: stubs are joined at random
    among the pairs that keep the graph simple, restarting when none is left)."""
    if n * d % 2 or d >= n or d < 1:
        raise ValueError(f"no simple {d}-regular graph on {n} nodes: need n*d even and d < n")
    for _ in range(1000):
        left = np.full(n, d)
        edges: set[tuple[int, int]] = set()
        while left.sum():
            nodes = np.flatnonzero(left)
            pairs = [
                (a, b)
                for i, a in enumerate(nodes)
                for b in nodes[i + 1 :]
                if (int(a), int(b)) not in edges
            ]
            if not pairs:
                break
            weights = np.array([left[a] * left[b] for a, b in pairs], dtype=float)
            a, b = pairs[int(rng.choice(len(pairs), p=weights / weights.sum()))]
            edges.add((int(a), int(b)))
            left[a] -= 1
            left[b] -= 1
        if not left.sum():
            return Graph(n, tuple(sorted(edges)))
    raise RuntimeError(f"could not draw a simple {d}-regular graph on {n} nodes")


def random_er_graph(n: int, prob: float, rng: np.random.Generator) -> Graph:
    """An Erdos-Renyi graph, redrawn until no node is isolated."""
    for _ in range(1000):
        upper = np.triu(rng.random((n, n)) < prob, 1)
        edges = tuple(zip(*np.nonzero(upper), strict=True))
        g = Graph(n, tuple((int(a), int(b)) for a, b in edges)) if edges else None
        if g is not None and g.degrees().min() > 0:
            return g
    raise RuntimeError(f"could not draw a connected-looking G({n}, {prob}) graph")


def ring_graph(n: int) -> Graph:
    """The ``n``-cycle, numbered in a zigzag (``0, n-1, 1, n-2, ...`` along the chain) so that
    every edge joins wires at most two apart (cheap on the MPS backend; the same graph)."""
    if n < 3:
        raise ValueError(f"a ring needs at least 3 nodes, got {n}")
    order = [k for i in range((n + 1) // 2) for k in (i, n - 1 - i)][:n]
    wire = {node: w for w, node in enumerate(order)}
    cycle = [(wire[i], wire[(i + 1) % n]) for i in range(n)]
    return Graph(n, tuple(sorted((min(a, b), max(a, b)) for a, b in cycle)))


def ladder_graph(n: int) -> Graph:
    """Two rails of ``n / 2`` nodes joined by rungs, numbered so every edge spans at most two
    wires (rung ``(2i, 2i+1)``, rails ``(2i, 2i+2)`` and ``(2i+1, 2i+3)``)."""
    if n < 4 or n % 2:
        raise ValueError(f"a ladder needs an even number of nodes >= 4, got {n}")
    half = n // 2
    rungs = [(2 * i, 2 * i + 1) for i in range(half)]
    rails = [(2 * i + s, 2 * i + 2 + s) for i in range(half - 1) for s in (0, 1)]
    return Graph(n, tuple(rungs + rails))


def random_tree(n: int, rng: np.random.Generator) -> Graph:
    """A uniformly random labelled tree on ``n >= 2`` nodes (a random Pruefer sequence)."""
    if n < 2:
        raise ValueError(f"a tree needs at least 2 nodes, got {n}")
    seq = list(rng.integers(0, n, size=n - 2))
    degree = np.ones(n, dtype=int)
    for v in seq:
        degree[v] += 1
    edges = []
    for v in seq:
        leaf = int(np.flatnonzero(degree == 1)[0])
        edges.append((min(leaf, int(v)), max(leaf, int(v))))
        degree[leaf] -= 1
        degree[v] -= 1
    a, b = np.flatnonzero(degree == 1)
    edges.append((int(a), int(b)))
    return Graph(n, tuple(sorted(edges)))


GRAPH_KINDS = ("3reg", "4reg", "5reg", "er", "ring", "ladder", "tree")


def graph_family(kind: str, n: int, rng: np.random.Generator) -> Graph:
    """One of :data:`GRAPH_KINDS`: ``"3reg"``, ``"4reg"``, ``"5reg"`` (random regular),
    ``"er"`` (edge probability 0.4), ``"ring"``, ``"ladder"`` (fixed) or ``"tree"``."""
    if kind in ("3reg", "4reg", "5reg"):
        return random_regular_graph(n, int(kind[:-3]), rng)
    if kind == "er":
        return random_er_graph(n, 0.4, rng)
    if kind == "ring":
        return ring_graph(n)
    if kind == "ladder":
        return ladder_graph(n)
    if kind == "tree":
        return random_tree(n, rng)
    raise ValueError(f"graph kind must be one of {', '.join(GRAPH_KINDS)}; got {kind!r}")


def graph_features(graph: Graph) -> np.ndarray:
    """The regression features, in the order of :data:`FEATURES`."""
    deg = graph.degrees()
    mean = deg.mean()
    adj = np.zeros((graph.n, graph.n))
    for a, b in graph.edges:
        adj[a, b] = adj[b, a] = 1
    triangles_per_edge = float(np.trace(adj @ adj @ adj)) / 2 / len(graph.edges)  # 6T / 2|E|
    return np.array(
        [1.0, 1 / np.sqrt(mean), 1 / mean, deg.std() / mean, triangles_per_edge, 1 / graph.n]
    )


def optimised_angles(
    graph: Graph,
    p_max: int,
    maxiter: int = 200,
    optimizer: str = "L-BFGS-B",
    backend: object = "statevector",
    gradient: str = "auto",
) -> dict[int, np.ndarray]:
    """QAOA-optimised ``[gammas, betas]`` for ``p = 1..p_max`` by the INTERP chain
    (``gradient``: see :func:`compare_initialisations`)."""
    h = maxcut_hamiltonian(graph)
    fd = _finite_differences(backend, gradient)
    out: dict[int, np.ndarray] = {}
    prev = None
    for p in range(1, p_max + 1):
        start = QAOA.interp(prev) if prev is not None else "ramp"
        q = QAOA(
            h,
            p=p,
            initial_point=start,
            optimizer=optimizer,
            maxiter=maxiter,
            shots=1,
            exact_max=0,
            backend=backend,
        )
        if fd:
            x0 = q.ramp(1) if prev is None else start
            prev = np.asarray(minimize(_fd_energy(q), x0, optimizer, maxiter).x)
        else:
            prev = q.run().params
        out[p] = prev
    return out


GRADIENTS = ("auto", "autograd", "finite-diff")


def _finite_differences(backend: object, gradient: str) -> bool:
    """Whether the angles' gradient is taken by central differences of the energy: asked, or
    ``"auto"`` on the MPS backend, whose autograd gradient of a truncated simulation is not
    the gradient of the energy it returns (0.4 off at a discarded weight of 4e-7 on a
    12-node ladder), so L-BFGS-B's line search fails on it."""
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
    if gradient == "auto":
        return (backend if isinstance(backend, str) else getattr(backend, "name", "")) == "mps"
    return gradient == "finite-diff"


def _fd_energy(q: QAOA, step: float = 1e-4) -> Any:
    """``q``'s energy with a central finite-difference gradient over its ``2 p`` angles
    (``4 p`` energy evaluations per gradient, no backward pass)."""
    return lambda theta: _FDEnergy.apply(theta, q, step)


class _FDEnergy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, theta: torch.Tensor, q: QAOA, step: float) -> torch.Tensor:
        ctx.q, ctx.step = q, step
        ctx.save_for_backward(theta.detach())
        with torch.no_grad():
            return q.expectation(theta.detach()).detach().reshape(())

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        (theta,) = ctx.saved_tensors
        grad = torch.empty_like(theta)
        with torch.no_grad():
            for i in range(theta.numel()):
                e = torch.zeros_like(theta)
                e[i] = ctx.step
                plus, minus = ctx.q.expectation(theta + e), ctx.q.expectation(theta - e)
                grad[i] = (plus - minus) / (2 * ctx.step)
        return grad_out * grad, None, None


class AngleRegressor:
    """Ridge regression from :func:`graph_features` to the ``2 p`` QAOA angles, one per depth.

    Args:
        alpha: the ridge penalty (the bias is not penalised).

    >>> rng = np.random.default_rng(0)
    >>> graphs = [random_regular_graph(8, d, rng) for d in (3, 3, 4, 5)]
    >>> angles = [{1: np.array([0.6 / np.sqrt(g.degrees().mean()), -0.39])} for g in graphs]
    >>> model = AngleRegressor().fit(graphs, angles)
    >>> bool(np.allclose(model.predict(graphs[0], 1), angles[0][1], atol=1e-2))
    True
    """

    def __init__(self, alpha: float = 1e-3):
        self.alpha = alpha

    def fit(
        self, graphs: Sequence[Graph], angles: Sequence[dict[int, np.ndarray]]
    ) -> AngleRegressor:
        """Fit one linear map per depth ``p`` present in every ``angles`` entry."""
        if len(graphs) != len(angles) or not graphs:
            raise ValueError("give one angle dict per graph, and at least one graph")
        depths = set.intersection(*(set(a) for a in angles))
        if not depths:
            raise ValueError("no depth p is present in every graph's angles")
        X = np.array([graph_features(g) for g in graphs])
        penalty = self.alpha * np.eye(X.shape[1])
        penalty[0, 0] = 0.0
        self.coef_ = {}
        for p in sorted(depths):
            Y = np.array([np.asarray(a[p], dtype=float) for a in angles])
            if Y.shape[1] != 2 * p:
                raise ValueError(f"angles for p={p} must hold 2p = {2 * p} values")
            self.coef_[p] = np.linalg.solve(X.T @ X + penalty, X.T @ Y)
        self.n_graphs_ = len(graphs)
        self.feature_range_ = (X.min(axis=0), X.max(axis=0))
        return self

    def predict(self, graph: Graph, p: int) -> np.ndarray:
        """Predicted ``[gammas, betas]`` for ``graph`` at depth ``p``.

        Warns (:class:`AngleExtrapolationWarning`) when the graph's mean degree, degree spread
        or triangle density lies outside the training graphs' range (the size ``1/n`` may).
        """
        if not hasattr(self, "coef_"):
            raise ValueError("call fit() before predict()")
        if p not in self.coef_:
            raise ValueError(f"the model was trained for p in {sorted(self.coef_)}, not p={p}")
        f = graph_features(graph)
        warn_if_outside(graph, f, self.feature_range_, FEATURES, _CHECKED)
        return f @ self.coef_[p]


def compare_initialisations(
    graph: Graph,
    model: AngleModel,
    p: int = 3,
    steps: int = 5,
    optimizer: str = "L-BFGS-B",
    backend: object = "statevector",
    optimum: tuple[float, float] | None = None,
    interp_maxiter: int = 200,
    interp: bool = True,
    others: dict[str, AngleModel] | None = None,
    gradient: str = "auto",
) -> dict[str, dict[str, float]]:
    """Approximation ratio of each initial point, before and after ``steps`` optimiser steps.

    Initial points: ``"learned"`` (``model``), ``"fixed"`` (the 3-regular table,
    :meth:`QAOA.fixed`, ``p <= 3``), ``"interp"`` (INTERP's first step: angles optimised at
    ``p - 1`` by the INTERP chain, interpolated to ``p``; skipped with ``interp=False``, it
    costs ``p - 1`` optimisations) and ``"ramp"`` (linear ramp); ``others`` adds one start per
    named model (e.g. a model trained on other graphs). ``backend`` may be an MPS backend
    instance for graphs past statevector sizes (give ``optimum`` then). ``gradient``: of the
    angles during the steps (and INTERP's lower depths): ``"autograd"``, ``"finite-diff"``
    (central differences of the energy) or ``"auto"`` (finite differences on the MPS backend,
    whose truncated-simulation gradient is inexact, autograd elsewhere).

    Returns:
        ``{name: {"before": ratio, "after": ratio}}``.

    Raises:
        ValueError: no spectrum for the ratio (``optimum`` not given and ``n > 20``).
    """
    h = maxcut_hamiltonian(graph)

    def qaoa(start: object, maxiter: int) -> QAOA:
        return QAOA(
            h, p=p, initial_point=start, optimizer=optimizer, maxiter=maxiter, shots=1,
            backend=backend, optimum=optimum, exact_max=20,
        )  # fmt: skip

    probe = qaoa("ramp", 0)
    if probe.optimum is None:
        raise ValueError(
            f"{graph.n} nodes is past exact enumeration (20): pass optimum=(E_min, E_max)"
        )
    e_min, e_max = probe.optimum
    fd = _finite_differences(backend, gradient)
    starts = {"learned": model.predict(graph, p), "ramp": probe.ramp(p)}
    starts.update({name: m.predict(graph, p) for name, m in (others or {}).items()})
    if p in (1, 2, 3):
        starts["fixed"] = probe.fixed(p)
    if p > 1 and interp:
        lower = optimised_angles(graph, p - 1, interp_maxiter, optimizer, backend, gradient)
        starts["interp"] = QAOA.interp(lower[p - 1])
    out = {}
    for name, x0 in starts.items():
        before = float(probe.expectation(x0))
        if not steps:
            after = before
        elif fd:
            after = minimize(_fd_energy(probe), np.asarray(x0), optimizer, steps).fun
        else:
            after = qaoa(np.asarray(x0), steps).run().expectation
        out[name] = {
            "before": (e_max - before) / (e_max - e_min),
            "after": (e_max - after) / (e_max - e_min),
        }
    return out
