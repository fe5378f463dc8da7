"""Quantum metric learning (Lloyd, Schuld, Ijaz, Izaac & Killoran 2020, arXiv:2001.03622) as
the qml-benchmarks study (Bowles, Ahmed & Schuld 2024) uses it: a trainable QAOA embedding
that pulls the two classes' quantum states apart, and prediction by state overlaps with stored
training examples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state

from ...circuit.circuit import Circuit
from ...execute import state
from ..layer import _check_int
from .base import ZooClassifier, check_qubits, count_training_circuits


def qaoa_weight_shape(n_layers: int, n_wires: int) -> tuple[int, int]:
    """PennyLane's ``QAOAEmbedding.shape``: ``(L, 1)``, ``(L, 3)`` or ``(L, 2 n)``."""
    return (n_layers, 1 if n_wires == 1 else 3 if n_wires == 2 else 2 * n_wires)


def qaoa_embedding(n_features: int, n_wires: int, n_layers: int) -> Circuit:
    """PennyLane's ``QAOAEmbedding`` (local field ``RY``): per layer ``RX(x_i)`` on the first
    ``n_features`` wires and ``H`` on the others, then ``RZZ`` couplings on the ring (one pair
    for two wires) and ``RY`` fields; a last feature layer. Input ``x``, weights ``weights``."""
    c = Circuit(n_wires)
    x = c.input("x", n_features)
    w = c.weight("weights", qaoa_weight_shape(n_layers, n_wires))

    def features() -> None:
        for q in range(n_wires):
            if q < n_features:
                c.rx(x[q], q)
            else:
                c.h(q)

    n_zz = 0 if n_wires == 1 else 1 if n_wires == 2 else n_wires
    for layer in range(n_layers):
        features()
        for i in range(n_zz):
            c.rzz(w[layer, i], i, (i + 1) % n_wires)
        for q in range(n_wires):
            c.ry(w[layer, n_zz + q], q)
    features()
    return c


def _fidelities(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``|<a_i|b_j>|^2`` for statevectors ``a (N, D)`` and ``b (M, D)``."""
    return (a.conj() @ b.T).abs() ** 2


class QuantumMetricLearner(ZooClassifier):
    """Quantum metric learning (Lloyd et al. 2020, arXiv:2001.03622; the study's
    ``QuantumMetricLearner``).

    Min-max scaled features (times ``scaling``) enter a trainable ``QAOAEmbedding`` on
    ``d + 1`` qubits (the extra wire only gets Hadamards: the paper's constant feature) with
    ``n_layers`` layers; weights start normal of scale 0.1. Training minimises
    ``1 - D_hs`` with the Hilbert-Schmidt distance ``D_hs = (tr rho^2 + tr sigma^2) / 2 -
    tr rho sigma`` of the class ensembles ``rho`` (class ``-1``) and ``sigma`` (``+1``) in each
    mini-batch. Prediction: the mean fidelity ``|<x|a>|^2`` with ``n_examples_predict`` stored
    training examples of each class; ``P(+1) = f_+ / (f_- + f_+)``, the decision function
    ``P(+1) - 1/2``.

    Mini-batches: with ``pairs="matched"`` (the study's code, used by ``hqml compare``) a batch
    is ``batch_size`` indices ``i`` drawn with replacement from the samples ``a_i`` of class
    ``-1``, each paired with the sample ``b_i`` of class ``+1`` at the same index (clamped to the
    last one when class ``+1`` is smaller, as JAX indexing does; when it is larger its samples
    past the size of class ``-1`` are never trained on, as in the study); the loss is then
    ``1 - D_hs`` with ``tr rho^2`` and ``tr sigma^2`` taken over the matched pairs only (``a_i``
    with ``a_i``: 1), i.e. the mean fidelity ``|<a_i|b_i>|^2`` of the pairs. With
    ``pairs="all"`` (default, the paper's ``D_hs``) a batch is ``batch_size`` samples of the
    whole training set and every pair in it counts.

    Departures: the prediction examples are drawn once at ``fit`` from ``random_state`` (the
    study draws new ones at every call, so its predictions vary between calls). Overlaps come
    from hqml's batched statevectors (``|<psi(x')|psi(x)>|^2``, what the study's
    ``U(x')^dagger U(x)`` circuit measures).

    Args:
        n_layers, n_examples_predict, pairs: as above.
        learning_rate, batch_size, max_steps, convergence_interval, scaling, random_state,
        backend, diff_method: the study's training rule and hqml's simulator.
    """

    def __init__(
        self,
        n_layers: int = 3,
        n_examples_predict: int = 32,
        pairs: str = "all",
        learning_rate: float = 0.01,
        batch_size: int = 32,
        max_steps: int = 50000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
        diff_method: str = "best",
    ):
        self.n_layers = n_layers
        self.n_examples_predict = n_examples_predict
        self.pairs = pairs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.diff_method = diff_method

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        if self.pairs not in ("all", "matched"):
            raise ValueError(f"pairs must be 'all' or 'matched', got {self.pairs!r}")
        layers = _check_int(self.n_layers, "n_layers")
        n = check_qubits(n_features + 1, "QuantumMetricLearner")
        self.n_qubits_ = n
        self.circuit_ = qaoa_embedding(n_features, n, layers)
        shape = qaoa_weight_shape(layers, n)
        return {"weights": 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)}

    def fit(self, X: Any, y: Any) -> QuantumMetricLearner:
        """Train the embedding, then store the prediction examples of each class."""
        k = _check_int(self.n_examples_predict, "n_examples_predict")
        super().fit(X, y)
        Xt = self._prepare(np.asarray(X, dtype=np.float64))
        labels = np.asarray(y)
        rng = check_random_state(self.random_state)
        self.examples_ = []
        for cls in self.classes_:
            rows = np.flatnonzero(labels == cls)
            pick = rng.choice(rows, size=min(k, len(rows)), replace=False)
            self.examples_.append(Xt[np.sort(pick)])
        return self

    def _states(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        count_training_circuits(self, X.shape[0])
        return state(
            self.circuit_,
            inputs={"x": X},
            weights={"weights": params["weights"]},
            backend=self.backend,
            diff_method=self.diff_method,
        ).reshape(X.shape[0], -1)

    def _training_rows(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pairs == "all":
            return X, y
        a, b = X[y < 0], X[y > 0]  # the study's A (class -1) and B (class +1)
        j = torch.clamp(torch.arange(len(a)), max=len(b) - 1)
        return torch.cat([a, b[j]], dim=1), torch.ones(len(a), dtype=y.dtype)

    def _training_output(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        if self.pairs == "all":
            return self._states(params, X)
        d = X.shape[1] // 2  # a row is a matched pair (a_i, b_i)
        return torch.stack([self._states(params, X[:, :d]), self._states(params, X[:, d:])])

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        if self.pairs == "matched":  # out: (2, B, D) states of the pairs; tr rho^2 = tr sigma^2 = 1
            return 1 - (1 - ((out[0].conj() * out[1]).sum(1).abs() ** 2).mean())
        a, b = out[y < 0], out[y > 0]
        if len(a) == 0 or len(b) == 0:  # a batch of one class: no distance to learn from
            return 1.0 + 0.0 * params["weights"].sum()
        aa, bb = _fidelities(a, a).mean(), _fidelities(b, b).mean()
        return 1 - (0.5 * (aa + bb) - _fidelities(a, b).mean())

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        psi = self._states(params, X)
        means = [_fidelities(psi, self._states(params, e)).mean(1) for e in self.examples_]
        return torch.stack(means, dim=1)  # (B, 2): mean fidelity with each class

    def _positive_probability(self, out: torch.Tensor) -> torch.Tensor:
        return out[:, 1] / out.sum(1)

    def _score(self, out: torch.Tensor) -> torch.Tensor:
        return self._positive_probability(out) - 0.5  # ranks as predict_proba; sign f_+ - f_-


__all__ = ["QuantumMetricLearner", "qaoa_embedding", "qaoa_weight_shape"]
