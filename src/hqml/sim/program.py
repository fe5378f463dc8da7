"""Programs: flat lists of gate descriptors over tensors, run forward or swept backward (adjoint).

An :class:`Instruction` carries what a kernel needs and nothing of the circuit's Python objects:
its kind (``"matrix"``, ``"diagonal"``, ``"monomial"``), wires, the tensor data, and for
parametrized gates the parameter columns it uses with the derivative of its data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .statevector import apply_diagonal, apply_inverse_monomial, apply_matrix, apply_monomial


@dataclass
class Instruction:
    kind: str  # "matrix" | "diagonal" | "monomial"
    wires: tuple[int, ...]
    data: Any  # matrix (d,d)/(B,d,d); diagonal (d,)/(B,d); monomial (perm, phases)
    columns: tuple[int, ...] = ()  # parameter columns this gate depends on
    derivatives: torch.Tensor | None = None  # (.., p, d, d) or, for diagonal gates, (.., p, d)


def apply(state: torch.Tensor, n: int, ins: Instruction) -> torch.Tensor:
    if ins.kind == "matrix":
        return apply_matrix(state, n, ins.data, ins.wires)
    if ins.kind == "diagonal":
        return apply_diagonal(state, n, ins.data, ins.wires)
    perm, phases = ins.data
    return apply_monomial(state, n, perm, phases, ins.wires)


def apply_adjoint(state: torch.Tensor, n: int, ins: Instruction) -> torch.Tensor:
    if ins.kind == "matrix":
        return apply_matrix(state, n, ins.data.mH, ins.wires)
    if ins.kind == "diagonal":
        return apply_diagonal(state, n, ins.data.conj(), ins.wires)
    perm, phases = ins.data
    return apply_inverse_monomial(state, n, perm, phases, ins.wires)


def run(state: torch.Tensor, n: int, program: Sequence[Instruction]) -> torch.Tensor:
    """Apply every instruction in order."""
    for ins in program:
        state = apply(state, n, ins)
    return state


def _pair_data(ins: Instruction) -> torch.Tensor:
    """Gate data for a stacked (psi; lambda) pair: batched data is repeated twice."""
    t = ins.data
    unbatched_dim = 2 if ins.kind == "matrix" else 1
    if t.dim() == unbatched_dim or t.shape[0] == 1:
        return t
    return t.repeat((2,) + (1,) * (t.dim() - 1))


def adjoint_vjp(state: torch.Tensor, cotangent: torch.Tensor, n: int, program: Sequence[Instruction],
                n_columns: int) -> torch.Tensor:
    """Vector-Jacobian product of a real functional by the adjoint method.

    With the final state ``psi`` and ``cotangent = lambda = O psi`` (O Hermitian, the functional
    being ``<psi|O|psi>``), returns ``d<O>/dtheta`` of shape ``(B, n_columns)``. Memory holds two
    states whatever the depth: earlier states are recovered by applying inverse gates.
    """
    bs = max(state.shape[0], cotangent.shape[0])
    psi = state.expand(bs, -1)
    lam = cotangent.expand(bs, -1)
    grads = torch.zeros(bs, n_columns, dtype=state.real.dtype, device=state.device)
    pair = torch.cat([psi, lam], dim=0)
    for ins in reversed(program):
        if ins.kind == "monomial":
            pair = apply_adjoint(pair, n, ins)
        elif ins.kind == "matrix":
            pair = apply_matrix(pair, n, _pair_data(ins).mH, ins.wires)
        else:
            pair = apply_diagonal(pair, n, _pair_data(ins).conj(), ins.wires)
        if ins.columns:
            psi_prev, lam_after = pair[:bs], lam
            for k, col in enumerate(ins.columns):
                d = ins.derivatives[..., k, :, :] if ins.kind == "matrix" else ins.derivatives[..., k, :]
                mu = (apply_matrix if ins.kind == "matrix" else apply_diagonal)(psi_prev, n, d, ins.wires)
                grads[:, col] += 2 * (lam_after.conj() * mu).real.sum(dim=1)
        lam = pair[bs:]
    return grads
