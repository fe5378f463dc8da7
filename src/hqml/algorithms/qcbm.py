"""The quantum circuit Born machine: a generative model ``p_theta(x) = |<x|U(theta)|0>|^2``.

Trained by minimising the squared maximum mean discrepancy to a target distribution,
``MMD^2 = (p - q)^T K (p - q)`` with a Gaussian-mixture kernel on bit vectors
``K(x, y) = mean_s exp(-|x - y|^2 / (2 s))`` (Liu & Wang 2018), and exact gradients through
:func:`hqml.probs` (adjoint / backprop).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..circuit.templates import hardware_efficient
from ..execute import probs, sample
from .optimizers import minimize


def bars_and_stripes(rows: int = 2, cols: int = 2) -> np.ndarray:
    """All distinct bars-and-stripes images as bit rows (row-major pixels, wire 0 first).

    A bar image fills whole columns, a stripe image whole rows; the empty and full images are
    both, so there are ``2**rows + 2**cols - 2`` patterns (6 for 2 x 2).
    """
    patterns = set()
    for cols_on in itertools.product((0, 1), repeat=cols):
        patterns.add(tuple(cols_on[c] for r in range(rows) for c in range(cols)))
    for rows_on in itertools.product((0, 1), repeat=rows):
        patterns.add(tuple(rows_on[r] for r in range(rows) for c in range(cols)))
    return np.array(sorted(patterns), dtype=np.int64)


def empirical_distribution(bits: Any, n_qubits: int) -> np.ndarray:
    """Frequencies over the ``2**n`` basis states of bit rows (wire 0 = most significant bit)."""
    bits = np.asarray(bits, dtype=np.int64)
    if bits.ndim != 2 or bits.shape[1] != n_qubits or not np.isin(bits, (0, 1)).all():
        raise ValueError(f"data must be an (m, {n_qubits}) array of 0/1 bits")
    idx = bits @ (1 << np.arange(n_qubits - 1, -1, -1))
    return np.bincount(idx, minlength=2**n_qubits) / len(bits)


def gaussian_kernel_matrix(n_qubits: int, bandwidths: Sequence[float] = (0.25, 4.0)) -> np.ndarray:
    """``K[i, j] = mean_s exp(-hamming(i, j) / (2 s))`` over basis states ``i, j``."""
    idx = np.arange(2**n_qubits)
    bits = (idx[:, None] >> np.arange(n_qubits - 1, -1, -1)) & 1
    d2 = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    return np.mean([np.exp(-d2 / (2.0 * s)) for s in bandwidths], axis=0)


@dataclass
class QCBMResult:
    """Outcome of :meth:`QCBM.fit`: parameters, final MMD^2 and KL(target || model)."""

    params: np.ndarray
    mmd: float
    kl: float
    history: list[float] = field(default_factory=list)
    n_evaluations: int = 0


class QCBM:
    """A quantum circuit Born machine on ``n_qubits`` qubits.

    Args:
        n_qubits: qubits (= bits per sample).
        layers: hardware-efficient layers (RY-RZ per wire, then a CX ring) when no ``ansatz``.
        ansatz: a circuit with weights only, instead of the default.
        bandwidths: kernel bandwidths ``s``.
        optimizer: a method of :func:`~hqml.algorithms.optimizers.minimize`.
        maxiter: optimiser iterations.
        seed: seeds the initial parameters (uniform in ``[-pi, pi)``) and sampling.
        diff_method: passed to :func:`hqml.probs` (exact methods for gradient optimisers).

    >>> model = QCBM(2, layers=2, seed=1)
    >>> res = model.fit(np.array([[0, 0], [1, 1]]))
    >>> res.mmd < 1e-6
    True
    """

    def __init__(
        self,
        n_qubits: int,
        layers: int = 4,
        ansatz: Circuit | None = None,
        bandwidths: Sequence[float] = (0.25, 4.0),
        optimizer: str = "L-BFGS-B",
        maxiter: int = 300,
        seed: int | None = None,
        diff_method: str = "best",
        callback: Callable[[np.ndarray, float], Any] | None = None,
    ):
        if ansatz is None:
            ansatz = hardware_efficient(
                n_qubits,
                layers,
                rotations=("ry", "rz"),
                entangler="cx",
                weight_name="w",
                entanglement="circular" if n_qubits > 2 else "linear",
            )
        if ansatz.n_qubits != n_qubits:
            raise ValueError(f"the ansatz has {ansatz.n_qubits} qubits, expected {n_qubits}")
        if ansatz.inputs or not ansatz.weights:
            raise ValueError("the ansatz must have weights and no inputs")
        self.n_qubits, self.ansatz = n_qubits, ansatz
        self.optimizer, self.maxiter, self.seed = optimizer, maxiter, seed
        self.diff_method, self.callback = diff_method, callback
        self.kernel = torch.as_tensor(gaussian_kernel_matrix(n_qubits, bandwidths))
        self.shapes = {k: v.shape for k, v in ansatz.weights.items()}
        self.num_parameters = int(sum(np.prod(s) for s in self.shapes.values()))
        rng = np.random.default_rng(seed)
        self.params = rng.uniform(-np.pi, np.pi, self.num_parameters)

    def _weights(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        out, start = {}, 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            out[name] = theta[start : start + size].reshape(shape)
            start += size
        return out

    def distribution(self, params: Any = None) -> torch.Tensor:
        """Model probabilities over the ``2**n`` basis states (differentiable)."""
        t = torch.as_tensor(self.params if params is None else params, dtype=torch.float64)
        return probs(self.ansatz, weights=self._weights(t), diff_method=self.diff_method)

    def mmd(self, target: Any, params: Any = None) -> torch.Tensor:
        """Squared MMD between the model and a target distribution (2**n,)."""
        diff = self.distribution(params) - torch.as_tensor(target, dtype=torch.float64)
        return diff @ self.kernel @ diff

    def _target(self, data: Any) -> np.ndarray:
        arr = np.asarray(data)
        if arr.ndim == 1 and arr.shape[0] == 2**self.n_qubits:
            if (arr < 0).any() or abs(arr.sum() - 1) > 1e-8:
                raise ValueError("a target distribution must be non-negative and sum to 1")
            return arr.astype(float)
        return empirical_distribution(arr, self.n_qubits)

    def fit(self, data: Any) -> QCBMResult:
        """Train on bit rows ``(m, n)`` or a target distribution ``(2**n,)``."""
        target = self._target(data)
        res = minimize(
            lambda t: self.mmd(target, t),
            self.params,
            method=self.optimizer,
            maxiter=self.maxiter,
            callback=self.callback,
            seed=self.seed,
        )
        self.params = res.x
        with torch.no_grad():
            p = self.distribution().numpy()
        support = target > 0
        kl = float(
            np.sum(target[support] * np.log(target[support] / np.maximum(p[support], 1e-300)))
        )
        return QCBMResult(res.x, res.fun, kl, res.history, res.n_evaluations)

    def sample(self, shots: int, seed: int | None = None) -> np.ndarray:
        """``shots`` bit rows drawn from the trained model."""
        t = torch.as_tensor(self.params, dtype=torch.float64)
        return sample(
            self.ansatz, shots, weights=self._weights(t), seed=self.seed if seed is None else seed
        ).numpy()
