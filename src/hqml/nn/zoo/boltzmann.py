"""The variational quantum Boltzmann machine classifier of the qml-benchmarks study (Bowles,
Ahmed & Schuld 2024; model of Zoufal, Lucchi & Woerner, arXiv:2006.06004), with the exact Gibbs
state of its data-dependent Hamiltonian, as the study computes it.

The state is a mixed ``2^n x 2^n`` density matrix, not a circuit: it is built in torch from the
Pauli matrices of hqml's observables and exponentiated exactly (one eigendecomposition per sample,
``torch.linalg.eigh``), a whole mini-batch at once, differentiable in the weights.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ...circuit.observables import X, Z
from .base import ZooClassifier

MAX_GIBBS_QUBITS = 10  # a dense 2^n x 2^n matrix exponential per sample and step: refuse beyond


def visible_count(visible_qubits: str, n: int) -> int:
    """Qubits read out: ``"single"`` one, ``"half"`` ``max(1, n // 2)``, ``"full"``/``"all"``
    every one."""
    if visible_qubits == "single":
        return 1
    if visible_qubits == "half":
        return max(1, n // 2)
    if visible_qubits in ("full", "all"):
        return n
    raise ValueError(f"visible_qubits must be 'single', 'half' or 'full', got {visible_qubits!r}")


def _check_observable(observable_type: str) -> str:
    if observable_type not in ("sum", "product"):
        raise ValueError(f"observable_type must be 'sum' or 'product', got {observable_type!r}")
    return observable_type


def _check_temperature(temperature: Any) -> float:
    ok = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if not (ok and np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    return float(temperature)


class _GibbsDiagonal(torch.autograd.Function):
    """The diagonal of ``exp(-(H - l I))`` for a batch of real symmetric ``H`` (``l`` its lowest
    eigenvalue, so nothing overflows; the shift cancels in the normalised Gibbs state and is held
    constant in the gradient) from one eigendecomposition ``H = V diag(l) V^T``. The gradient is
    the Daleckii-Krein formula ``V (F * (V^T diag(g) V)) V^T`` with ``F_ij`` the divided
    differences of ``exp(-(. - l))`` at the eigenvalues (its derivative where two coincide), so
    degenerate spectra have finite, exact gradients. A training step at 2 qubits (batch 32) takes
    about 0.6 of the time it took with ``torch.linalg.matrix_exp`` forward and backward
    (tests/nn/test_zoo_boltzmann.py checks values against SciPy's ``expm``, gradients against
    finite differences and, at degenerate spectra, against autograd through ``matrix_exp``)."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor) -> torch.Tensor:
        lam, v = torch.linalg.eigh(h)
        s = lam - lam[:, :1]
        w = torch.exp(-s)  # in (0, 1]
        ctx.save_for_backward(s, v, w)
        return ((v * v) @ w.unsqueeze(-1)).squeeze(-1)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        s, v, w = ctx.saved_tensors
        delta = s.unsqueeze(-1) - s.unsqueeze(-2)  # s_i - s_j
        small = delta.abs() < 1e-3
        direct = (w.unsqueeze(-1) - w.unsqueeze(-2)) / torch.where(small, 1.0, delta)
        # (w_i - w_j) / delta = w_j expm1(-delta) / delta: its Taylor series to delta^3
        near = -w.unsqueeze(-2) * (1 - delta / 2 * (1 - delta / 3 * (1 - delta / 4)))
        f = torch.where(small, near, direct)
        vt = v.transpose(-1, -2)
        return v @ (f * (vt @ (g.unsqueeze(-1) * v))) @ vt


class QuantumBoltzmannMachine(ZooClassifier):
    """Variational quantum Boltzmann machine (Zoufal, Lucchi & Woerner 2021,
    arXiv:2006.06004; the study's ``QuantumBoltzmannMachine``) with the exact Gibbs state.

    One qubit per (standardised, times ``scaling``) feature and the Hamiltonian
    ``H(x) = sum_i (theta_{2i} . x) Z_i + (theta_{2i+1} . x) X_i + sum_{i<j} (theta_{ij} . x)
    Z_i Z_j``; the model is ``f(x) = Tr[O rho(x)]`` with ``rho = exp(-H / T) / Z`` and ``O``
    the mean (``observable_type="sum"``) or product of ``Z_i`` over the first ``n_visible``
    qubits (``visible_qubits``: one, half or all); loss the binary cross-entropy of
    ``P(+1) = (1 + f) / 2``. Weights start standard normal (the study's initialisation).

    Departures from the study's code: ``shared_coupling=False`` (the default) gives every pair
    ``i<j`` its own ``theta_ij``, as the paper writes ``H``; the study's code reads one weight
    vector for all pairs, which ``shared_coupling=True`` reproduces (``hqml compare`` uses it).
    ``visible_qubits="full"`` (in the study's grid) and ``"all"`` both mean every qubit (the
    study's code knows only ``"all"``, so its grid points ``"full"`` failed); ``"half"`` on one
    qubit reads that qubit (the study's ``n // 2`` reads none); ``"product"`` is the product of
    the visible ``Z_i`` for any number of visible qubits (the study's code builds it only when
    every qubit is visible). More than ``MAX_GIBBS_QUBITS`` (10) features are refused.

    Args:
        visible_qubits, observable_type, temperature: the study's hyperparameters.
        shared_coupling: one ``Z_i Z_j`` weight vector for all pairs, as the study's code.
        learning_rate, batch_size, max_steps, convergence_interval, scaling, random_state: the
        study's training rule (as :class:`IQPVariationalClassifier`).
    """

    _preprocessing = "standard"

    def __init__(
        self,
        visible_qubits: str = "single",
        observable_type: str = "sum",
        temperature: float = 1.0,
        shared_coupling: bool = False,
        learning_rate: float = 0.001,
        batch_size: int = 32,
        max_steps: int = 10000,
        convergence_interval: int | None = 200,
        scaling: float = 1.0,
        random_state: Any = 42,
    ):
        self.visible_qubits = visible_qubits
        self.observable_type = observable_type
        self.temperature = temperature
        self.shared_coupling = shared_coupling
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        n = n_features
        if n > MAX_GIBBS_QUBITS:
            raise ValueError(
                f"QuantumBoltzmannMachine would need a dense {2**n} x {2**n} Gibbs state per"
                f" sample ({n} qubits, more than {MAX_GIBBS_QUBITS}); reduce the number of"
                " features (e.g. PCA) first"
            )
        self._check_settings(n)
        pairs = list(itertools.combinations(range(n), 2))
        zs = np.array([np.real(np.diag(Z(i).to_matrix(n))) for i in range(n)])
        zz = np.array([zs[i] * zs[j] for i, j in pairs]).reshape(len(pairs), 2**n)
        self.n_qubits_ = n
        self._z = torch.as_tensor(zs)
        self._x = torch.as_tensor(np.array([np.real(X(i).to_matrix(n)) for i in range(n)]))
        self._obs = self._observable(self._z[: self.n_visible_])
        rows = 2 * n + len(pairs)  # Z_0, X_0, Z_1, X_1, ..., then the pairs (the study's order)
        # the matrix each row's coefficient multiplies, flattened: H(x) = (c(x) @ basis)
        basis = np.zeros((rows, 2**n, 2**n))
        for i in range(n):
            basis[2 * i] = np.diag(zs[i])
            basis[2 * i + 1] = self._x[i].numpy()
        for k in range(len(pairs)):
            # shared: the first pair row's coefficient multiplies every pair (the others none)
            basis[2 * n if self.shared_coupling else 2 * n + k] += np.diag(zz[k])
        self._basis = torch.as_tensor(basis.reshape(rows, -1))
        return {"thetas": torch.randn(rows, n, generator=gen, dtype=torch.float64)}

    def _check_settings(self, n: int) -> None:
        self.n_visible_ = visible_count(self.visible_qubits, n)
        _check_observable(self.observable_type)
        _check_temperature(self.temperature)

    def _observable(self, signs: torch.Tensor) -> torch.Tensor:
        """The diagonal of ``O`` from the ``Z_i`` diagonals of the visible qubits."""
        return signs.mean(0) if self.observable_type == "sum" else signs.prod(0)

    def hamiltonians(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        """``(B, 2^n, 2^n)`` real Hamiltonians ``H(x)`` of the (scaled) rows of ``X``."""
        d = 2**self.n_qubits_
        c = X @ params["thetas"].T  # (B, rows)
        return (c @ self._basis).reshape(-1, d, d)

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        h = self.hamiltonians(params, X) / float(self.temperature)
        d = _GibbsDiagonal.apply(h)
        return (d @ self._obs) / d.sum(1)

    def _loss(
        self, out: torch.Tensor, y: torch.Tensor, params: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        p = (1 + out) / 2
        t = (y > 0).to(out.dtype)
        return (-t * torch.log(p) - (1 - t) * torch.log(1 - p)).mean()


class QuantumBoltzmannMachineSeparable(QuantumBoltzmannMachine):
    """The study's separable ablation (Bowles, Ahmed & Schuld 2024, arXiv:2403.07059) of
    :class:`QuantumBoltzmannMachine` (Zoufal, Lucchi & Woerner 2021): every visible qubit
    ``i`` alone in the Gibbs state of ``H_i(x) = (theta_{2i} . x) Z + (theta_{2i+1} . x) X``,
    so ``<Z_i> = -(a / r) tanh(r / T)`` with ``a = theta_{2i} . x``, ``r = |(a, b)|`` (exact,
    no matrix exponential, any number of qubits); ``f`` the mean or product of the visible
    ``<Z_i>``. Weights ``(2n, n)`` standard normal, as the study. Departures as the full
    model's (``"full"``/``"all"``, ``"half"`` on one qubit); ``shared_coupling`` has no effect.
    """

    def _setup(self, n_features: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        self._check_settings(n_features)
        self.n_qubits_ = n_features
        return {
            "thetas": torch.randn(2 * n_features, n_features, generator=gen, dtype=torch.float64)
        }

    def _forward(self, params: Mapping[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
        k = self.n_visible_
        t = float(self.temperature)
        c = X @ params["thetas"][: 2 * k].T  # (B, 2k): a_0, b_0, a_1, b_1, ...
        a, b = c[:, 0::2], c[:, 1::2]
        r2 = a**2 + b**2
        small = r2 < 1e-16
        r = torch.sqrt(torch.where(small, torch.ones_like(r2), r2))
        ratio = torch.where(small, 1 / t - r2 / (3 * t**3), torch.tanh(r / t) / r)
        z = -a * ratio
        return z.mean(1) if self.observable_type == "sum" else z.prod(1)


__all__ = [
    "QuantumBoltzmannMachine",
    "QuantumBoltzmannMachineSeparable",
    "MAX_GIBBS_QUBITS",
    "visible_count",
]
