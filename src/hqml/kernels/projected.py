"""The projected quantum kernel of Huang et al. (2021), from one-qubit reduced density matrices.

``k(x, y) = exp(-gamma * sum_q ||rho_q(x) - rho_q(y)||_F^2)`` where ``rho_q`` is the reduced
state of qubit ``q``. Since ``rho_q = (I + <X_q> X + <Y_q> Y + <Z_q> Z) / 2``, the squared
Frobenius distance is half the squared distance of the Bloch vectors, so the kernel needs only
the ``3n`` one-qubit Pauli expectations of each sample (measurable on hardware, with shots).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..backends.mps import worst
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum, X, Y, Z
from ..execute import expval
from .base import FeatureMap, QuantumKernel, complex_dtype
from .fidelity import _auto_batch, _real
from .simplify import merge_parity_phases


def bloch_vectors(
    circuit: Circuit,
    data: np.ndarray,
    weights: Mapping[str, torch.Tensor],
    *,
    backend: Any = "statevector",
    dtype: torch.dtype = torch.complex128,
    shots: int | None = None,
    seed: torch.Generator | None = None,
    batch_size: int | None = None,
    noise_model: Any = None,
) -> torch.Tensor:
    """``(N, n, 3)``: ``<X_q>, <Y_q>, <Z_q>`` of every qubit ``q`` for each row of ``data``."""
    if noise_model is None:  # noise acts per gate: keep the circuit as written under noise
        circuit = merge_parity_phases(circuit)  # Pauli expectations ignore global phases
    n = circuit.n_qubits
    observables: list[PauliSum] = [P(q) for q in range(n) for P in (X, Y, Z)]
    name = next(iter(circuit.inputs))
    b = _auto_batch(n, batch_size, 16 if dtype == torch.complex128 else 8)
    rdt = _real(dtype)
    Xt = torch.as_tensor(data, dtype=rdt)
    w = {k: v.to(rdt) for k, v in weights.items()}
    parts = [
        expval(
            circuit,
            observables,
            inputs={name: Xt[i : i + b]},
            weights=w,
            backend=backend,
            dtype=dtype,
            shots=shots,
            seed=seed,
            noise_model=noise_model,
        )
        for i in range(0, Xt.shape[0], b)
    ]
    out = (parts[0] if len(parts) == 1 else torch.cat(parts)).reshape(-1, n, 3)
    report = None  # an MPS backend's truncations: the block that discarded most
    for part in parts:
        report = worst(report, getattr(part, "truncation", None))
    out.truncation = report  # type: ignore[attr-defined]
    return out


class ProjectedKernel(QuantumKernel):
    """Projected quantum kernel ``exp(-gamma * sum_q ||rho_q(x) - rho_q(y)||_F^2)``.

    Args:
        feature_map: an hqml circuit with one input array (and optionally weights), or a callable
            ``n_features -> Circuit``.
        gamma: the width of the Gaussian on the Bloch vectors (> 0).
        weights: values for the feature map's weights (trainable kernels).
        shots: ``None`` for exact reduced states; an int to estimate each Pauli expectation
            from that many samples.
        seed: seeds the shot sampling.
        backend: an hqml backend name or instance.
        batch_size: samples simulated together (``None``: about 64 MiB of amplitudes).
        dtype: ``"complex128"`` (default) or ``"complex64"``.
        noise_model: a ``hqml.noise.NoiseModel`` (with a backend that simulates noise).
        bandwidth: features are multiplied by it before the feature map (see
            :class:`FidelityKernel`); ``"auto"`` is chosen by the estimators' ``fit``.

    Example:
        >>> import numpy as np, hqml
        >>> from hqml.kernels import ProjectedKernel
        >>> c = hqml.Circuit(2)
        >>> x = c.input("x", 2)
        >>> _ = c.ry(x[0], 0).ry(x[1], 1).cnot(0, 1)
        >>> K = ProjectedKernel(c, gamma=0.5)(np.array([[0.1, 0.2], [1.0, 2.0]]))
        >>> bool(np.allclose(np.diag(K), 1.0)) and bool(K[0, 1] < 1.0)
        True
    """

    def __init__(
        self,
        feature_map: FeatureMap,
        gamma: float = 1.0,
        *,
        weights: Mapping[str, Any] | None = None,
        shots: int | None = None,
        seed: int | None = None,
        backend: Any = "statevector",
        batch_size: int | None = None,
        dtype: str = "complex128",
        noise_model: Any = None,
        bandwidth: float | str = 1.0,
    ):
        super().__init__(
            feature_map,
            weights=weights,
            shots=shots,
            seed=seed,
            backend=backend,
            batch_size=batch_size,
            dtype=dtype,
            noise_model=noise_model,
            bandwidth=bandwidth,
        )
        self.gamma = gamma

    def _gram(
        self,
        circuit: Circuit,
        X: np.ndarray,
        Y: np.ndarray | None,
        weights: Mapping[str, torch.Tensor],
    ) -> torch.Tensor:
        gamma = self.gamma
        if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not gamma > 0:
            raise ValueError(f"gamma must be a positive number, got {gamma!r}")
        cdt = complex_dtype(self.dtype)
        gen = None
        if self.shots is not None:
            gen = torch.Generator()
            gen.manual_seed(int(self.seed)) if self.seed is not None else gen.seed()
        kw = dict(
            backend=self.backend,
            dtype=cdt,
            shots=self.shots,
            seed=gen,
            batch_size=self.batch_size,
            noise_model=self.noise_model,
        )
        vx = bloch_vectors(circuit, X, weights, **kw)
        vy = vx if Y is None else bloch_vectors(circuit, Y, weights, **kw)
        bx, by = vx.flatten(1), vy.flatten(1)
        d2 = (bx.square().sum(1)[:, None] + by.square().sum(1)[None, :] - 2 * bx @ by.T).clamp_min(
            0
        )
        if Y is None:  # exact zeros on the diagonal despite rounding in the expansion above
            d2 = d2 * (1 - torch.eye(d2.shape[0], dtype=d2.dtype, device=d2.device))
        gram = torch.exp(-float(gamma) * 0.5 * d2)
        gram.truncation = worst(vx.truncation, vy.truncation)  # type: ignore[attr-defined]
        return gram


__all__ = ["ProjectedKernel", "bloch_vectors"]
