"""Checks and marshalling of the arguments of the native layer and gather calls (shapes,
dtypes, wire positions, factor batches), shared by :mod:`hqml.sim.native`'s entry points."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import torch

_DTYPES = {torch.complex64: "c64", torch.complex128: "c128"}


def _check(state: torch.Tensor, n: int, name: str) -> None:
    if state.dim() != 2 or state.shape[1] != 2**n:
        raise ValueError(f"{name} must have shape (B, 2**{n}), got {tuple(state.shape)}")
    if state.dtype not in _DTYPES or state.device.type != "cpu":
        raise ValueError(
            f"{name} must be a complex64/complex128 CPU tensor (got {state.dtype} on "
            f"{state.device}); use the torch kernels in hqml.sim.statevector otherwise"
        )


def _positions(n: int, wires: Sequence[int]) -> Any:
    wires = [int(w) for w in wires]
    if len(set(wires)) != len(wires) or any(not 0 <= w < n for w in wires):
        raise ValueError(f"layer wires {wires} must be distinct and in range(0, {n})")
    return (ctypes.c_int * max(len(wires), 1))(*[n - 1 - w for w in wires])


def _factors(factors: torch.Tensor, dtype: torch.dtype, w: int) -> tuple[torch.Tensor, int]:
    """Contiguous factors and their batch (0 when shared)."""
    if factors.dim() == 4 and factors.shape[0] == 1:
        factors = factors[0]
    if factors.dim() not in (3, 4) or factors.shape[-3:] != (w, 2, 2):
        raise ValueError(
            f"factors must have shape ({w}, 2, 2) or (B, {w}, 2, 2), got {tuple(factors.shape)}"
        )
    f = factors.detach().to(dtype).contiguous()
    return f, (f.shape[0] if f.dim() == 4 else 0)


def _operands(
    state: torch.Tensor, n: int, fb: int, out: torch.Tensor | None
) -> tuple[torch.Tensor, int, int, torch.Tensor]:
    """``(src, stride, batch, out)`` for a layer call: the state shared (stride 0) or one per
    row, the batch of state and factors (``fb`` 0 when shared), ``out`` checked or allocated."""
    bs = state.shape[0]
    batch = max(bs, fb)
    if bs not in (1, batch):
        raise ValueError(f"state batch {bs} does not match the factors' batch {fb}")
    if bs == 1 or state.stride(0) == 0:
        src, stride = state[:1].detach().contiguous(), 0
    else:
        src, stride = state.detach().contiguous(), 2**n
    if out is None:
        out = torch.empty(batch, 2**n, dtype=state.dtype)
    elif out.shape != (batch, 2**n) or out.dtype != state.dtype or not out.is_contiguous():
        raise ValueError(f"out must be a contiguous ({batch}, {2**n}) {state.dtype} tensor")
    elif out.data_ptr() == src.data_ptr() and stride == 0 and batch > 1:
        raise ValueError("in place needs the state's batch to match the factors' batch")
    return src, stride, batch, out
