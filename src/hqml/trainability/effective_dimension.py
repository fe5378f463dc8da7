"""Effective dimension of a quantum model (Abbas et al. 2021, "The power of quantum neural
networks").

The model is the distribution ``p(k | x, theta)`` of the measured basis states of ``wires``.
Its Fisher information at ``theta`` over data ``x_1..x_N`` is
``F(theta) = (1/N) sum_i sum_k grad p_k grad p_k^T / p_k``; normalised over the parameter
samples as ``F^ = d F / E_theta[Tr F]``, the effective dimension for ``n`` data is

    d_eff(n) = 2 ln( E_theta[ sqrt(det(I + kappa F^(theta))) ] ) / ln kappa,
    kappa = gamma n / (2 pi ln n),

with ``E_theta`` a Monte Carlo mean over random parameter sets. It lies in ``[0, d]`` and tends
to the rank of the Fisher information as ``n`` grows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..execute import probs
from .circuits import weights_as_inputs
from .init import sample_parameters


def _data(circuit: Circuit, x: Any) -> dict[str, torch.Tensor]:
    if x is None:
        if circuit.inputs:
            raise ValueError(f"the circuit takes inputs {sorted(circuit.inputs)}; pass x")
        return {}
    if not isinstance(x, Mapping):
        if len(circuit.inputs) != 1:
            raise ValueError(
                "pass x as a dict name -> (N, *shape) when the circuit has"
                f" {len(circuit.inputs)} inputs"
            )
        x = {next(iter(circuit.inputs)): x}
    return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in x.items()}


def fisher_information(
    circuit: Circuit,
    x: Any = None,
    n_theta: int = 50,
    wires: Sequence[int] | None = None,
    init: Any = "uniform",
    seed: int = 0,
    backend: str = "statevector",
) -> torch.Tensor:
    """Fisher information matrices ``(n_theta, P, P)`` at random parameter sets, averaged over
    the data ``x`` (``(N, *shape)``, or a dict of the circuit's inputs)."""
    data = _data(circuit, x)
    n_data = len(next(iter(data.values()))) if data else 1
    params = sample_parameters(circuit, n_theta, init=init, seed=seed)
    names = list(params)
    # rows: every (theta, x) pair, theta-major
    feed: dict[str, Any] = {
        k: v.repeat_interleave(n_data, 0).requires_grad_() for k, v in params.items()
    }
    for k, v in data.items():
        feed[k] = v.repeat(n_theta, *([1] * (v.dim() - 1)))
    p = probs(
        weights_as_inputs(circuit),
        wires=wires,
        inputs=feed,
        backend=backend,
        dtype=torch.complex128,
    )
    if p.dim() == 1:  # no data and a single row collapses the batch dimension
        p = p[None]
    jac = []
    for k in range(p.shape[1]):
        grads = torch.autograd.grad(p[:, k].sum(), [feed[n] for n in names], retain_graph=True)
        jac.append(torch.cat([g.reshape(len(g), -1) for g in grads], 1))
    g = torch.stack(jac, 1)  # (rows, K, P)
    w = 1.0 / p.detach().clamp_min(1e-12)
    f = torch.einsum("rk,rki,rkj->rij", w, g, g)
    return f.reshape(n_theta, n_data, *f.shape[1:]).mean(1).detach()


def effective_dimension(
    circuit: Circuit,
    x: Any = None,
    n: int | Sequence[int] = 1000,
    n_theta: int = 50,
    wires: Sequence[int] | None = None,
    gamma: float = 1.0,
    init: Any = "uniform",
    seed: int = 0,
    backend: str = "statevector",
) -> np.ndarray:
    """The effective dimension for each data size in ``n`` (an array of ``len(n)``; a float
    array of one element for an int).

    Raises:
        ValueError: when ``gamma n / (2 pi ln n) <= 1`` (the formula needs ``kappa > 1``).
    """
    ns = np.atleast_1d(np.asarray(n, dtype=float))
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    kappa = gamma * ns / (2 * math.pi * np.log(ns))
    if np.any(ns <= 1) or np.any(kappa <= 1):
        raise ValueError(
            "effective_dimension needs gamma * n / (2 pi ln n) > 1; use larger n"
            f" (got n = {ns.tolist()})"
        )
    f = fisher_information(circuit, x, n_theta, wires, init, seed, backend)
    d = f.shape[-1]
    trace = torch.diagonal(f, dim1=-2, dim2=-1).sum(-1).mean()
    if trace <= 0:
        raise ValueError(
            "the Fisher information is zero at every sample: the outputs do not"
            " depend on the weights"
        )
    f_hat = d * f / trace
    eye = torch.eye(d, dtype=f.dtype)
    out = []
    for k in kappa:
        half_logdet = 0.5 * torch.linalg.slogdet(eye + float(k) * f_hat)[1]
        log_mean = torch.logsumexp(half_logdet, 0) - math.log(len(half_logdet))
        out.append(2.0 * float(log_mean) / math.log(k))
    return np.asarray(out)


__all__ = ["effective_dimension", "fisher_information"]
