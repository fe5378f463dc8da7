"""Quantum kernel estimators: :class:`QSVC`, :class:`QSVR`, :class:`QuantumKernelRidge`.

Each evaluates its quantum kernel on the training data, fits the matching scikit-learn model on
the precomputed Gram matrix, and at prediction time evaluates the kernel against the training
samples it needs (support vectors only for the SVMs). They follow scikit-learn's conventions, so
``clone``, ``Pipeline``, ``GridSearchCV`` (``kernel__feature_map``, ``C``, ...) and pickling work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC, SVR
from sklearn.utils import Tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..circuit.templates import zz_feature_map
from .bandwidth import check_concentration, select_bandwidth
from .base import QuantumKernel
from .fidelity import FidelityKernel


def default_kernel() -> QuantumKernel:
    """The kernel estimators use when none is given: the fidelity kernel of the ZZ feature map,
    its bandwidth chosen from the training data (:func:`select_bandwidth`)."""
    return FidelityKernel(zz_feature_map, bandwidth="auto")


def _seed_of(random_state: Any) -> Any:
    """A JSON-ready record of a ``random_state`` (an int, None, or its type's name)."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return None if random_state is None else int(random_state)
    return type(random_state).__name__


class _QuantumKernelModel(BaseEstimator):
    """Shared fit/predict plumbing: the kernel, the training data, the precomputed model."""

    kernel: QuantumKernel | None

    def _make_kernel(self) -> QuantumKernel:
        if self.kernel is None:
            return default_kernel()
        if not callable(getattr(self.kernel, "evaluate", None)):
            raise TypeError(
                f"kernel must be a quantum kernel (FidelityKernel, ProjectedKernel, ...)"
                f" with an evaluate(X, Y) method, got {type(self.kernel).__name__}"
            )
        return clone(self.kernel)

    def _fit_model(self, model: Any, X: Any, y: Any) -> np.ndarray:
        kernel = self._make_kernel()
        if isinstance(getattr(kernel, "bandwidth", None), str) and kernel.bandwidth == "auto":
            kernel.set_params(bandwidth=select_bandwidth(kernel, X))
        self.kernel_ = kernel
        self.bandwidth_ = getattr(kernel, "bandwidth", None)
        self.X_fit_ = X
        K = self.kernel_.evaluate(X)
        check_concentration(K, stacklevel=4)
        self.model_ = model.fit(K, y)
        self.provenance_ = self.kernel_.provenance(
            X, y, random_state=_seed_of(getattr(self, "random_state", None))
        )
        return K

    def _test_gram(self, X: Any, columns: np.ndarray | None = None) -> np.ndarray:
        """``K(X, X_fit_)``; with ``columns``, only those training columns are evaluated."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        if columns is None:
            return self.kernel_.evaluate(X, self.X_fit_)
        K = np.zeros((X.shape[0], self.X_fit_.shape[0]))
        if len(columns):
            K[:, columns] = self.kernel_.evaluate(X, self.X_fit_[columns])
        return K


class QSVC(ClassifierMixin, _QuantumKernelModel):
    """Support vector classifier on a quantum kernel.

    Args:
        kernel: a quantum kernel (``None``: :class:`FidelityKernel` of the ZZ feature map with one
            qubit per feature and ``bandwidth="auto"``, which suits standardised features). A
            kernel with ``bandwidth="auto"`` gets its bandwidth from the training data
            (:func:`hqml.kernels.select_bandwidth`); a fit whose Gram matrix has concentrated
            warns (:class:`hqml.kernels.KernelConcentrationWarning`).
        C: regularisation (larger fits the training data harder).
        class_weight: as in :class:`sklearn.svm.SVC`.
        probability: enable :meth:`predict_proba` (Platt scaling fitted by stratified
            cross-validation on the training Gram matrix; predictions stay those of the SVM).
        tol: stopping tolerance of the solver.
        max_iter: solver iteration limit (-1: none).
        random_state: seeds the calibration folds.

    Attributes:
        classes_, n_features_in_, kernel_ (the fitted kernel), bandwidth_ (its bandwidth),
        model_ (the fitted ``SVC``), support_, X_fit_, provenance_ (hqml version and commit,
        data hash, seeds, backend, noise model, machine: :meth:`QuantumKernel.provenance`).
    """

    def __init__(
        self,
        kernel: QuantumKernel | None = None,
        *,
        C: float = 1.0,
        class_weight: Any = None,
        probability: bool = False,
        tol: float = 1e-3,
        max_iter: int = -1,
        random_state: Any = None,
    ):
        self.kernel = kernel
        self.C = C
        self.class_weight = class_weight
        self.probability = probability
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> QSVC:
        """Fit on samples ``X`` (n_samples, n_features) and labels ``y``; returns ``self``."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        svc = SVC(
            kernel="precomputed",
            C=self.C,
            class_weight=self.class_weight,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        K = self._fit_model(svc, X, y)
        self.classes_ = self.model_.classes_
        self.support_ = self.model_.support_
        self.n_iter_ = self.model_.n_iter_
        if self.probability:
            smallest = int(np.min(np.unique(y, return_counts=True)[1]))
            if smallest < 2:
                raise ValueError(
                    "probability=True needs at least 2 samples of every class (Platt"
                    " scaling is fitted by cross-validation)"
                )
            folds = StratifiedKFold(min(5, smallest), shuffle=True, random_state=self.random_state)
            self.calibrator_ = CalibratedClassifierCV(clone(svc), cv=folds, ensemble=False).fit(
                K, y
            )
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.decision_function(self._test_gram(X, self.support_))

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict(self._test_gram(X, self.support_))

    def _has_proba(self) -> bool:
        if not self.probability:
            raise AttributeError("predict_proba is available when probability=True")
        return True

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (Platt scaling); needs ``probability=True``."""
        check_is_fitted(self)
        return self.calibrator_.predict_proba(self._test_gram(X))

    @available_if(_has_proba)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(self.predict_proba(X))


class QSVR(RegressorMixin, _QuantumKernelModel):
    """Epsilon-support vector regression on a quantum kernel.

    Args:
        kernel: a quantum kernel (``None``: fidelity kernel of the ZZ feature map, bandwidth
            chosen from the training data).
        C: regularisation.
        epsilon: the width of the no-penalty tube.
        tol: stopping tolerance; max_iter: solver iteration limit (-1: none).
    """

    def __init__(
        self,
        kernel: QuantumKernel | None = None,
        *,
        C: float = 1.0,
        epsilon: float = 0.1,
        tol: float = 1e-3,
        max_iter: int = -1,
    ):
        self.kernel = kernel
        self.C = C
        self.epsilon = epsilon
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> QSVR:
        """Fit on ``X`` (n_samples, n_features) and real targets ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, y_numeric=True)
        svr = SVR(
            kernel="precomputed",
            C=self.C,
            epsilon=self.epsilon,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        self._fit_model(svr, X, y)
        self.support_ = self.model_.support_
        self.n_iter_ = self.model_.n_iter_
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict(self._test_gram(X, self.support_))


class QuantumKernelRidge(RegressorMixin, _QuantumKernelModel):
    """Kernel ridge regression on a quantum kernel.

    Args:
        kernel: a quantum kernel (``None``: fidelity kernel of the ZZ feature map, bandwidth
            chosen from the training data).
        alpha: ridge regularisation strength (> 0).
    """

    def __init__(self, kernel: QuantumKernel | None = None, *, alpha: float = 1.0):
        self.kernel = kernel
        self.alpha = alpha

    def fit(self, X: Any, y: Any) -> QuantumKernelRidge:
        """Fit on ``X`` (n_samples, n_features) and targets ``y`` (1-D or 2-D); returns ``self``."""
        X, y = validate_data(self, X, y, y_numeric=True, multi_output=True)
        self._fit_model(KernelRidge(alpha=self.alpha, kernel="precomputed"), X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict(self._test_gram(X))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["QSVC", "QSVR", "QuantumKernelRidge", "default_kernel"]
