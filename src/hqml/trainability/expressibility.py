"""Expressibility (Sim et al. 2019) and entangling capability (Meyer-Wallach) of a circuit.

Expressibility is the Kullback-Leibler divergence ``KL(P_circuit || P_Haar)`` between the
histogram of state fidelities ``F = |<psi(a)|psi(b)>|^2`` of pairs of random parameter sets and
the same histogram for Haar-random states, whose density is ``(N - 1)(1 - F)^(N - 2)`` with
``N = 2^n``. Lower is more expressive; an idle circuit (every F = 1) scores ``-ln P_Haar(last
bin)``, ``ln 75`` for one qubit with 75 bins.

Meyer-Wallach ``Q = 2 (1 - (1/n) sum_k Tr rho_k^2)`` is 0 for product states and 1 for GHZ;
the entangling capability is its mean over random parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..execute import state
from ..limits import check_state_memory
from .circuits import weights_as_inputs
from .init import sample_parameters


def _states(
    circuit: Circuit, n: int, init: Any, seed: int, backend: str, batch_size: int
) -> torch.Tensor:
    if circuit.inputs:
        raise ValueError(
            f"the circuit has data inputs {sorted(circuit.inputs)}; bind them first"
            " (circuit.bind(inputs=...))"
        )
    check_state_memory(circuit.n_qubits, n, torch.complex128, torch.device("cpu"))
    if not circuit.weights:  # an idle or fixed circuit: every sample is the same state
        return state(circuit, dtype=torch.complex128).expand(n, -1)
    params = sample_parameters(circuit, n, init=init, seed=seed)
    batched = weights_as_inputs(circuit)
    with torch.no_grad():
        return torch.cat(
            [
                state(
                    batched,
                    inputs={k: v[i : i + batch_size] for k, v in params.items()},
                    backend=backend,
                    dtype=torch.complex128,
                )
                for i in range(0, n, batch_size)
            ]
        )


def haar_fidelity_bins(n_qubits: int, bins: int = 75) -> np.ndarray:
    """Probability of each of ``bins`` equal fidelity bins on ``[0, 1]`` for Haar-random pure
    states of ``n_qubits``: ``(1 - a)^(N-1) - (1 - b)^(N-1)`` for bin ``[a, b]``."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    tail = (1.0 - edges) ** (2**n_qubits - 1)
    return tail[:-1] - tail[1:]


def expressibility(
    circuit: Circuit,
    n_pairs: int = 2000,
    bins: int = 75,
    init: Any = "uniform",
    seed: int = 0,
    backend: str = "statevector",
    batch_size: int = 1024,
) -> float:
    """``KL(P_circuit(F) || P_Haar(F))`` over ``n_pairs`` pairs of random parameter sets.

    A finite sample biases the estimate up by about ``(occupied bins - 1) / (2 n_pairs)``.

    >>> c = Circuit(1); _ = c.h(0)
    >>> round(expressibility(c, n_pairs=10), 3)  # idle: ln 75
    4.317
    """
    if n_pairs < 1 or bins < 2:
        raise ValueError(f"need n_pairs >= 1 and bins >= 2, got {n_pairs}, {bins}")
    psi = _states(circuit, 2 * n_pairs, init, seed, backend, batch_size)
    a, b = psi[:n_pairs], psi[n_pairs:]
    fid = (a.conj() * b).sum(-1).abs().pow(2).clamp(0, 1).numpy()
    counts, _ = np.histogram(fid, bins=bins, range=(0.0, 1.0))
    p = counts / counts.sum()
    q = haar_fidelity_bins(circuit.n_qubits, bins)
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / np.maximum(q[keep], 1e-300))))


def meyer_wallach(states: torch.Tensor) -> torch.Tensor:
    """Meyer-Wallach measure of pure states ``(..., 2^n)``: ``(...)`` values in ``[0, 1]``.

    >>> ghz = torch.zeros(8, dtype=torch.complex128); ghz[0] = ghz[7] = 2 ** -0.5
    >>> round(float(meyer_wallach(ghz)), 6)
    1.0
    """
    dim = states.shape[-1]
    n = dim.bit_length() - 1
    if dim != 2**n or n < 1:
        raise ValueError(f"states must have 2^n amplitudes, got {dim}")
    psi = states.reshape(-1, dim)
    purity = torch.zeros(len(psi), dtype=torch.float64)
    for k in range(n):
        t = psi.reshape(len(psi), 2**k, 2, 2 ** (n - k - 1))
        rho = torch.einsum("bliq,bljq->bij", t, t.conj())  # reduced state of wire k
        purity += rho.abs().pow(2).sum((-1, -2)).to(torch.float64)
    q = 2.0 * (1.0 - purity / n)
    return q.clamp(0.0, 1.0).reshape(states.shape[:-1])


def entangling_capability(
    circuit: Circuit,
    n_samples: int = 1000,
    init: Any = "uniform",
    seed: int = 0,
    backend: str = "statevector",
    batch_size: int = 1024,
) -> float:
    """Mean Meyer-Wallach measure of the circuit's states over random parameter sets."""
    return float(meyer_wallach(_states(circuit, n_samples, init, seed, backend, batch_size)).mean())


__all__ = ["expressibility", "haar_fidelity_bins", "meyer_wallach", "entangling_capability"]
