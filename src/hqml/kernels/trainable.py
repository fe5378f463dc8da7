"""Trainable quantum kernels: fit the feature map's weights to maximise kernel-target alignment.

The Gram matrix is differentiable in the weights (backprop through the simulator), so any torch
optimizer can climb the alignment (Hubregtsen et al. 2022). The result is a copy of the kernel
with the trained weights frozen, ready for :class:`~hqml.kernels.QSVC`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.base import clone

from .base import QuantumKernel, check_samples, resolve_feature_map
from .utils import kernel_target_alignment

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
}


@dataclass
class AlignmentTraining:
    """Result of :func:`train_kernel`: the trained kernel and the alignment after each step."""

    kernel: QuantumKernel
    history: list[float] = field(default_factory=list)


def train_kernel(
    kernel: QuantumKernel,
    X: Any,
    y: Any,
    *,
    epochs: int = 50,
    learning_rate: float = 0.05,
    optimizer: str = "adam",
    batch_size: int | None = None,
    centered: bool = False,
    random_state: int | None = None,
) -> AlignmentTraining:
    """Train a kernel's feature-map weights to maximise kernel-target alignment on ``(X, y)``.

    Args:
        kernel: a quantum kernel (exact, ``shots=None``) whose feature map declares weights.
            Its ``weights`` (if set) are the starting point; otherwise they start uniform in
            ``[-pi, pi)``, drawn from ``random_state``.
        X: training samples ``(n_samples, n_features)``.
        y: class labels.
        epochs: optimisation steps.
        learning_rate: the optimizer's step size.
        optimizer: ``"adam"``, ``"sgd"``, ``"adagrad"`` or ``"rmsprop"``.
        batch_size: align on a random subset of this many samples per step (``None``: all).
        centered: use centred alignment.
        random_state: seeds the initial weights and the subsets.

    Returns:
        :class:`AlignmentTraining` with a clone of ``kernel`` holding the trained weights
        (NumPy arrays) and the alignment history (one value per step, before the update).

    Raises:
        ValueError: the kernel samples shots, its feature map has no weights, or bad settings.
    """
    X, y = _checked(kernel, X, y, epochs, optimizer)
    circuit = resolve_feature_map(kernel.feature_map, X.shape[1])
    if not circuit.weights:
        raise ValueError("the feature map has no weights to train; declare some with c.weight(...)")
    gen = torch.Generator().manual_seed(int(random_state) if random_state is not None else 0)
    if random_state is None:
        gen.seed()
    if kernel.weights is None:
        start = {
            k: (torch.rand(a.shape, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
            for k, a in circuit.weights.items()
        }
        work = clone(kernel).set_params(weights=start)
    else:
        work = clone(kernel)
    params = work._weight_tensors(circuit, requires_grad=True)
    bandwidth = work.bandwidth_value()
    opt = _OPTIMIZERS[optimizer](list(params.values()), lr=learning_rate)
    history: list[float] = []
    n = X.shape[0]
    for _ in range(int(epochs)):
        idx = np.arange(n)
        if batch_size is not None and batch_size < n:
            idx = torch.randperm(n, generator=gen)[:batch_size].numpy()
            while np.unique(y[idx]).size < 2:  # alignment is undefined on one class
                idx = torch.randperm(n, generator=gen)[:batch_size].numpy()
        opt.zero_grad()
        K = work._gram(circuit, X[idx] * bandwidth, None, params)
        a = kernel_target_alignment(K, y[idx], centered=centered)
        (-a).backward()
        opt.step()
        history.append(float(a.detach()))
    trained = {k: v.detach().numpy().copy() for k, v in params.items()}
    return AlignmentTraining(kernel=work.set_params(weights=trained), history=history)


def _checked(
    kernel: QuantumKernel, X: Any, y: Any, epochs: Any, optimizer: str
) -> tuple[np.ndarray, np.ndarray]:
    """``train_kernel``'s arguments checked: the samples and labels as arrays."""
    if getattr(kernel, "shots", None) is not None:
        raise ValueError(
            "train_kernel needs an exact kernel (shots=None); sampled Gram matrices are"
            " not differentiable"
        )
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(_OPTIMIZERS)}")
    X = check_samples(X)
    y = np.asarray(y).ravel()
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]} labels")
    if np.unique(y).size < 2:
        raise ValueError("kernel-target alignment needs at least two classes in y")
    return X, y


__all__ = ["train_kernel", "AlignmentTraining"]
