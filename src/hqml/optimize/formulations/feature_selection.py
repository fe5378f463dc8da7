"""Feature selection: choose ``k`` features, relevant to the target and not redundant."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Formulation, check_penalty, dimod_module


def discretize(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Quantile bins ``0..n_bins-1`` of a 1-D array (columns with few values are kept as codes)."""
    values = np.unique(x)
    if len(values) <= n_bins:
        return np.searchsorted(values, x)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1]))
    return np.searchsorted(edges, x, side="right")


def plugin_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (nats) of two non-negative integer code arrays."""
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    joint = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb) / len(a)
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / outer[nz])).sum())


def mutual_information_matrix(
    X: np.ndarray, y: np.ndarray, n_bins: int = 8, discrete_target: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Relevance ``I(x_i; y)`` (n,) and redundancy ``I(x_i; x_j)`` (n, n), in nats, from bins."""
    X = np.asarray(X, dtype=float)
    cols = [discretize(X[:, i], n_bins) for i in range(X.shape[1])]
    y = np.asarray(y)
    target = (
        np.unique(y, return_inverse=True)[1].ravel()
        if discrete_target
        else discretize(y.astype(float), n_bins)
    )
    relevance = np.array([plugin_mutual_information(target, c) for c in cols])
    n = len(cols)
    redundancy = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            redundancy[i, j] = redundancy[j, i] = plugin_mutual_information(cols[i], cols[j])
    return relevance, redundancy


class FeatureSelection(Formulation):
    """Relevance-minus-redundancy feature selection of exactly ``k`` features.

    Energy: ``-alpha sum_i r_i x_i + (1 - alpha) sum_{i<j} R_ij x_i x_j + A (sum_i x_i - k)^2``
    with ``r`` the mutual information of each feature with the target and ``R`` between
    features (quantile-binned). The objective part of two states differs by at most
    ``B = alpha sum r + (1 - alpha) sum_{i<j} R_ij``, so the default ``A = 1 + B`` makes every
    selection of a size other than ``k`` worse than every selection of size ``k``.

    Args:
        relevance: ``r`` (n,), or use :meth:`from_data`.
        redundancy: ``R`` (n, n) symmetric.
        k: number of features to keep.
        alpha: weight of relevance against redundancy, in ``[0, 1]``.
        penalty: ``A``; ``None`` for the safe default.

    Variables: ``0..n-1``, one per feature.
    """

    def __init__(
        self,
        relevance: Any,
        redundancy: Any,
        k: int,
        alpha: float = 0.5,
        penalty: float | None = None,
    ):
        self.relevance = np.asarray(relevance, dtype=float)
        self.redundancy = np.asarray(redundancy, dtype=float)
        n = len(self.relevance)
        if self.redundancy.shape != (n, n):
            raise ValueError(f"redundancy must be ({n}, {n}), got {self.redundancy.shape}")
        if isinstance(k, bool) or int(k) != k or not 1 <= k <= n:
            raise ValueError(f"k must be an integer in 1..{n} (the number of features), got {k!r}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
        self.k, self.alpha = int(k), float(alpha)
        upper = np.triu(np.abs(self.redundancy), 1).sum()
        bound = self.alpha * np.abs(self.relevance).sum() + (1 - self.alpha) * upper
        self.penalty = check_penalty(penalty, "penalty") or 1.0 + float(bound)

    @classmethod
    def from_data(
        cls,
        X: Any,
        y: Any,
        k: int,
        alpha: float = 0.5,
        n_bins: int = 8,
        discrete_target: bool = True,
        penalty: float | None = None,
    ) -> FeatureSelection:
        """Mutual information from a data set ``X`` (m, n) and target ``y`` (m,)."""
        r, R = mutual_information_matrix(np.asarray(X), np.asarray(y), n_bins, discrete_target)
        return cls(r, R, k, alpha, penalty)

    def objective(self, chosen: Any) -> float:
        """``-alpha r.x + (1 - alpha) sum_{i<j} R_ij x_i x_j`` of a 0/1 vector."""
        x = np.asarray(chosen, dtype=float)
        return float(
            -self.alpha * self.relevance @ x
            + (1 - self.alpha) * x @ np.triu(self.redundancy, 1) @ x
        )

    def to_bqm(self) -> Any:
        dimod = dimod_module()
        n = len(self.relevance)
        linear = {i: -self.alpha * self.relevance[i] for i in range(n)}
        quadratic = {
            (i, j): (1 - self.alpha) * self.redundancy[i, j]
            for i in range(n)
            for j in range(i + 1, n)
        }
        bqm = dimod.BinaryQuadraticModel(linear, quadratic, 0.0, "BINARY")
        bqm.add_linear_equality_constraint(
            [(i, 1.0) for i in range(n)], self.penalty, -float(self.k)
        )
        return bqm

    def decode(self, sample: dict) -> list[int]:
        """Indices of the selected features, ascending."""
        return [i for i in range(len(self.relevance)) if sample[i] == 1]

    def is_feasible(self, sample: dict) -> bool:
        return len(self.decode(sample)) == self.k
