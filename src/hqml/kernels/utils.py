"""Kernel diagnostics: target alignment, validity (symmetric + PSD), exponential concentration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit


def _target_matrix(y: Any, like: torch.Tensor) -> torch.Tensor:
    y = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y).ravel()
    if y.shape[0] != like.shape[0]:
        raise ValueError(f"y has {y.shape[0]} labels but the kernel matrix is {tuple(like.shape)}")
    same = torch.as_tensor(y[:, None] == y[None, :], device=like.device)
    return torch.where(same, 1.0, -1.0).to(like.dtype)


def kernel_target_alignment(K: Any, y: Any, *, centered: bool = False) -> Any:
    """Kernel-target alignment ``<K, T>_F / (||K||_F ||T||_F)`` (Cristianini et al. 2001).

    ``T[i, j]`` is +1 where the labels agree and -1 where they differ (``y y^T`` for +-1 labels).
    With ``centered=True`` both matrices are centred first (Cortes et al. 2012).

    Args:
        K: a square kernel matrix (NumPy array or torch tensor; a tensor keeps the autograd graph).
        y: class labels, one per row of ``K``.
        centered: centre ``K`` and ``T`` in feature space before aligning.

    Returns:
        A float in [-1, 1] for a NumPy ``K``; a 0-d tensor for a torch ``K``.

    >>> import numpy as np
    >>> round(kernel_target_alignment(np.array([[1., -1.], [-1., 1.]]), [0, 1]), 6)
    1.0
    """
    as_tensor = isinstance(K, torch.Tensor)
    Kt = K if as_tensor else torch.as_tensor(np.asarray(K, dtype=np.float64))
    if Kt.dim() != 2 or Kt.shape[0] != Kt.shape[1]:
        raise ValueError(f"K must be a square matrix, got shape {tuple(Kt.shape)}")
    T = _target_matrix(y, Kt)
    if centered:
        n = Kt.shape[0]
        H = torch.eye(n, dtype=Kt.dtype, device=Kt.device) - 1.0 / n
        Kt, T = H @ Kt @ H, H @ T @ H
    a = (Kt * T).sum() / (torch.linalg.matrix_norm(Kt) * torch.linalg.matrix_norm(T)).clamp_min(
        1e-300
    )
    return a if as_tensor else float(a)


@dataclass(frozen=True)
class KernelCheck:
    """Result of :func:`check_kernel_matrix`."""

    symmetric: bool
    psd: bool
    max_asymmetry: float  # max |K - K^T|
    min_eigenvalue: float  # of (K + K^T) / 2

    @property
    def valid(self) -> bool:
        return self.symmetric and self.psd


def check_kernel_matrix(K: Any, *, atol: float = 1e-8) -> KernelCheck:
    """Check that a Gram matrix is a valid kernel: symmetric and positive semidefinite.

    Eigenvalues down to ``-atol * max(1, ||K||_2)`` count as zero (rounding).

    >>> check_kernel_matrix(np.array([[1.0, 0.5], [0.5, 1.0]])).valid
    True
    """
    K = np.asarray(K.detach().cpu() if isinstance(K, torch.Tensor) else K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square matrix, got shape {K.shape}")
    asym = float(np.max(np.abs(K - K.T))) if K.size else 0.0
    eig = np.linalg.eigvalsh((K + K.T) / 2) if K.size else np.zeros(1)
    scale = max(1.0, float(np.max(np.abs(eig))))
    return KernelCheck(
        symmetric=asym <= atol * scale,
        psd=float(eig[0]) >= -atol * scale,
        max_asymmetry=asym,
        min_eigenvalue=float(eig[0]),
    )


def is_valid_kernel(K: Any, *, atol: float = 1e-8) -> bool:
    """True when ``K`` is symmetric and PSD within ``atol`` (see :func:`check_kernel_matrix`)."""
    return check_kernel_matrix(K, atol=atol).valid


@dataclass(frozen=True)
class ConcentrationPoint:
    n_qubits: int
    mean: float  # mean off-diagonal entry
    variance: float  # variance of the off-diagonal entries


def kernel_concentration(
    kernel_factory: Callable[[Circuit], Any],
    feature_map_factory: Callable[[int], Circuit],
    qubits: Sequence[int],
    *,
    n_samples: int = 50,
    low: float = 0.0,
    high: float = 2 * np.pi,
    seed: int = 0,
) -> list[ConcentrationPoint]:
    """Variance of off-diagonal kernel entries as the number of qubits grows.

    Exponential concentration (variance shrinking like ``b**-n``) is the kernel analogue of
    barren plateaus: the Gram matrix tends to the identity and the model cannot generalise
    (Thanasilp et al. 2022). Inputs are drawn uniformly from ``[low, high)^d``.

    Args:
        kernel_factory: ``feature_map -> kernel``, e.g. ``FidelityKernel``.
        feature_map_factory: ``n_qubits -> Circuit`` (one input of ``d`` features).
        qubits: the qubit counts to scan.
        n_samples: samples per point (the Gram matrix is ``n_samples`` square).
        seed: seeds the random inputs.

    Returns:
        One :class:`ConcentrationPoint` per qubit count, in the given order.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2 (off-diagonal entries), got {n_samples}")
    rng = np.random.default_rng(seed)
    out = []
    for n in qubits:
        fm = feature_map_factory(int(n))
        d = sum(a.size for a in fm.inputs.values())
        X = rng.uniform(low, high, size=(n_samples, d))
        K = np.asarray(kernel_factory(fm)(X))
        off = K[~np.eye(n_samples, dtype=bool)]
        out.append(ConcentrationPoint(int(n), float(off.mean()), float(off.var())))
    return out


def concentration_rate(points: Sequence[ConcentrationPoint]) -> float:
    """Fitted ``b`` in ``variance ~ b**-n`` (least squares on log variance); > 1 concentrates."""
    if len(points) < 2:
        raise ValueError("need at least two qubit counts to fit a concentration rate")
    n = np.array([p.n_qubits for p in points], dtype=float)
    v = np.log(np.maximum([p.variance for p in points], 1e-300))
    slope = np.polyfit(n, v, 1)[0]
    return float(np.exp(-slope))


__all__ = [
    "kernel_target_alignment",
    "check_kernel_matrix",
    "is_valid_kernel",
    "KernelCheck",
    "kernel_concentration",
    "concentration_rate",
    "ConcentrationPoint",
]
