"""0/1 knapsack: choose items of maximum value whose total weight fits the capacity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Formulation, check_penalty, dimod_module


@dataclass
class Packing:
    """Chosen item indices, their total value and weight, and whether they fit."""

    items: list[int]
    value: float
    weight: float
    fits: bool


class Knapsack(Formulation):
    """Knapsack with integer weights as a QUBO with binary slack variables.

    Energy: ``-sum_i v_i x_i + A (sum_i w_i x_i + sum_k c_k s_k - C)^2`` with slack coefficients
    ``c = 1, 2, 4, ..., r`` (the last one cut so that they sum exactly to ``C``), so every fill
    level ``0..C`` is reachable and the constraint holds iff the square is zero. Integer weights
    make any violation cost at least ``A``; the default ``A = 1 + sum(values)`` then puts every
    infeasible state above the empty knapsack (energy 0), so the minimum is the optimum packing.

    Args:
        values: item values (non-negative).
        weights: item weights (positive integers).
        capacity: the capacity (non-negative integer).
        penalty: ``A``; ``None`` for the safe default.

    Variables: ``("x", i)`` per item, ``("s", k)`` per slack bit.
    """

    def __init__(
        self,
        values: Sequence[float],
        weights: Sequence[int],
        capacity: int,
        penalty: float | None = None,
    ):
        self.values = np.asarray(values, dtype=float)
        w = np.asarray(weights)
        if self.values.ndim != 1 or w.shape != self.values.shape or len(w) == 0:
            raise ValueError("values and weights must be 1-D and of the same non-zero length")
        if (self.values < 0).any():
            raise ValueError("values must be non-negative")
        if not np.all(np.equal(np.mod(w, 1), 0)) or (w <= 0).any():
            raise ValueError("weights must be positive integers (scale fractional weights first)")
        if int(capacity) != capacity or capacity < 0:
            raise ValueError(f"capacity must be a non-negative integer, got {capacity!r}")
        self.weights = w.astype(int)
        self.capacity = int(capacity)
        self.penalty = check_penalty(penalty, "penalty") or 1.0 + float(self.values.sum())

    def slack_coefficients(self) -> list[int]:
        coeffs, total, k = [], 0, 1
        while total + k <= self.capacity:
            coeffs.append(k)
            total += k
            k *= 2
        if total < self.capacity:
            coeffs.append(self.capacity - total)
        return coeffs

    def to_bqm(self) -> Any:
        dimod = dimod_module()
        terms = [(("x", i), float(w)) for i, w in enumerate(self.weights)]
        terms += [(("s", k), float(c)) for k, c in enumerate(self.slack_coefficients())]
        bqm = dimod.BinaryQuadraticModel({v: 0.0 for v, _ in terms}, {}, 0.0, "BINARY")
        for i, v in enumerate(self.values):
            bqm.add_linear(("x", i), -v)
        bqm.add_linear_equality_constraint(terms, self.penalty, -float(self.capacity))
        return bqm

    def decode(self, sample: dict) -> Packing:
        items = [i for i in range(len(self.values)) if sample[("x", i)] == 1]
        weight = float(self.weights[items].sum())
        return Packing(items, float(self.values[items].sum()), weight, weight <= self.capacity)

    def is_feasible(self, sample: dict) -> bool:
        return self.decode(sample).fits
