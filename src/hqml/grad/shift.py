"""Gradients from extra circuit evaluations: parameter-shift, finite differences, SPSA.

All three estimate ``d f / d theta`` by evaluating the circuit at perturbed parameters; the
perturbed copies are stacked into one batch (in chunks that bound a simulator's memory, see
:meth:`hqml.backends.base.Backend.rows_per_call`) so a gradient costs a few large simulator
calls, or one provider job, rather than many small ones. Gradients with respect to weights and
inputs then follow through the parameter expressions by autograd.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import torch

from ..backends.base import Backend, Task
from .adjoint import reduce_to


@cache
def shift_rule(spectrum: tuple[float, ...]) -> tuple[tuple[float, float], ...]:
    """``(coefficient, shift)`` pairs with ``f'(t) = sum c * (f(t + s) - f(t - s))``.

    ``spectrum`` holds the eigenvalues of the parameter's generator; its distinct positive
    differences are the frequencies of ``f``. Equidistant frequencies use the shifts of Wierichs
    et al. (2022), ``s_mu = (2 mu - 1) pi / (2 R Delta)``; others solve the same linear system.
    """
    ev = sorted(set(round(e, 12) for e in spectrum))
    freqs = sorted(
        {round(b - a, 12) for i, a in enumerate(ev) for b in ev[i + 1 :] if b - a > 1e-12}
    )
    if not freqs:
        return ()
    base = min(freqs)
    multiples = [f / base for f in freqs]
    if any(abs(m - round(m)) > 1e-9 for m in multiples):
        raise ValueError(
            f"no parameter-shift rule for incommensurate frequencies {freqs}; "
            "use diff_method='adjoint', 'backprop' or 'finite-diff'"
        )
    # on the integer grid base * (1..R) the equidistant rule is exact (missing ones are zero)
    r = int(round(max(multiples)))
    freqs = [base * k for k in range(1, r + 1)]
    shifts = [(2 * mu - 1) * math.pi / (2 * r * base) for mu in range(1, r + 1)]
    a = np.array([[2 * math.sin(w * s) for s in shifts] for w in freqs])
    coeffs = np.linalg.solve(a, np.array(freqs))
    return tuple((float(c), float(s)) for c, s in zip(coeffs, shifts, strict=True))


def _column_spectra(task: Task) -> list[tuple[float, ...]]:
    out = []
    for op in task.circuit.ops:
        for gate_op in getattr(op, "body", (op,)) if op.params else ():
            out.extend(gate_op.gate.spectra)  # conditioned gates keep their own rules
    return out


def _evaluate(backend: Backend, task: Task, thetas: torch.Tensor) -> torch.Tensor:
    """Evaluate ``thetas`` (E, B, P) in calls of at most ``backend.rows_per_call`` rows (a
    simulator's memory bound; a provider takes them all and packs its own jobs); returns
    (E, B, ...)."""
    e, b, p = thetas.shape
    flat = thetas.reshape(e * b, p)
    rows = backend.rows_per_call(task) or e * b
    outs = []
    with torch.no_grad():
        for start in range(0, e * b, rows):
            chunk = flat[start : start + rows]
            outs.append(backend.execute([task.with_theta(chunk, None)])[0])
    out = torch.cat(outs, dim=0)
    return out.reshape((e, b) + out.shape[1:])


def _contract(values: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """``sum_k grad_out[b, k] * values[e, b, k]`` -> (E, B)."""
    v = values.reshape(values.shape[0], values.shape[1], -1).to(grad_out.dtype)
    return (v * grad_out.reshape(1, grad_out.shape[0], -1)).sum(dim=-1)


def _shift_vjp(
    backend: Backend,
    task: Task,
    theta: torch.Tensor,
    grad_out: torch.Tensor,
    method: str,
    options: dict[str, Any],
) -> torch.Tensor:
    b, p = theta.shape
    bo = max(b, grad_out.shape[0])
    theta = theta.expand(bo, p)
    grad_out = grad_out.expand(bo, *grad_out.shape[1:])
    grad = torch.zeros(bo, p, dtype=theta.dtype, device=theta.device)
    if method == "spsa":
        gen = task.generator
        m = int(options.get("num_directions", 1))
        c = float(options.get("h", 1e-2))
        delta = torch.randint(0, 2, (m, bo, p), generator=gen, device="cpu").to(
            theta.device, theta.dtype
        )
        delta = 2 * delta - 1
        # every perturbed copy, plus and minus, in one stacked evaluation (one provider job)
        both = _evaluate(backend, task, torch.cat([theta + c * delta, theta - c * delta]))
        diff = _contract(both[:m] - both[m:], grad_out) / (2 * c)  # (m, B)
        return (diff.unsqueeze(-1) * delta).mean(dim=0)
    entries: list[tuple[int, float, float]] = []  # (column, coefficient, shift)
    # columns that are plain numbers in the circuit, or that only tensors without gradients
    # feed (a layer's inputs), have no gradient to estimate: no shifted circuits for them
    needs = task.needs_grad
    live = [
        not e.is_constant and (needs is None or needs[col])
        for col, e in enumerate(task.circuit.parameter_exprs())
    ]
    if method == "parameter-shift":
        for col, spectrum in enumerate(_column_spectra(task)):
            if live[col]:
                for coeff, s in shift_rule(tuple(spectrum)):
                    entries += [(col, coeff, s), (col, -coeff, -s)]
    else:  # central finite differences
        eps = torch.finfo(theta.dtype).eps
        h = float(options.get("h", eps ** (1 / 3)))
        for col in range(p):
            if live[col]:
                entries += [(col, 0.5 / h, h), (col, -0.5 / h, -h)]
    if not entries:
        return grad
    cols = torch.tensor([e[0] for e in entries], device=theta.device)
    shifts = torch.tensor([e[2] for e in entries], dtype=theta.dtype, device=theta.device)
    coeffs = torch.tensor([e[1] for e in entries], dtype=theta.dtype, device=theta.device)
    perturb = torch.zeros(len(entries), 1, p, dtype=theta.dtype, device=theta.device)
    perturb[torch.arange(len(entries)), 0, cols] = shifts
    values = _contract(_evaluate(backend, task, theta.unsqueeze(0) + perturb), grad_out)  # (E, B)
    grad.index_add_(1, cols, (values * coeffs[:, None]).T)
    return grad


class _Shift(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        theta: torch.Tensor,
        backend: Backend,
        task: Task,
        method: str,
        options: dict[str, Any],
    ) -> torch.Tensor:
        ctx.backend, ctx.task, ctx.method, ctx.options = backend, task, method, options
        ctx.save_for_backward(theta)
        with torch.no_grad():
            return backend.execute([task.with_theta(theta.detach(), task.varying)])[0]

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple:
        (theta,) = ctx.saved_tensors
        grad = _shift_vjp(ctx.backend, ctx.task, theta.detach(), grad_out, ctx.method, ctx.options)
        return reduce_to(grad, theta), None, None, None, None


def shifted(
    backend: Backend, task: Task, method: str, options: dict[str, Any] | None = None
) -> torch.Tensor:
    """Execute ``task``; gradients by ``method`` in {"parameter-shift", "finite-diff", "spsa"}."""
    return _Shift.apply(task.theta, backend, task, method, dict(options or {}))
