"""Variational estimators: :class:`VQClassifier` and :class:`VQRegressor`.

The model is a data re-uploading circuit (Perez-Salinas et al. 2020): each of ``n_layers``
layers uploads the features as rotations (feature ``j`` on qubit ``j % n_qubits``, alternating
RY / RZ when a qubit carries several), then applies trainable RY-RZ rotations and a ring of
CNOTs. The ``<Z_q>`` of every qubit feed a linear read-out (class logits, or one value). Circuit
weights and read-out are trained together with torch (Adam) inside ``fit``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Tags, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..circuit.circuit import Circuit
from ..circuit.observables import Z
from ..execute import expval
from .base import circuit_state, restore_circuits

_MAX_QUBITS = 20


def reuploading_circuit(n_features: int, n_qubits: int, n_layers: int) -> Circuit:
    """The estimators' circuit: input ``x`` (n_features,), weights ``w`` (n_layers, n_qubits, 2)."""
    c = Circuit(n_qubits)
    x = c.input("x", n_features)
    w = c.weight("w", (n_layers, n_qubits, 2))
    for layer in range(n_layers):
        for j in range(n_features):
            q, slot = j % n_qubits, j // n_qubits
            (c.ry if slot % 2 == 0 else c.rz)(x[j], q)
        for q in range(n_qubits):
            c.ry(w[layer, q, 0], q).rz(w[layer, q, 1], q)
        if n_qubits == 2:
            c.cnot(0, 1)
        elif n_qubits > 2:
            for q in range(n_qubits):
                c.cnot(q, (q + 1) % n_qubits)
    return c


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class _VariationalModel(BaseEstimator):
    """Circuit construction, the torch training loop and the forward pass."""

    def __getstate__(self) -> dict[str, Any]:
        return circuit_state(super().__getstate__())

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(restore_circuits(state))

    def _check_params(self, n_features: int) -> tuple[int, int, int]:
        n_layers = _check_int(self.n_layers, "n_layers", 1)
        n_qubits = n_features if self.n_qubits is None else _check_int(self.n_qubits, "n_qubits", 1)
        n_qubits = min(n_qubits, n_features)
        if n_qubits > _MAX_QUBITS:
            raise ValueError(
                f"{n_features} features would need {n_qubits} qubits; set n_qubits="
                f" (at most {_MAX_QUBITS}) to upload several features per qubit"
            )
        max_iter = _check_int(self.max_iter, "max_iter", 1)
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.batch_size is not None:
            _check_int(self.batch_size, "batch_size", 1)
        return n_layers, n_qubits, max_iter

    def _bandwidth(self, X: np.ndarray) -> float:
        """The feature scale: a number as given, or for ``"auto"`` ``pi / (4 s)`` with ``s`` the
        largest feature standard deviation, so that +-2 standard deviations of every feature
        rotate by at most a quarter turn either way."""
        b = self.bandwidth
        if isinstance(b, str) and b == "auto":
            s = float(np.max(X.std(axis=0))) if X.shape[0] > 1 else 0.0
            return float(np.pi / (4 * s)) if s > 0 else 1.0
        if isinstance(b, bool) or not isinstance(b, numbers.Real) or not (np.isfinite(b) and b > 0):
            raise ValueError(f"bandwidth must be a positive number or 'auto', got {b!r}")
        return float(b)

    def _features(self, X: np.ndarray, w: torch.Tensor) -> torch.Tensor:
        """``(N, n_qubits)`` of ``<Z_q>``, differentiable in ``w``."""
        c = self.circuit_
        obs = [Z(q) for q in range(c.n_qubits)]
        out = expval(
            c,
            obs,
            inputs={"x": torch.tensor(X * self.bandwidth_, dtype=torch.float64)},
            weights={"w": w},
            backend=self.backend,
            diff_method=self.diff_method,
            noise_model=self.noise_model,
        )
        return out.reshape(X.shape[0], c.n_qubits)

    def _train(self, X: np.ndarray, target: torch.Tensor, n_out: int, loss_fn: Any) -> None:
        n_layers, n_qubits, max_iter = self._check_params(X.shape[1])
        self.bandwidth_ = self._bandwidth(X)
        rng = check_random_state(self.random_state)
        gen = torch.Generator().manual_seed(int(rng.randint(0, 2**31 - 1)))
        self.circuit_ = reuploading_circuit(X.shape[1], n_qubits, n_layers)
        w = (torch.rand(n_layers, n_qubits, 2, generator=gen, dtype=torch.float64) * 2 - 1) * np.pi
        bound = 1 / np.sqrt(n_qubits)
        coef = (torch.rand(n_out, n_qubits, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        icpt = torch.zeros(n_out, dtype=torch.float64)
        params = [t.requires_grad_() for t in (w, coef, icpt)]
        opt = torch.optim.Adam(params, lr=self.learning_rate)
        n = X.shape[0]
        bs = n if self.batch_size is None else min(int(self.batch_size), n)
        self.loss_curve_ = []
        for _ in range(max_iter):
            order = torch.randperm(n, generator=gen).numpy() if bs < n else np.arange(n)
            total = 0.0
            for s in range(0, n, bs):
                idx = order[s : s + bs]
                opt.zero_grad()
                out = self._features(X[idx], w) @ coef.T + icpt
                loss = loss_fn(out, target[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            self.loss_curve_.append(total / n)
        self.n_iter_ = max_iter
        self.weights_ = w.detach().numpy().copy()
        self.coef_ = coef.detach().numpy().copy()
        self.intercept_ = icpt.detach().numpy().copy()

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        with torch.no_grad():
            z = self._features(X, torch.as_tensor(self.weights_)).numpy()
        return z @ self.coef_.T + self.intercept_


class VQClassifier(ClassifierMixin, _VariationalModel):
    """Variational quantum classifier (data re-uploading circuit + linear read-out, softmax).

    Args:
        n_layers: re-uploading layers (each: upload features, trainable rotations, CNOT ring).
        n_qubits: qubits (``None``: one per feature; fewer uploads several features per qubit;
            more than the number of features is capped to it).
        max_iter: training epochs.
        learning_rate: Adam step size.
        batch_size: mini-batch size (``None``: full batch).
        backend: hqml backend name or instance; diff_method: hqml differentiation method.
        random_state: seeds the initial weights and the mini-batch order.
        noise_model: a ``hqml.noise.NoiseModel`` to train under.
        bandwidth: features are multiplied by it before they are uploaded as angles. ``"auto"``
            (default) uses ``pi / (4 s)``, ``s`` the largest feature standard deviation of the
            training data: on standardised features, raw angles of several radians make the
            model's landscape rugged and training stalls near chance.

    Attributes:
        classes_, n_features_in_, circuit_, weights_ (circuit weights), coef_ / intercept_
        (read-out), bandwidth_ (the scale used), loss_curve_ (mean cross-entropy per epoch),
        n_iter_.

    Example:
        >>> import numpy as np
        >>> from hqml.kernels import VQClassifier
        >>> X = np.array([[0.1, 0.2], [0.2, 0.1], [2.9, 3.0], [3.0, 2.8]])
        >>> VQClassifier(n_layers=1, max_iter=30, random_state=0).fit(X, [0, 0, 1, 1]).predict(X)
        array([0, 0, 1, 1])
    """

    def __init__(
        self,
        n_layers: int = 2,
        *,
        n_qubits: int | None = None,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        batch_size: int | None = None,
        backend: Any = "statevector",
        diff_method: str = "best",
        random_state: Any = None,
        noise_model: Any = None,
        bandwidth: float | str = "auto",
    ):
        self.bandwidth = bandwidth
        self.n_layers = n_layers
        self.n_qubits = n_qubits
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.backend = backend
        self.diff_method = diff_method
        self.random_state = random_state
        self.noise_model = noise_model

    def fit(self, X: Any, y: Any) -> VQClassifier:
        """Train on ``X`` (n_samples, n_features) and labels ``y``; returns ``self``."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        enc = LabelEncoder().fit(y)
        self.classes_ = enc.classes_
        target = torch.as_tensor(enc.transform(y), dtype=torch.int64)
        n_out = max(2, len(self.classes_))
        self._train(X, target, n_out, torch.nn.functional.cross_entropy)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Class logits ``(n, n_classes)`` (a margin ``(n,)`` for two classes)."""
        out = self._outputs(X)
        return out[:, 1] - out[:, 0] if len(self.classes_) == 2 else out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax of the read-out logits, ``(n_samples, n_classes)``."""
        out = self._outputs(X)[:, : len(self.classes_)]
        out = out - out.max(axis=1, keepdims=True)
        p = np.exp(out)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        out = self._outputs(X)[:, : len(self.classes_)]
        return self.classes_[np.argmax(out, axis=1)]


class VQRegressor(RegressorMixin, _VariationalModel):
    """Variational quantum regressor (data re-uploading circuit + linear read-out, squared loss).

    Targets are standardised for training and mapped back in :meth:`predict`. Arguments as in
    :class:`VQClassifier`.
    """

    def __init__(
        self,
        n_layers: int = 2,
        *,
        n_qubits: int | None = None,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        batch_size: int | None = None,
        backend: Any = "statevector",
        diff_method: str = "best",
        random_state: Any = None,
        noise_model: Any = None,
        bandwidth: float | str = "auto",
    ):
        self.bandwidth = bandwidth
        self.n_layers = n_layers
        self.n_qubits = n_qubits
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.backend = backend
        self.diff_method = diff_method
        self.random_state = random_state
        self.noise_model = noise_model

    def fit(self, X: Any, y: Any) -> VQRegressor:
        """Train on ``X`` (n_samples, n_features) and real targets ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_ = float(y.mean())
        scale = float(y.std())
        self.y_scale_ = scale if scale > 0 else 1.0
        target = torch.as_tensor((y - self.y_mean_) / self.y_scale_).reshape(-1, 1)
        self._train(X, target, 1, torch.nn.functional.mse_loss)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self._outputs(X)[:, 0] * self.y_scale_ + self.y_mean_

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        # a few-qubit circuit is no universal regressor: no promise of R^2 > 0.5 on any data
        tags.regressor_tags.poor_score = True
        return tags


__all__ = ["VQClassifier", "VQRegressor", "reuploading_circuit"]
