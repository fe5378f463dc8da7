"""Optimisation helpers of server-side programs: initial weights; the Adam and SGD steps are
:class:`hqml.algorithms.optimizers.DescentStep`, the one Adam of hqml."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ..algorithms.optimizers import DescentStep
from ..circuit.circuit import Circuit
from .execution import JobRejected
from .wire import tensor_from_json


def initial_weights(
    circuit: Circuit, given: Mapping[str, Any], seed: int, dtype: torch.dtype
) -> dict[str, torch.Tensor]:
    """``given`` weights (checked against the circuit), the others uniform in [0, 2 pi)."""
    unknown = set(given) - set(circuit.weights)
    if unknown:
        raise JobRejected(
            f"initial_weights names {sorted(unknown)} are not weights of the circuit"
            f" ({sorted(circuit.weights)})"
        )
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, arr in circuit.weights.items():
        if name in given:
            try:
                t = tensor_from_json(given[name], dtype)
            except ValueError as e:
                raise JobRejected(f"initial weight {name!r}: {str(e)[:300]}") from None
            if tuple(t.shape) != tuple(arr.shape):
                raise JobRejected(
                    f"initial weight {name!r} has shape {tuple(t.shape)}, the"
                    f" circuit declares {tuple(arr.shape)}"
                )
            if not bool(torch.isfinite(t).all()):
                raise JobRejected(f"initial weight {name!r} holds NaN or infinite values")
        else:
            t = torch.rand(tuple(arr.shape), generator=gen, dtype=torch.float64) * 2 * math.pi
        out[name] = t.to(dtype)
    return out


__all__ = ["DescentStep", "initial_weights"]
