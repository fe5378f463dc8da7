"""One minimisation loop for the variational algorithms: SciPy methods, Adam and SPSA; and
:class:`DescentStep`, hqml's one Adam (and SGD) on named tensors, written out because
constructing a ``torch.optim`` optimizer imports ``torch._dynamo``, which costs seconds in a
fresh process (a server's program, a first VQE).

The objective is a function of a float64 parameter vector that returns a scalar torch tensor.
Gradient-based methods (L-BFGS-B, BFGS, SLSQP, CG, Adam) differentiate it with autograd, so the
quantum part must be evaluated with an exact differentiation method (adjoint / backprop);
gradient-free methods (COBYLA, Nelder-Mead, Powell) and SPSA only call it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

SCIPY_GRADIENT = ("L-BFGS-B", "BFGS", "SLSQP", "CG", "TNC")
SCIPY_FREE = ("COBYLA", "Nelder-Mead", "Powell")
METHODS = SCIPY_GRADIENT + SCIPY_FREE + ("adam", "spsa")

Objective = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class MinimizeResult:
    """Outcome of :func:`minimize`.

    Attributes:
        x: best parameters found.
        fun: objective at ``x``.
        history: objective value at every evaluation, in order.
        n_evaluations: objective (circuit) evaluations.
        n_gradient_evaluations: gradient evaluations (each one exact, by autograd).
        message: the optimizer's own words on why it stopped.
    """

    x: np.ndarray
    fun: float
    history: list[float] = field(default_factory=list)
    n_evaluations: int = 0
    n_gradient_evaluations: int = 0
    message: str = ""


class _Counter:
    """Wraps the objective; counts calls, keeps the history and the best point."""

    def __init__(self, fun: Objective, callback: Callable[[np.ndarray, float], Any] | None):
        self.fun, self.callback = fun, callback
        self.history: list[float] = []
        self.nfev = self.ngev = 0
        self.best_x: np.ndarray | None = None
        self.best_f = math.inf

    def _record(self, x: np.ndarray, f: float) -> None:
        self.nfev += 1
        self.history.append(f)
        if f < self.best_f:
            self.best_f, self.best_x = f, x.copy()
        if self.callback is not None:
            self.callback(x.copy(), f)

    def value(self, x: np.ndarray) -> float:
        with torch.no_grad():
            f = float(self.fun(torch.as_tensor(x, dtype=torch.float64)))
        self._record(np.asarray(x, dtype=float), f)
        return f

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64, requires_grad=True)
        out = self.fun(t)
        (g,) = torch.autograd.grad(out, t)
        self.ngev += 1
        f = float(out.detach())
        self._record(np.asarray(x, dtype=float), f)
        return f, g.numpy().astype(float)


def minimize(
    fun: Objective,
    x0: Any,
    method: str = "L-BFGS-B",
    maxiter: int = 200,
    tol: float | None = None,
    callback: Callable[[np.ndarray, float], Any] | None = None,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
) -> MinimizeResult:
    """Minimise ``fun`` from ``x0``.

    Args:
        fun: float64 vector -> scalar tensor (differentiable for gradient methods).
        x0: starting point.
        method: one of :data:`METHODS`.
        maxiter: iterations (SciPy ``maxiter``, Adam steps, SPSA steps).
        tol: SciPy tolerance (ignored by Adam and SPSA).
        callback: called as ``callback(x, value)`` after every evaluation.
        seed: seeds SPSA's perturbations.
        options: extra settings: Adam ``lr`` (0.05); SPSA ``a`` (0.2), ``c`` (0.1),
            ``alpha`` (0.602), ``gamma`` (0.101), ``A`` (10% of maxiter); other keys go to SciPy.

    Returns:
        A :class:`MinimizeResult` holding the best point seen.
    """
    if method not in METHODS:
        raise ValueError(f"unknown optimizer {method!r}; choose one of {', '.join(METHODS)}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 0:
        raise ValueError(f"maxiter must be a non-negative integer, got {maxiter!r}")
    x0 = np.asarray(x0, dtype=float).ravel()
    opts = dict(options or {})
    counter = _Counter(fun, callback)
    if maxiter == 0:
        counter.value(x0)
        message = "maxiter=0: evaluated the initial point only"
    elif method == "adam":
        message = _adam(counter, x0, maxiter, float(opts.get("lr", 0.05)))
    elif method == "spsa":
        message = _spsa(counter, x0, maxiter, seed, opts)
    else:
        from scipy.optimize import minimize as scipy_minimize

        opts.setdefault("maxiter", maxiter)
        if method in SCIPY_GRADIENT:
            res = scipy_minimize(
                counter.value_and_grad, x0, jac=True, method=method, tol=tol, options=opts
            )
        else:
            res = scipy_minimize(counter.value, x0, method=method, tol=tol, options=opts)
        message = str(res.message)
    assert counter.best_x is not None
    return MinimizeResult(
        counter.best_x, counter.best_f, counter.history, counter.nfev, counter.ngev, message
    )


def _adam(counter: _Counter, x0: np.ndarray, steps: int, lr: float) -> str:
    x = torch.tensor(x0, dtype=torch.float64)
    opt = DescentStep({"x": x}, "adam", lr)
    for _ in range(steps):
        _, g = counter.value_and_grad(x.numpy())
        opt.step([torch.as_tensor(g)])
    counter.value(x.numpy())
    return f"adam: {steps} steps"


def _spsa(
    counter: _Counter, x0: np.ndarray, steps: int, seed: int | None, opts: dict[str, Any]
) -> str:
    """Spall's SPSA with the standard gain sequences a_k = a/(k+1+A)^alpha, c_k = c/(k+1)^gamma."""
    rng = np.random.default_rng(seed)
    a, c = float(opts.get("a", 0.2)), float(opts.get("c", 0.1))
    alpha, gamma = float(opts.get("alpha", 0.602)), float(opts.get("gamma", 0.101))
    big_a = float(opts.get("A", 0.1 * steps))
    x = x0.copy()
    for k in range(steps):
        ak, ck = a / (k + 1 + big_a) ** alpha, c / (k + 1) ** gamma
        delta = rng.choice((-1.0, 1.0), size=x.shape)
        fp, fm = counter.value(x + ck * delta), counter.value(x - ck * delta)
        x = x - ak * (fp - fm) / (2 * ck) * delta
    counter.value(x)
    return f"spsa: {steps} steps"


class DescentStep:
    """In-place ``"adam"`` (PyTorch's defaults) or ``"sgd"`` updates of ``params``.

    >>> import torch
    >>> w = {"w": torch.tensor([1.0], requires_grad=True)}
    >>> opt = DescentStep(w, "sgd", 0.5)
    >>> opt.step([torch.tensor([2.0])]); w["w"].item()
    0.0
    """

    def __init__(
        self,
        params: dict[str, torch.Tensor],
        method: str,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        if method not in ("adam", "sgd"):
            raise ValueError(f"method must be 'adam' or 'sgd', got {method!r}")
        self.params, self.method, self.lr, self.betas, self.eps = params, method, lr, betas, eps
        self.moments = {k: (torch.zeros_like(v), torch.zeros_like(v)) for k, v in params.items()}
        self.t = 0

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """Apply one update; ``grads`` in the order of ``params``."""
        self.t += 1
        b1, b2 = self.betas
        for (k, p), g in zip(self.params.items(), grads, strict=True):
            if self.method == "sgd":
                p -= self.lr * g
                continue
            m, v = self.moments[k]
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p -= self.lr * (m / (1 - b1**self.t)) / ((v / (1 - b2**self.t)).sqrt() + self.eps)
