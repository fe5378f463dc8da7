"""Optimisation helpers of server-side programs: initial weights, and Adam and SGD steps on
named tensors written out (constructing a ``torch.optim`` optimizer imports ``torch._dynamo``,
which costs seconds in a fresh server process)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..circuit.circuit import Circuit
from .execution import JobRejected
from .wire import tensor_from_json


def initial_weights(circuit: Circuit, given: Mapping[str, Any], seed: int,
                    dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """``given`` weights (checked against the circuit), the others uniform in [0, 2 pi)."""
    unknown = set(given) - set(circuit.weights)
    if unknown:
        raise JobRejected(f"initial_weights names {sorted(unknown)} are not weights of the circuit"
                          f" ({sorted(circuit.weights)})")
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, arr in circuit.weights.items():
        if name in given:
            try:
                t = tensor_from_json(given[name], dtype)
            except ValueError as e:
                raise JobRejected(f"initial weight {name!r}: {str(e)[:300]}") from None
            if tuple(t.shape) != tuple(arr.shape):
                raise JobRejected(f"initial weight {name!r} has shape {tuple(t.shape)}, the"
                                  f" circuit declares {tuple(arr.shape)}")
            if not bool(torch.isfinite(t).all()):
                raise JobRejected(f"initial weight {name!r} holds NaN or infinite values")
        else:
            t = torch.rand(tuple(arr.shape), generator=gen, dtype=torch.float64) * 2 * math.pi
        out[name] = t.to(dtype)
    return out


class DescentStep:
    """In-place ``"adam"`` (PyTorch's defaults) or ``"sgd"`` updates of ``params``.

    >>> import torch
    >>> w = {"w": torch.tensor([1.0], requires_grad=True)}
    >>> opt = DescentStep(w, "sgd", 0.5)
    >>> opt.step([torch.tensor([2.0])]); w["w"].item()
    0.0
    """

    def __init__(self, params: dict[str, torch.Tensor], method: str, lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
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
