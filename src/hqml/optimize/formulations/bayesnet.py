"""Bayesian network structure learning as a QUBO over parent sets with bounded in-degree.

Following the order-based encoding of O'Gorman et al. (2015), with one variable per candidate
parent set instead of per edge:

* ``("pa", i, S)`` = 1: node ``i`` takes parent set ``S`` (only sets with positive score gain
  over the empty set and not beaten by one of their subsets; at most one per node);
* ``("before", i, j)`` for ``i < j`` = 1: ``i`` precedes ``j`` in a topological order.

Energy: ``-sum g_i(S) x_iS`` (``g`` = score gain over no parents) plus ``A`` times
(i) pairs of parent sets chosen for one node, (ii) a parent placed after its child, and
(iii) the intransitive triples ``r_ik + r_ij r_jk - r_ij r_ik - r_jk r_ik`` (0 on orders, 1 on
cycles). With ``G`` the sum of all kept gains, any violation leaves energy ``>= A - G``, and the
empty graph (energy 0) is feasible, so the default ``A = 1 + G`` makes the minimum the best DAG.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Formulation, check_penalty, dimod_module


def bic_local_score(data: np.ndarray, child: int, parents: tuple[int, ...]) -> float:
    """BIC of a node given its parents for discrete data (higher is better).

    ``sum_jk N_ijk log(N_ijk / N_ij) - log(N) / 2 * (r_i - 1) * q_i`` with ``r_i`` the states of
    the child and ``q_i`` the joint states of the parents (states taken as ``0..max``).
    """
    data = np.asarray(data)
    n = len(data)
    arity = data.max(axis=0) + 1
    r = int(arity[child])
    q = int(np.prod([arity[p] for p in parents])) if parents else 1
    config = np.zeros(n, dtype=np.int64)
    for p in parents:
        config = config * arity[p] + data[:, p]
    counts = np.zeros((q, r))
    np.add.at(counts, (config, data[:, child]), 1)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(counts > 0, counts * np.log(counts / totals), 0.0).sum()
    return float(ll - 0.5 * np.log(n) * (r - 1) * q)


@dataclass
class Structure:
    """A learned structure: parents per node, the edge list, acyclicity and its total score."""

    parents: dict[int, tuple[int, ...]]
    edges: list[tuple[int, int]]
    acyclic: bool
    score: float


class BayesNetStructure(Formulation):
    """Score-based structure learning of a DAG on ``n_nodes`` with in-degree ``<= max_parents``.

    Args:
        local_scores: ``{(node, parents_tuple): score}`` (higher is better), covering every
            ``(i, ())`` and every parent set of size ``<= max_parents`` to be considered; or use
            :meth:`from_data` for BIC scores.
        n_nodes: number of nodes.
        max_parents: in-degree bound.
        penalty: ``A``; ``None`` for the safe default.
    """

    def __init__(
        self,
        local_scores: Mapping[tuple[int, tuple[int, ...]], float],
        n_nodes: int,
        max_parents: int = 2,
        penalty: float | None = None,
    ):
        if n_nodes < 2:
            raise ValueError(f"n_nodes must be at least 2, got {n_nodes}")
        if max_parents < 1:
            raise ValueError(f"max_parents must be at least 1, got {max_parents}")
        self.n, self.max_parents = int(n_nodes), int(max_parents)
        self.scores = {(int(i), tuple(sorted(S))): float(s) for (i, S), s in local_scores.items()}
        for i in range(self.n):
            if (i, ()) not in self.scores:
                raise ValueError(f"local_scores lacks the empty parent set of node {i}: (i, ())")
        self.candidates: dict[int, dict[tuple[int, ...], float]] = {}
        for i in range(self.n):
            kept: dict[tuple[int, ...], float] = {}
            sets = sorted((S for (j, S) in self.scores if j == i and S), key=len)
            for S in sets:
                if len(S) > self.max_parents or i in S:
                    continue
                gain = self.scores[(i, S)] - self.scores[(i, ())]
                subsets = [T for T in kept if set(T) < set(S)]
                if gain > 0 and all(gain > kept[T] for T in subsets):
                    kept[S] = gain
            self.candidates[i] = kept
        total_gain = sum(g for c in self.candidates.values() for g in c.values())
        self.penalty = check_penalty(penalty, "penalty") or 1.0 + total_gain

    @classmethod
    def from_data(
        cls, data: Any, max_parents: int = 2, penalty: float | None = None
    ) -> BayesNetStructure:
        """BIC scores of every parent set up to ``max_parents`` from discrete data (m, n)."""
        data = np.asarray(data)
        if data.ndim != 2 or not np.issubdtype(data.dtype, np.integer) or (data < 0).any():
            raise ValueError("data must be a 2-D array of non-negative integer states")
        n = data.shape[1]
        scores = {}
        for i in range(n):
            others = [j for j in range(n) if j != i]
            for size in range(max_parents + 1):
                for S in itertools.combinations(others, size):
                    scores[(i, S)] = bic_local_score(data, i, S)
        return cls(scores, n, max_parents, penalty)

    def total_score(self, parents: Mapping[int, tuple[int, ...]]) -> float:
        """Sum of local scores (parent sets missing from the table raise KeyError)."""
        return sum(self.scores[(i, tuple(sorted(parents.get(i, ()))))] for i in range(self.n))

    def to_bqm(self) -> Any:
        dimod = dimod_module()
        A = self.penalty
        bqm = dimod.BinaryQuadraticModel("BINARY")

        def before(a: int, b: int) -> tuple[Any, bool]:  # variable and whether it reads "a < b"
            return (("before", a, b), True) if a < b else (("before", b, a), False)

        for i, j in itertools.combinations(range(self.n), 2):
            bqm.add_variable(("before", i, j))
        for i, cands in self.candidates.items():
            names = [("pa", i, S) for S in cands]
            for S, g in cands.items():
                x = ("pa", i, S)
                bqm.add_linear(x, -g)
                for p in S:  # parent p must precede child i
                    r, forward = before(p, i)
                    if forward:  # penalty x (1 - r)
                        bqm.add_linear(x, A)
                        bqm.add_quadratic(x, r, -A)
                    else:  # r reads "i < p": penalty x r
                        bqm.add_quadratic(x, r, A)
            for a, b in itertools.combinations(names, 2):
                bqm.add_quadratic(a, b, A)
        for i, j, k in itertools.combinations(range(self.n), 3):
            rij, rjk, rik = ("before", i, j), ("before", j, k), ("before", i, k)
            bqm.add_linear(rik, A)
            bqm.add_quadratic(rij, rjk, A)
            bqm.add_quadratic(rij, rik, -A)
            bqm.add_quadratic(rjk, rik, -A)
        return bqm

    def decode(self, sample: dict) -> Structure:
        parents: dict[int, tuple[int, ...]] = {i: () for i in range(self.n)}
        for i, cands in self.candidates.items():
            chosen = [S for S in cands if sample.get(("pa", i, S), 0) == 1]
            if chosen:  # more than one only in infeasible samples; keep the best
                parents[i] = max(chosen, key=lambda S: cands[S])
        edges = [(p, i) for i, S in parents.items() for p in S]
        return Structure(parents, edges, _acyclic(self.n, edges), self.total_score(parents))

    def is_feasible(self, sample: dict) -> bool:
        for i, cands in self.candidates.items():
            if sum(sample.get(("pa", i, S), 0) for S in cands) > 1:
                return False
        return self.decode(sample).acyclic


def _acyclic(n: int, edges: list[tuple[int, int]]) -> bool:
    indegree = [0] * n
    children: dict[int, list[int]] = {i: [] for i in range(n)}
    for a, b in edges:
        indegree[b] += 1
        children[a].append(b)
    ready = [i for i in range(n) if indegree[i] == 0]
    seen = 0
    while ready:
        a = ready.pop()
        seen += 1
        for b in children[a]:
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    return seen == n
