"""Portfolio selection: pick exactly ``budget`` assets trading expected return against risk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Formulation, check_penalty, dimod_module


@dataclass
class Portfolio:
    """Chosen asset indices with their expected return and variance (equal weights 1 each)."""

    assets: list[int]
    expected_return: float
    risk: float
    objective: float


class PortfolioSelection(Formulation):
    """Markowitz selection of ``budget`` equally weighted assets as a QUBO.

    Energy: ``q x^T S x - mu^T x + A (sum_i x_i - budget)^2`` with ``S`` the covariance,
    ``mu`` the expected returns and ``q`` the risk aversion. Any state off budget pays at least
    ``A``, and the objective part of any two states differs by at most
    ``R = sum|mu| + q sum|S|``; the default ``A = 1 + R`` therefore makes every off-budget state
    worse than every on-budget one.

    Args:
        expected_returns: ``mu`` (n,).
        covariance: ``S`` (n, n), symmetric.
        budget: number of assets to hold (1..n).
        risk_aversion: ``q >= 0``.
        penalty: ``A``; ``None`` for the safe default.

    Variables: ``0..n-1``, one per asset.
    """

    def __init__(
        self,
        expected_returns: Any,
        covariance: Any,
        budget: int,
        risk_aversion: float = 1.0,
        penalty: float | None = None,
    ):
        self.mu = np.asarray(expected_returns, dtype=float)
        self.cov = np.asarray(covariance, dtype=float)
        n = len(self.mu)
        if self.mu.ndim != 1 or self.cov.shape != (n, n):
            raise ValueError(
                f"expected_returns must be (n,) and covariance (n, n); got"
                f" {self.mu.shape} and {self.cov.shape}"
            )
        if not np.allclose(self.cov, self.cov.T):
            raise ValueError("covariance must be symmetric")
        if int(budget) != budget or not 1 <= budget <= n:
            raise ValueError(f"budget must be an integer in 1..{n}, got {budget!r}")
        if risk_aversion < 0:
            raise ValueError(f"risk_aversion must be >= 0, got {risk_aversion!r}")
        self.budget, self.q = int(budget), float(risk_aversion)
        bound = float(np.abs(self.mu).sum() + self.q * np.abs(self.cov).sum())
        self.penalty = check_penalty(penalty, "penalty") or 1.0 + bound

    def objective(self, chosen: np.ndarray) -> float:
        """``q x^T S x - mu^T x`` of a 0/1 vector."""
        x = np.asarray(chosen, dtype=float)
        return float(self.q * x @ self.cov @ x - self.mu @ x)

    def to_bqm(self) -> Any:
        dimod = dimod_module()
        n = len(self.mu)
        linear = {i: self.q * self.cov[i, i] - self.mu[i] for i in range(n)}
        quadratic = {(i, j): 2 * self.q * self.cov[i, j] for i in range(n) for j in range(i + 1, n)}
        bqm = dimod.BinaryQuadraticModel(linear, quadratic, 0.0, "BINARY")
        bqm.add_linear_equality_constraint(
            [(i, 1.0) for i in range(n)], self.penalty, -float(self.budget)
        )
        return bqm

    def decode(self, sample: dict) -> Portfolio:
        x = np.array([sample[i] for i in range(len(self.mu))], dtype=float)
        chosen = [i for i in range(len(x)) if x[i] == 1]
        return Portfolio(chosen, float(self.mu @ x), float(x @ self.cov @ x), self.objective(x))

    def is_feasible(self, sample: dict) -> bool:
        return sum(sample[i] for i in range(len(self.mu))) == self.budget
