"""Variational classifiers of the qml-benchmarks study (Bowles, Ahmed & Schuld 2024), trained
with the study's rule on hqml's simulator (batched, adjoint gradients by default).

Departures shared by all: a run that does not converge by ``max_steps`` warns instead of raising
(the study raised, so its grid search scored that setting as failed); training draws its
batches from a torch generator seeded by ``random_state``, so the numbers differ from JAX's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ...circuit.observables import Z
from ...circuit.templates import amplitude_angles
from .base import ZooClassifier, check_qubits
from .circuits import (
    circuit_centric_circuit,
    dressed_circuit,
    iqp_variational_circuit,
    qubits_per_copy,
    single_qubit_circuit,
    tree_tensor_circuit,
    tree_tensor_qubits,
)


class IQPVariationalClassifier(ZooClassifier):
    """IQP embedding + strongly entangling layers, ``f(x) = <Z_0 Z_1>`` (Havlicek et al. 2019,
    arXiv:1804.11326; the study's ``IQPVariationalClassifier``).

    ``IQPEmbedding(x, n_repeats=repeats)`` on one qubit per feature, then ``n_layers``
    strongly entangling layers with CZ entanglers; loss ``mean (1 - f y) / 2`` (the probability
    of a wrong label); features min-max scaled to ``(-pi/2, pi/2)`` and multiplied by
    ``scaling``. Weights start uniform in ``[0, 2 pi)``.

    Departures: with a single feature the observable is ``Z_0`` (there is no second qubit).

    Args:
        repeats, n_layers: the embedding's repetitions and the variational layers.
        learning_rate, batch_size, max_steps, convergence_interval: the study's training rule.
        scaling: factor on the scaled features. random_state: seeds weights and batches.
        backend, diff_method: the hqml backend and differentiation method.
    """

    def __init__(
        self,
        repeats: int = 1,
        n_layers: int = 10,
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
        diff_method: str = "adjoint",
    ):
        self.repeats = repeats
        self.n_layers = n_layers
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.diff_method = diff_method

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        n = check_qubits(n_features, "IQPVariationalClassifier")
        self.n_qubits_ = n
        self.circuit_ = iqp_variational_circuit(n, int(self.repeats), int(self.n_layers))
        self.observable_ = Z(0) @ Z(1) if n > 1 else Z(0)
        shape = (int(self.n_layers), n, 3)
        return {"weights": 2 * math.pi * torch.rand(shape, generator=gen, dtype=torch.float64)}

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        return self._expval(self.circuit_, [self.observable_], X, params)[:, 0]


class DressedQuantumCircuitClassifier(ZooClassifier):
    """The dressed quantum circuit (Mari et al. 2020, arXiv:1912.08278; the study's
    ``DressedQuantumCircuitClassifier``): ``W_out <Z>(pi/2 tanh(W_in x))``.

    Standardised features; a bias-free linear layer ``W_in (n, n)`` with ``pi/2 tanh``; H and
    ``RY`` encoding on ``n = n_features`` qubits; ``n_layers`` of ``RY`` and a CNOT ring; the
    ``<Z_i>`` through a bias-free linear layer ``W_out (2, n)`` to two logits; softmax
    cross-entropy. Initial weights as in the study: circuit uniform in ``[0, 2 pi)``, linear
    layers Gaussian divided by the number of features.

    Departures from the study's code: none in the model (training: see the package docstring).
    From the paper (as in the study): no pre-trained classical network in front, the linear
    layers have no bias, and the circuit has as many qubits as the data has features.

    Args: as :class:`IQPVariationalClassifier`, with ``n_layers`` the variational layers.
    """

    _preprocessing = "standard"
    _entangle = True

    def __init__(
        self,
        n_layers: int = 3,
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 100000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
        diff_method: str = "adjoint",
    ):
        self.n_layers = n_layers
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.diff_method = diff_method

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        n = check_qubits(n_features, type(self).__name__)
        self.n_qubits_ = n
        self.circuit_ = dressed_circuit(n, int(self.n_layers), self._entangle)
        f64 = torch.float64
        return {
            "circuit_weights": 2
            * math.pi
            * torch.rand(int(self.n_layers), n, generator=gen, dtype=f64),
            "input_weights": torch.randn(n, n, generator=gen, dtype=f64) / n_features,
            "output_weights": torch.randn(2, n, generator=gen, dtype=f64) / n_features,
        }

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        angles = torch.tanh(X @ params["input_weights"].T) * (math.pi / 2)
        obs = [Z(i) for i in range(self.n_qubits_)]
        z = self._expval(self.circuit_, obs, angles, {"circuit_weights": params["circuit_weights"]})
        return z @ params["output_weights"].T  # (B, 2) logits

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(out, (y > 0).long())

    def _positive_probability(self, out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(out, dim=1)[:, 1]

    def _score(self, out: torch.Tensor) -> torch.Tensor:
        return out[:, 1] - out[:, 0]


class DressedQuantumCircuitClassifierSeparable(DressedQuantumCircuitClassifier):
    """The study's separable ablation (Bowles, Ahmed & Schuld 2024, arXiv:2403.07059) of
    :class:`DressedQuantumCircuitClassifier` (Mari et al. 2020, arXiv:1912.08278): the same
    model without the CNOT rings. Departures: as the full model's (none in the model)."""

    _entangle = False


class CircuitCentricClassifier(ZooClassifier):
    """The circuit-centric classifier (Schuld et al. 2020, arXiv:1804.03680; the study's
    ``CircuitCentricClassifier``): amplitude encoding of ``n_input_copies`` copies of the
    padded, normalised input, strongly entangling layers, ``f = <Z_0> + b``, square loss
    ``(f - y)^2 / 2``.

    Features (times ``scaling``, no other scaling, as in the study) are padded to the next
    power of two with ``1 / 2^m`` and normalised. Weights uniform in ``[0, 2 pi)``, ``b = 0.01``.

    Departures: one feature uses one qubit per copy (the study's ``ceil(log2 d)`` gives none);
    ``predict_proba`` clips ``(1 + f) / 2`` to ``[0, 1]`` (the bias can push ``f`` past 1).

    Args: ``n_input_copies``, ``n_layers``, and the training arguments of
    :class:`IQPVariationalClassifier`.
    """

    _preprocessing = "none"

    def __init__(
        self,
        n_input_copies: int = 2,
        n_layers: int = 4,
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
        diff_method: str = "adjoint",
    ):
        self.n_input_copies = n_input_copies
        self.n_layers = n_layers
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.diff_method = diff_method

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        m = qubits_per_copy(n_features)
        copies = int(self.n_input_copies)
        self.n_qubits_ = check_qubits(m * copies, "CircuitCentricClassifier")
        self.circuit_ = circuit_centric_circuit(m, copies, int(self.n_layers))
        shape = (int(self.n_layers), self.n_qubits_, 3)
        return {
            "weights": 2 * math.pi * torch.rand(shape, generator=gen, dtype=torch.float64),
            "b": torch.tensor(0.01, dtype=torch.float64),
        }

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        m = qubits_per_copy(X.shape[1])
        pad = torch.full((X.shape[0], 2**m - X.shape[1]), 1.0 / 2**m, dtype=X.dtype)
        v = torch.cat([X, pad], dim=1)
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-300)
        angles = amplitude_angles(v, m)  # the encoding's gate angles (the circuit's input)
        z = self._expval(self.circuit_, [Z(0)], angles, {"weights": params["weights"]})[:, 0]
        return z + params["b"]

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        return (0.5 * (out - y) ** 2).mean()


class TreeTensorClassifier(ZooClassifier):
    """The tree tensor network classifier (Grant et al. 2018, arXiv:2011.06258 fig. 1; the
    study's ``TreeTensorClassifier``): exact amplitude encoding of the padded, normalised input
    on ``n`` qubits (``n`` a power of two with ``2^n >= d``), a tree of ``RY`` and CNOT layers,
    ``f = <Z_0> + b``, square loss ``(f - y)^2``. No scaling other than ``scaling`` (as the
    study); padding ``1 / 2^n``; weights uniform in ``[0, 2 pi)``, ``b`` Gaussian of scale 0.1.

    Departures: one feature is padded onto one qubit (the study's transform fails there);
    ``predict_proba`` clips ``(1 + f) / 2`` to ``[0, 1]``. As in the study (and the paper) the
    encoding is the exact amplitude-encoded state, not a trained approximation of it.
    """

    _preprocessing = "none"

    def __init__(
        self,
        learning_rate: float = 0.01,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
        diff_method: str = "adjoint",
    ):
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.diff_method = diff_method

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        n = check_qubits(tree_tensor_qubits(n_features), "TreeTensorClassifier")
        self.n_qubits_ = n
        self.circuit_ = tree_tensor_circuit(n)
        return {
            "weights": 2 * math.pi * torch.rand(2 * n - 1, generator=gen, dtype=torch.float64),
            "bias": 0.1 * torch.randn((), generator=gen, dtype=torch.float64),
        }

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        dim = 2**self.n_qubits_
        pad = torch.full((X.shape[0], dim - X.shape[1]), 1.0 / dim, dtype=X.dtype)
        v = torch.cat([X, pad], dim=1)
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-300)
        angles = amplitude_angles(v, self.n_qubits_)  # the encoding's gate angles
        z = self._expval(self.circuit_, [Z(0)], angles, {"weights": params["weights"]})[:, 0]
        return z + params["bias"]

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        return ((out - y) ** 2).mean()


class SeparableVariationalClassifier(ZooClassifier):
    """The separable variational model introduced by the study itself (Bowles, Ahmed & Schuld
    2024, arXiv:2403.07059; its ``SeparableVariationalClassifier``, a baseline without
    entanglement): every qubit alone runs ``encoding_layers`` of
    ``Rot(w) RY(x_i)`` and a final ``Rot(w)``; ``f`` is the mean ``<Z_i>``; the loss is the
    logistic cross-entropy of ``sigmoid(6 f)``. Min-max scaled features; weights uniform in
    ``[0, 2 pi)``.

    The qubits never interact, so hqml runs all qubits of all samples as one batch of one-qubit
    circuits (the per-qubit weights enter as inputs): the same values as the product circuit.
    ``predict_proba`` is ``((1 - f) / 2, (1 + f) / 2)`` as in the study (not the sigmoid the
    loss uses; the predicted labels agree).

    Departures from the study's code: none in the model (training: see the package docstring).
    """

    def __init__(
        self,
        encoding_layers: int = 1,
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
        diff_method: str = "adjoint",
    ):
        self.encoding_layers = encoding_layers
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.diff_method = diff_method

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        layers = int(self.encoding_layers)
        self.n_qubits_ = n_features
        self.circuit_ = single_qubit_circuit(layers)
        shape = (n_features, layers + 1, 3)
        return {"weights": 2 * math.pi * torch.rand(shape, generator=gen, dtype=torch.float64)}

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        b, n = X.shape
        w = params["weights"].reshape(1, n, -1).expand(b, n, -1)
        rows = torch.cat([X.reshape(b, n, 1), w], dim=2).reshape(b * n, -1)
        z = self._expval(self.circuit_, [Z(0)], rows, {})[:, 0]
        return z.reshape(b, n).mean(dim=1)

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        target = (y > 0).to(out.dtype)
        return torch.nn.functional.binary_cross_entropy_with_logits(6 * out, target)


__all__ = [
    "IQPVariationalClassifier",
    "DressedQuantumCircuitClassifier",
    "DressedQuantumCircuitClassifierSeparable",
    "CircuitCentricClassifier",
    "SeparableVariationalClassifier",
    "TreeTensorClassifier",
]
