"""Quantum kitchen sinks (Wilson et al. 2018, arXiv:1806.08321) as the qml-benchmarks study
defines them: random affine maps of the input feed a fixed circuit whose single-shot samples are
the features of a logistic regression."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ...execute import sample
from .base import check_qubits
from .circuits import kitchen_sink_circuit


class QuantumKitchenSinks(ClassifierMixin, BaseEstimator):
    """Quantum kitchen sinks classifier (Wilson et al. 2018, arXiv:1806.08321; the study's
    ``QuantumKitchenSinks``).

    Features are min-max scaled to ``(-1, 1)`` (times ``scaling``). Each of ``n_episodes``
    episodes maps them to ``n_qubits`` angles ``omega_e x + beta_e`` (``omega`` Gaussian of
    variance ``var``, ``beta`` uniform in ``[0, 2 pi)``), runs ``RX`` encoding and the study's
    CNOT pattern, and samples the qubits once; the ``n_episodes * n_qubits`` bits feed
    ``LogisticRegression(C=inf, tol=1e-3)`` (no penalty). ``n_qfeatures``: ``"full"`` (one qubit per
    feature), ``"half"`` or an int.

    Departures: the single shots of a sample are seeded by ``random_state`` and the sample's
    values (the study keys its sampler once per model), so a sample's features do not depend on
    the batch it comes in; ``predict_proba`` returns the logistic regression's probabilities,
    while the study applies a further softmax to them (same predicted labels).
    """

    def __init__(
        self,
        n_episodes: int = 100,
        n_qfeatures: int | str = "full",
        var: float = 1.0,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
    ):
        self.n_episodes = n_episodes
        self.n_qfeatures = n_qfeatures
        self.var = var
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend

    def _n_qubits(self, d: int) -> int:
        if self.n_qfeatures == "full":
            return d
        if self.n_qfeatures == "half":
            return math.ceil(d / 2)
        if isinstance(self.n_qfeatures, (int, np.integer)) and self.n_qfeatures > 0:
            return int(self.n_qfeatures)
        raise ValueError(
            f"n_qfeatures must be 'full', 'half' or a positive int, got {self.n_qfeatures!r}"
        )

    def fit(self, X: Any, y: Any) -> QuantumKitchenSinks:
        """Draw the random maps, sample the features of ``X`` and fit the linear model."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        rng = check_random_state(self.random_state)
        d = X.shape[1]
        q = check_qubits(self._n_qubits(d), "QuantumKitchenSinks")
        e = int(self.n_episodes)
        self.n_qubits_ = q
        self.circuit_ = kitchen_sink_circuit(q)
        self.omegas_ = rng.normal(size=(e, q, d)) * math.sqrt(float(self.var))
        self.betas_ = 2 * math.pi * rng.uniform(size=(e, q))
        self.sample_seed_ = int(rng.randint(0, 2**31 - 1))
        self.scaler_ = MinMaxScaler(feature_range=(-1, 1)).fit(X)
        self.linear_model_ = LogisticRegression(
            C=np.inf, tol=1e-3, random_state=int(rng.randint(0, 100000))
        ).fit(self.quantum_features(X), y)
        self.classes_ = self.linear_model_.classes_
        return self

    def quantum_features(self, X: Any) -> np.ndarray:
        """The ``(n_samples, n_episodes * n_qubits)`` single-shot bit features.

        The shots of a sample are seeded by the fitted seed and the sample's own values, so a
        sample gets the same features whatever batch it comes in.
        """
        check_is_fitted(self, "omegas_")
        X = validate_data(self, X, reset=False)
        Xs = self.scaler_.transform(X) * float(self.scaling)
        angles = np.einsum("eqd,nd->neq", self.omegas_, Xs) + self.betas_[None]
        out = np.empty((X.shape[0], angles.shape[1] * self.n_qubits_))
        for i, row in enumerate(angles):
            digest = hashlib.blake2b(X[i].tobytes(), digest_size=8, key=self._key()).digest()
            gen = torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)
            bits = sample(
                self.circuit_,
                1,
                inputs={"x": torch.as_tensor(row, dtype=torch.float64)},
                backend=self.backend,
                seed=gen,
            )
            out[i] = bits.reshape(-1).to(torch.float64).numpy()
        return out

    def _key(self) -> bytes:
        return self.sample_seed_.to_bytes(8, "little")

    def decision_function(self, X: Any) -> np.ndarray:
        features = self.quantum_features(X)
        return self.linear_model_.decision_function(features)

    def predict(self, X: Any) -> np.ndarray:
        features = self.quantum_features(X)
        return self.linear_model_.predict(features)

    def predict_proba(self, X: Any) -> np.ndarray:
        features = self.quantum_features(X)
        return self.linear_model_.predict_proba(features)


__all__ = ["QuantumKitchenSinks"]
