"""Gradient variance over random parameters (barren plateaus), and its decay with qubit count.

One batched call evaluates many parameter sets: the circuit's weights become per-sample inputs
(:func:`~hqml.trainability.circuits.weights_as_inputs`), the cost of every sample is computed in
one ``hqml.expval``/``hqml.probs`` call, and one backward pass (adjoint or backprop) gives every
sample's gradient, since sample ``b``'s cost depends only on row ``b`` of the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum, Z
from ..execute import expval, probs
from .circuits import weights_as_inputs
from .init import sample_parameters

Cost = PauliSum | str | Callable[[Circuit, Mapping[str, torch.Tensor]], torch.Tensor]


def local_cost(n_qubits: int) -> PauliSum:
    """Cerezo et al.'s local cost ``1 - (1/n) sum_j p_j(0)`` as an observable (its constant
    part dropped: the gradient is that of ``-(1/2n) sum_j Z_j``)."""
    terms = [Z(q) for q in range(n_qubits)]
    return (-0.5 / n_qubits) * sum(terms[1:], terms[0])


def _cost_values(
    circuit: Circuit,
    cost: Cost,
    params: dict[str, torch.Tensor],
    *,
    shots: int | None,
    seed: int,
    backend: str,
    diff_method: str,
    dtype: torch.dtype,
    noise_model: Any = None,
) -> torch.Tensor:
    if callable(cost) and not isinstance(cost, PauliSum):
        return cost(circuit, params)
    if cost == "global":  # 1 - p(0...0)
        if shots is not None:
            raise ValueError(
                "cost 'global' is computed from exact probabilities; use shots=None"
                " or pass the cost as a PauliSum"
            )
        return (
            1.0
            - probs(circuit, inputs=params, backend=backend, dtype=dtype, noise_model=noise_model)[
                :, 0
            ]
        )
    if cost == "local":
        cost = local_cost(circuit.n_qubits)
    if not isinstance(cost, PauliSum):
        raise ValueError(f"cost must be a PauliSum, 'global', 'local' or a callable, got {cost!r}")
    method = "parameter-shift" if shots is not None else diff_method
    return expval(
        circuit,
        cost,
        inputs=params,
        backend=backend,
        diff_method=method,
        shots=shots,
        seed=seed if shots is not None else None,
        dtype=dtype,
        noise_model=noise_model,
    )


@dataclass(frozen=True)
class GradientVariance:
    """Per-parameter statistics of the cost gradient over random parameter sets.

    Attributes:
        variance, mean, stderr: ``(P,)`` float64; ``stderr`` is the standard error of the
            variance estimate, ``sqrt((m4 - var^2) / N)``.
        labels: ``P`` names such as ``"w[0, 1]"`` (weights flattened in declaration order).
        n_samples: parameter sets drawn.
        groups: mean variance per weight array.
    """

    variance: torch.Tensor
    mean: torch.Tensor
    stderr: torch.Tensor
    labels: list[str]
    n_samples: int
    groups: dict[str, float] = field(default_factory=dict)

    def of(self, param: int | str | None = None) -> tuple[float, float]:
        """``(variance, stderr)`` of one parameter (index or label), or of the mean over all."""
        if param is None:
            p = len(self.variance)
            return float(self.variance.mean()), float(self.stderr.pow(2).sum().sqrt() / p)
        i = self.labels.index(param) if isinstance(param, str) else int(param)
        return float(self.variance[i]), float(self.stderr[i])


def _labels(circuit: Circuit) -> list[str]:
    out = []
    for name, arr in circuit.weights.items():
        out += [f"{name}[{', '.join(map(str, idx))}]" for idx in np.ndindex(*arr.shape)]
    return out


def _gradients(
    circuit: Circuit,
    cost: Cost,
    n: int,
    *,
    init: Any,
    seed: int,
    inputs: Mapping[str, Any] | None,
    batch_size: int,
    **run: Any,
) -> torch.Tensor:
    names = list(circuit.weights)
    batched = weights_as_inputs(circuit)
    params = sample_parameters(circuit, n, init=init, seed=seed)
    rows = []
    for start in range(0, n, batch_size):
        chunk = {
            k: v[start : start + batch_size].clone().requires_grad_() for k, v in params.items()
        }
        feed: dict[str, Any] = dict(chunk)
        for k, v in (inputs or {}).items():  # fixed data, the same for every parameter set
            v = torch.as_tensor(v, dtype=torch.float64)
            feed[k] = v.expand(len(chunk[names[0]]), *v.shape)
        values = _cost_values(batched, cost, feed, seed=seed + start, **run)
        grads = torch.autograd.grad(values.sum(), [chunk[k] for k in names], allow_unused=True)
        rows.append(
            torch.cat(
                [
                    (torch.zeros_like(chunk[k]) if g is None else g).reshape(len(chunk[k]), -1)
                    for k, g in zip(names, grads, strict=True)
                ],
                1,
            )
        )
    return torch.cat(rows).detach().to(torch.float64)


def _check_request(circuits: list[Circuit], cost: Cost, n_samples: int, noise_model: Any) -> None:
    if not circuits or any(not c.weights for c in circuits):
        raise ValueError("gradient_variance needs circuits with at least one weight")
    shapes = {tuple((k, v.shape) for k, v in c.weights.items()) for c in circuits}
    if len(shapes) > 1:
        raise ValueError(
            "gradient_variance: the circuits of an ensemble must declare the same"
            " weights (names and shapes)"
        )
    if n_samples < 2 * len(circuits):
        raise ValueError(
            f"n_samples must be at least 2 per circuit, got {n_samples} for"
            f" {len(circuits)} circuits"
        )
    if noise_model is not None and callable(cost) and not isinstance(cost, PauliSum):
        raise ValueError(
            "gradient_variance: a callable cost runs its own circuits, so noise_model cannot"
            " reach them; pass the cost as a PauliSum, 'global' or 'local'"
        )


def gradient_variance(
    circuit: Circuit | Sequence[Circuit],
    cost: Cost,
    *,
    n_samples: int = 200,
    init: Any = "uniform",
    seed: int = 0,
    inputs: Mapping[str, Any] | None = None,
    shots: int | None = None,
    backend: str = "statevector",
    diff_method: str = "adjoint",
    dtype: torch.dtype = torch.complex128,
    batch_size: int = 512,
    noise_model: Any = None,
) -> GradientVariance:
    """Variance of every partial derivative of ``cost`` over random weights.

    Args:
        circuit: a circuit with weights, or an ensemble of circuits with the same weights (the
            samples are split evenly among them, e.g. random gate structures).
        cost: a ``PauliSum`` (its expectation value), ``"global"`` (``1 - p(0...0)``),
            ``"local"`` (``1 - mean_j p_j(0)``) or ``cost(circuit, params) -> (B,)`` where the
            circuit takes the weights as inputs ``params`` (``name -> (B, *shape)``).
        n_samples: parameter sets drawn in all.
        init: how weights are drawn: a name of ``hqml.nn.INITIALIZERS`` or a callable.
        inputs: fixed data inputs of one sample, broadcast to every parameter set.
        shots: estimate the gradient from shots with the parameter-shift rule.
        batch_size: parameter sets per batched call (bounds memory).
        noise_model: an ``hqml.noise.NoiseModel`` (with a noise-capable ``backend``, e.g.
            ``"density_matrix"``): the variance of the noisy cost's gradient (noise-induced
            barren plateaus). A callable ``cost`` gets no noise model: refused.

    >>> from hqml.trainability import random_pqc
    >>> gv = gradient_variance(random_pqc(2, 3), "local", n_samples=64)
    >>> gv.variance.shape, gv.n_samples
    (torch.Size([6]), 64)
    """
    circuits = [circuit] if isinstance(circuit, Circuit) else list(circuit)
    _check_request(circuits, cost, n_samples, noise_model)
    run = dict(
        shots=shots, backend=backend, diff_method=diff_method, dtype=dtype, noise_model=noise_model
    )
    per = [
        n_samples // len(circuits) + (i < n_samples % len(circuits)) for i in range(len(circuits))
    ]
    g = torch.cat(
        [
            _gradients(
                c,
                cost,
                k,
                init=init,
                seed=seed + 7919 * i,
                inputs=inputs,
                batch_size=batch_size,
                **run,
            )
            for i, (c, k) in enumerate(zip(circuits, per, strict=True))
        ]
    )
    mean = g.mean(0)
    dev = g - mean
    var = dev.pow(2).sum(0) / (len(g) - 1)
    m4 = dev.pow(4).mean(0)
    stderr = ((m4 - var.pow(2)).clamp_min(0) / len(g)).sqrt()
    labels = _labels(circuits[0])
    groups, start = {}, 0
    for name, arr in circuits[0].weights.items():
        groups[name] = float(var[start : start + arr.size].mean())
        start += arr.size
    return GradientVariance(var, mean, stderr, labels, len(g), groups)


@dataclass(frozen=True)
class DecayFit:
    """``ln Var = intercept - rate * n`` fitted by (weighted) least squares."""

    rate: float
    rate_stderr: float
    intercept: float

    def predict(self, n: Any) -> np.ndarray:
        return np.exp(self.intercept - self.rate * np.asarray(n, dtype=float))


def fit_decay(
    qubits: Sequence[int], variances: Sequence[float], stderrs: Sequence[float] | None = None
) -> DecayFit:
    """The exponential decay rate per qubit of ``variances`` (``Var ~ exp(-rate * n)``); with
    ``stderrs``, each point weighted by its relative precision ``(Var / stderr)^2``, else the
    rate's standard error comes from the residual scatter (zero for two points)."""
    n = np.asarray(qubits, dtype=float)
    v = np.asarray(variances, dtype=float)
    if len(n) < 2 or len(n) != len(v) or np.any(v <= 0) or len(set(n)) < 2:
        raise ValueError(
            "fit_decay needs at least two distinct qubit counts and positive"
            " variances of the same length"
        )
    rel = np.asarray(stderrs, dtype=float) / v if stderrs is not None else np.ones_like(v)
    w = 1.0 / np.maximum(rel, 1e-12) ** 2
    a = np.stack([np.ones_like(n), -n], 1)
    cov = np.linalg.inv(a.T @ (a * w[:, None]))
    coef = cov @ (a.T @ (w * np.log(v)))
    resid = np.log(v) - a @ coef
    dof = max(1, len(n) - 2)
    chi2 = float(np.sum(w * resid**2)) / dof
    # with stderrs: widen when the scatter exceeds them; without: the scatter is the noise
    scale = max(1.0, chi2) if stderrs is not None else chi2
    return DecayFit(float(coef[1]), float(math.sqrt(cov[1, 1] * scale)), float(coef[0]))


@dataclass(frozen=True)
class VarianceScan:
    qubits: list[int]
    variance: list[float]
    stderr: list[float]
    fit: DecayFit


def variance_scan(
    build: Callable[[int], Circuit | Sequence[Circuit]],
    qubits: Sequence[int],
    cost: str | Callable[[int], Cost],
    *,
    param: int | str | None = None,
    **options: Any,
) -> VarianceScan:
    """Gradient variance of one parameter (``param``; ``None``: the mean over all) for circuits
    ``build(n)`` and costs ``cost(n)`` (or ``"global"``/``"local"``) over ``qubits``, with the
    fitted decay rate per qubit. ``options`` go to :func:`gradient_variance`."""
    var, err = [], []
    for n in qubits:
        c = cost if isinstance(cost, str) else cost(n)
        v, e = gradient_variance(build(n), c, **options).of(param)
        var.append(v)
        err.append(e)
    return VarianceScan(list(qubits), var, err, fit_decay(qubits, var, err))


__all__ = [
    "gradient_variance",
    "GradientVariance",
    "fit_decay",
    "DecayFit",
    "variance_scan",
    "VarianceScan",
    "local_cost",
]
