"""``QUBOFeatureSelector``: a scikit-learn transformer that selects features through a QUBO."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .formulations.feature_selection import FeatureSelection
from .router import solve


class QUBOFeatureSelector(SelectorMixin, BaseEstimator):
    """Keep ``k`` features chosen by relevance-minus-redundancy (mutual information) QUBO.

    The QUBO (:class:`~hqml.optimize.formulations.FeatureSelection`) is solved by
    :func:`~hqml.optimize.solve`, so the solver is chosen automatically (exact enumeration for
    up to 24 features, annealing beyond) unless ``solver`` names one (``"qaoa"`` included).

    Args:
        k: features to keep (capped at the number of features seen in ``fit``).
        alpha: relevance weight in ``[0, 1]`` (redundancy gets ``1 - alpha``).
        n_bins: quantile bins used to estimate mutual information.
        task: ``"classification"`` (``y`` as labels) or ``"regression"`` (``y`` binned too).
        solver: passed to ``solve``.
        time_limit: seconds per solver attempt.
        random_state: seed for the solvers.

    Attributes:
        support_: boolean mask of the kept features.
        relevance_, redundancy_: the mutual information estimates.
        solution_: the router's :class:`~hqml.optimize.Solution` (solver used, attempts, timing).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5)); y = (X[:, 3] > 0).astype(int)
    >>> QUBOFeatureSelector(k=1).fit(X, y).get_support(indices=True).tolist()
    [3]
    """

    def __init__(
        self,
        k: int = 2,
        alpha: float = 0.5,
        n_bins: int = 8,
        task: str = "classification",
        solver: Any = "auto",
        time_limit: float | None = None,
        random_state: int | None = None,
    ):
        self.k = k
        self.alpha = alpha
        self.n_bins = n_bins
        self.task = task
        self.solver = solver
        self.time_limit = time_limit
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> QUBOFeatureSelector:
        """Estimate mutual information, solve the QUBO and store the selected features."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        if (
            isinstance(self.n_bins, bool)
            or not isinstance(self.n_bins, (int, np.integer))
            or self.n_bins < 2
        ):
            raise ValueError(f"n_bins must be an integer >= 2, got {self.n_bins!r}")
        k = min(int(self.k), X.shape[1])
        problem = FeatureSelection.from_data(
            X, y, k, self.alpha, int(self.n_bins), discrete_target=self.task == "classification"
        )
        self.relevance_, self.redundancy_ = problem.relevance, problem.redundancy
        self.solution_ = solve(
            problem, solver=self.solver, time_limit=self.time_limit, seed=self.random_state
        )
        mask = np.zeros(X.shape[1], dtype=bool)
        mask[self.solution_.answer] = True
        self.support_ = mask
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_
