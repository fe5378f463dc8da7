"""The data re-uploading classifier (Perez-Salinas et al. 2020, arXiv:1907.02085) as the
qml-benchmarks study coded its multi-qubit version, and the study's four ablations."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ...circuit.observables import Z
from .base import ZooClassifier, check_qubits
from .circuits import reuploading_circuit

_OBSERVABLE_TYPES = ("single", "half", "full")


class DataReuploadingClassifier(ZooClassifier):
    """Data re-uploading classifier (Perez-Salinas et al. 2020, arXiv:1907.02085; the study's
    ``DataReuploadingClassifier``).

    Features (min-max scaled to ``(-pi/2, pi/2)``, times ``scaling``, zero-padded to a multiple
    of three) are uploaded three per qubit (``ceil(d / 3)`` qubits) as
    ``Rot(x * omega_l)``, followed by a trainable ``Rot(theta_l)`` and CZs on alternating
    neighbour pairs, ``n_layers`` times; a final ``Rot(x * omega_L + theta_L)``. The loss is
    eq. (23) of the paper, ``sum_j (alpha0_j p0_j - (1-y)/2)^2 + (alpha1_j p1_j - (1+y)/2)^2 / 2``
    over the first ``w`` qubits (``observable_type``: one, half or all qubits) with
    ``p0 = (1 - <Z_j>) / 2``, ``p1 = (1 + <Z_j>) / 2`` as in the study's code; the prediction is
    the sign of the mean ``<Z_j>`` over those qubits. Initial ``thetas`` and ``omegas`` uniform in
    ``[0, 1)``, ``alphas`` one (the study's initialisation).

    Departures: none in the model; see the package docstring for training.

    Args:
        n_layers: re-uploading blocks (the data enters ``n_layers + 1`` times).
        observable_type: ``"single"``, ``"half"`` or ``"full"``.
        learning_rate, batch_size, max_steps, convergence_interval, scaling, random_state,
        backend, diff_method: as :class:`IQPVariationalClassifier`.
    """

    _variant = "full"

    def __init__(
        self,
        n_layers: int = 4,
        observable_type: str = "single",
        learning_rate: float = 0.05,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
        backend: Any = "statevector",
        diff_method: str = "adjoint",
    ):
        self.n_layers = n_layers
        self.observable_type = observable_type
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.diff_method = diff_method

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        if self.observable_type not in _OBSERVABLE_TYPES:
            raise ValueError(
                f"observable_type must be one of {_OBSERVABLE_TYPES}, got {self.observable_type!r}"
            )
        n = check_qubits(math.ceil(n_features / 3), type(self).__name__)
        layers = int(self.n_layers)
        self.n_qubits_ = n
        self.observable_weight_ = {"single": 1, "half": max(1, n // 2), "full": n}[
            self.observable_type
        ]
        self.circuit_ = reuploading_circuit(n, layers, self._variant)
        f64 = torch.float64
        params = {"thetas": torch.rand(n, layers + 1, 3, generator=gen, dtype=f64)}
        if self._variant != "no_scaling":
            params["omegas"] = torch.rand(layers + 1, 3 * n, generator=gen, dtype=f64)
        params["alphas"] = torch.ones(2, self.observable_weight_, dtype=f64)
        return params

    def _expvals(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        pad = 3 * self.n_qubits_ - X.shape[1]
        x = torch.nn.functional.pad(X, (0, pad))
        weights = {k: v for k, v in params.items() if k != "alphas"}
        obs = [Z(i) for i in range(self.n_qubits_)]
        return self._expval(self.circuit_, obs, x, weights)  # (B, n)

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        return self._expvals(params, X)[:, : self.observable_weight_].mean(dim=1)

    def _training_output(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        return self._expvals(params, X)  # every qubit: the losses below pick their own

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        alphas = params["alphas"]
        z = out[:, : self.observable_weight_]
        p0, p1 = (1 - z) / 2, (1 + z) / 2
        y0, y1 = ((1 - y) / 2)[:, None], ((1 + y) / 2)[:, None]
        per_sample = ((alphas[0] * p0 - y0) ** 2 + (alphas[1] * p1 - y1) ** 2).sum(dim=1)
        return 0.5 * per_sample.mean()


class DataReuploadingClassifierNoScaling(DataReuploadingClassifier):
    """The study's "no scaling" ablation (Bowles, Ahmed & Schuld 2024, arXiv:2403.07059)
    of :class:`DataReuploadingClassifier` (Perez-Salinas et al. 2020, arXiv:1907.02085): no
    trainable input scaling (no ``omegas``); each layer is one ``Rot(x + theta_l)`` per qubit,
    then the CZs, and a final ``Rot(x + theta_L)``; loss, readout and initialisation as the
    full model.

    Departures from the study's code: none in the model (training: see the package docstring).
    """

    _variant = "no_scaling"


class DataReuploadingClassifierNoTrainableEmbedding(DataReuploadingClassifier):
    """The study's "no trainable embedding" ablation (Bowles, Ahmed & Schuld 2024,
    arXiv:2403.07059) of :class:`DataReuploadingClassifier` (Perez-Salinas et al. 2020,
    arXiv:1907.02085): the data is encoded first (all ``Rot(x * omega_l)``, no entangler), then
    the trainable ``Rot(theta_l)`` + CZ layers follow; data and trainable gates no longer
    alternate. As in the study's code the ``omegas`` are still trained.

    Departures from the study's code: none in the model (training: see the package docstring).
    """

    _variant = "no_trainable_embedding"


class DataReuploadingClassifierSeparable(DataReuploadingClassifier):
    """The study's separable ablation (Bowles, Ahmed & Schuld 2024, arXiv:2403.07059) of
    :class:`DataReuploadingClassifier` (Perez-Salinas et al. 2020, arXiv:1907.02085): no CZ
    gates; each layer, and the final one, is one ``Rot(x * omega_l + theta_l)`` per qubit (the
    study fuses the data and trainable rotations here); loss, readout and initialisation as the
    full model.

    Departures from the study's code: none in the model (training: see the package docstring).
    """

    _variant = "separable"


class DataReuploadingClassifierNoCost(DataReuploadingClassifier):
    """The study's "no cost" ablation (Bowles, Ahmed & Schuld 2024, arXiv:2403.07059) of
    :class:`DataReuploadingClassifier` (Perez-Salinas et al. 2020, arXiv:1907.02085): the
    eq. (23) cost is replaced by the linear loss ``(1 - y sum_j <Z_j>) / 2`` over all qubits
    (the study's code sums, not averages, so the loss can leave ``[0, 1]``); the ``alphas`` are
    then untrained; prediction unchanged.

    Departures from the study's code: none in the model (training: see the package docstring).
    """

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        total = out.sum(dim=1)
        return ((1 - total * y) / 2).mean()


__all__ = [
    "DataReuploadingClassifier",
    "DataReuploadingClassifierNoScaling",
    "DataReuploadingClassifierNoTrainableEmbedding",
    "DataReuploadingClassifierSeparable",
    "DataReuploadingClassifierNoCost",
]
