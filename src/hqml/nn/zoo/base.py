"""Shared scikit-learn plumbing of the variational models of the zoo.

A model subclasses :class:`ZooClassifier` and supplies its circuit and parameters
(``_setup``), its forward pass (``_forward``), its loss (``_loss``) and, when its output is not
an expectation value in ``[-1, 1]``, how it maps to a probability (``_positive_probability``).
The base class validates data, scales it as the study does, seeds everything from
``random_state`` and trains with the study's rule (:func:`.training.train_until_flat`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils import Tags, check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ...circuit.circuit import Circuit
from ...circuit.observables import PauliSum
from ...execute import expval
from ..layer import _check_int
from .training import train_until_flat

MAX_QUBITS = 20  # dense statevector of 2^20 amplitudes per sample: refuse beyond


def check_qubits(n_qubits: int, model: str) -> int:
    """Refuse, before building anything, a model that would need more than ``MAX_QUBITS``."""
    if n_qubits > MAX_QUBITS:
        raise ValueError(
            f"{model} would need {n_qubits} qubits (more than {MAX_QUBITS}) for this data;"
            " reduce the number of features (e.g. PCA) first"
        )
    return n_qubits


def generator_from(random_state: Any) -> torch.Generator:
    """A torch generator seeded from a scikit-learn ``random_state``."""
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    return torch.Generator().manual_seed(seed)


def count_training_circuits(model: Any, rows: int) -> None:
    """Add ``rows`` circuit executions to ``model.circuit_evaluations_`` while training (with
    autograd on); predictions (under ``no_grad``) leave a fitted model unchanged."""
    if torch.is_grad_enabled():
        model.circuit_evaluations_ = getattr(model, "circuit_evaluations_", 0) + int(rows)


class ZooClassifier(ClassifierMixin, BaseEstimator):
    """Base of the zoo's trained (variational) binary classifiers.

    Subclasses store their arguments in ``__init__`` (scikit-learn rules) and set the class
    attribute ``_preprocessing`` to ``"minmax"`` (features to ``(-pi/2, pi/2)``),
    ``"standard"`` or ``"none"``, as in the study.
    """

    _preprocessing = "minmax"

    # --- subclasses --------------------------------------------------------------------------
    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _training_output(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        """What the loss sees; default the forward output."""
        return self._forward(params, X)

    def _training_rows(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows a mini-batch is drawn from (with replacement); default the samples."""
        return X, y

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        """Default: the study's linear loss, the probability of a wrong label ``(1 - f y) / 2``."""
        return ((1 - out * y) / 2).mean()

    def _positive_probability(self, out: torch.Tensor) -> torch.Tensor:
        """P(class +1) from the forward output; default ``(1 + f) / 2`` of an expectation."""
        return ((1 + out) / 2).clamp(0.0, 1.0)

    def _score(self, out: torch.Tensor) -> torch.Tensor:
        """The decision function (positive: class +1); default the expectation itself."""
        return out

    # --- helpers for subclasses ----------------------------------------------------------------
    def _expval(
        self,
        circuit: Circuit,
        observables: list[PauliSum],
        x: torch.Tensor,
        weights: Mapping[str, torch.Tensor],
    ) -> torch.Tensor:
        """``(B, len(observables))`` expectation values, differentiable in x and weights (one
        circuit execution per row; training's are counted in ``circuit_evaluations_``)."""
        count_training_circuits(self, x.shape[0])
        return expval(
            circuit,
            observables,
            inputs={"x": x},
            weights=dict(weights),
            backend=self.backend,
            diff_method=self.diff_method,
        ).reshape(x.shape[0], len(observables))

    # --- scikit-learn API --------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> ZooClassifier:
        """Train on ``X`` (n_samples, n_features) and two-class labels ``y``; returns ``self``."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if type_of_target(y) != "binary":
            raise ValueError(
                f"Only binary classification is supported. {type(self).__name__} is binary, as"
                " in the study; wrap it in sklearn's OneVsRestClassifier for more classes"
            )
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of two classes; y has only one class"
            )
        batch_size = _check_int(self.batch_size, "batch_size")
        max_steps = _check_int(self.max_steps, "max_steps")
        interval = self.convergence_interval
        if interval is not None:
            interval = _check_int(interval, "convergence_interval")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        self.scaler_ = self._make_scaler().fit(X)
        Xt = self._prepare(X)
        target = torch.as_tensor(np.where(y == self.classes_[1], 1.0, -1.0))
        gen = generator_from(self.random_state)
        self.circuit_evaluations_ = 0  # circuits the simulator runs for this fit
        params = {
            k: v.detach().clone().requires_grad_() for k, v in self._setup(X.shape[1], gen).items()
        }
        rows, row_targets = self._training_rows(Xt, target)
        result = train_until_flat(
            lambda p, xb, yb: self._loss(self._training_output(p, xb), yb, p),
            params,
            rows,
            row_targets,
            learning_rate=float(self.learning_rate),
            batch_size=batch_size,
            max_steps=max_steps,
            convergence_interval=interval,
            generator=gen,
            name=type(self).__name__,
        )
        self.params_ = {k: v.detach() for k, v in params.items()}
        self.loss_history_ = result.loss_history
        self.converged_ = result.converged
        self.n_iter_ = result.steps
        return self

    def _make_scaler(self) -> Any:
        if self._preprocessing == "minmax":
            return MinMaxScaler(feature_range=(-math.pi / 2, math.pi / 2))
        if self._preprocessing == "standard":
            return StandardScaler()
        return _Identity()

    def _prepare(self, X: np.ndarray) -> torch.Tensor:
        s = self.scaling
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
            raise ValueError(f"scaling must be a finite number, got {s!r}")
        return torch.as_tensor(self.scaler_.transform(X) * float(s), dtype=torch.float64)

    def _outputs(self, X: Any) -> torch.Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        with torch.no_grad():
            out = self._forward(self.params_, self._prepare(X))
        if not bool(torch.isfinite(out).all()):
            raise FloatingPointError(
                f"{type(self).__name__}: the model's output is not finite for some samples;"
                " check the input for NaN/inf or refit with a lower learning_rate"
            )
        return out

    def decision_function(self, X: Any) -> np.ndarray:
        """A score per sample, positive for ``classes_[1]``."""
        return self._score(self._outputs(X)).numpy().astype(np.float64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n_samples, 2)`` class probabilities."""
        p = self._positive_probability(self._outputs(X)).numpy().astype(np.float64)
        return np.c_[1 - p, p]

    def predict(self, X: Any) -> np.ndarray:
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = False
        return tags


class LogitReadout:
    """One logit per sample (the CNN-style models): sigmoid cross-entropy on the labels
    ``y > 0``, ``P(+1) = sigmoid(logit)``; the decision function is the logit itself."""

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(out, (y > 0).to(out.dtype))

    def _positive_probability(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


class _Identity:
    def fit(self, X: np.ndarray) -> _Identity:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)


__all__ = [
    "ZooClassifier",
    "check_qubits",
    "count_training_circuits",
    "generator_from",
    "MAX_QUBITS",
]
