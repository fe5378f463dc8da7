"""The chain rule from fused-step cotangents back to gate parameters, without autograd.

The adjoint sweep yields, for every parametrized step, the gradient of the measured functional
with respect to that step's data (torch's convention for complex tensors: for a real loss ``L``
and complex data ``z``, ``grad = 2 dL/d conj(z)``, so ``dL = Re sum conj(grad) dz``). This module
walks back through how the data was built (folded permutation, Kronecker product of per-wire
factors, product of gate matrices along each wire) to each gate's parameters, using each gate's
own derivative matrices. Everything is batched over layers of one signature, so the cost does not
grow with the number of Python-level gates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ...circuit.gates import Gate


@dataclass
class LayerTape:
    """How one signature group of single-qubit layers was built."""

    factors: torch.Tensor  # (B?, L, w, 2, 2): fused per-wire matrices
    positions: (
        list  # per gate position j: (mats_j, parts); parts: (gate, qis, qis_t, idx, params, m)
    )
    dense: bool
    n_layers: int
    fold_inverse: torch.Tensor | None = None  # (L, D) inverse of the folded permutations
    fold_phases: torch.Tensor | None = None  # (L, D)
    chunks: list = field(default_factory=list)  # [(chunk wires, first factor index)]
    native: bool = False  # one "layer" step per layer: its cotangents are the factors'


@dataclass
class GateTape:
    """One parametrized gate applied on its own."""

    gate: Gate
    columns: tuple[int, ...]
    rows: torch.Tensor  # (B, p) or (p,)


@dataclass
class PhaseTape:
    """A run of diagonal-generator gates applied as one phase: their theta columns and the
    ``(gates, words)`` matrix from their parameters to the phase's word coefficients."""

    columns: torch.Tensor
    coeffs: torch.Tensor


def kron_backward(cot: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Cotangents of the factors of ``K = F_0 (x) F_1 (x) ...`` (``(..., m, 2, 2)``)."""
    m = factors.shape[-3]
    if m == 1:
        return cot.unsqueeze(-3)
    lead = cot.shape[:-2]
    nl = len(lead)
    t = cot.reshape(lead + (2,) * (2 * m))
    order = list(range(nl)) + [nl + x for q in range(m) for x in (q, m + q)]
    t = t.permute(order).reshape(lead + (4,) * m)
    fc = factors.conj().reshape(factors.shape[:-2] + (4,))
    letters = "abcdefghijklmnop"[:m]
    out = []
    for q in range(m):
        others = [r for r in range(m) if r != q]
        spec = "..." + letters + "," + ",".join("..." + letters[r] for r in others)
        out.append(torch.einsum(spec + "->..." + letters[q], t, *[fc[..., r, :] for r in others]))
    return torch.stack(out, dim=-2).reshape(lead + (m, 2, 2))


def product_backward(mats: list[torch.Tensor], cot: torch.Tensor) -> list[torch.Tensor]:
    """Cotangents of ``P_j`` in ``F = P_{m-1} ... P_1 P_0`` given the cotangent of ``F``."""
    m = len(mats)
    if m == 1:
        return [cot]
    prefix = [None] * m  # prefix[j] = P_{j-1} ... P_0
    acc = None
    for j in range(m):
        prefix[j] = acc
        acc = mats[j] if acc is None else mats[j] @ acc
    out: list[torch.Tensor] = [None] * m  # type: ignore[list-item]
    left = cot  # S_j^H cot, with S_j = P_{m-1} ... P_{j+1}
    for j in range(m - 1, -1, -1):
        out[j] = left if prefix[j] is None else left @ prefix[j].mH
        left = mats[j].mH @ left
    return out


def _param_grads(
    gate: Gate, params: torch.Tensor, cot: torch.Tensor, diagonal: bool
) -> torch.Tensor:
    """``d L / d params`` (``(..., p)``) from the cotangent of the gate's matrix (or diagonal)."""
    der = gate.derivatives(params)  # (..., p, d, d)
    if diagonal:
        der = torch.diagonal(der, dim1=-2, dim2=-1)  # (..., p, d)
        return (cot.conj().unsqueeze(-2) * der).real.sum(dim=-1)
    return (cot.conj().unsqueeze(-3) * der).real.sum(dim=(-1, -2))


def _scatter(
    grad: torch.Tensor, columns: torch.Tensor, values: torch.Tensor, batched: bool
) -> None:
    if batched:
        grad.index_add_(1, columns.reshape(-1), values.reshape(values.shape[0], -1).to(grad.dtype))
    else:
        grad[0].index_add_(0, columns.reshape(-1), values.reshape(-1).to(grad.dtype))


def _layer_gradient(tape: LayerTape, cots: dict[tuple, torch.Tensor], grad: torch.Tensor) -> None:
    batched = tape.factors.dim() == 5
    if tape.dense:
        c = torch.stack([cots[(pos, None)] for pos in range(tape.n_layers)], dim=-3)
        if tape.fold_inverse is not None:  # M = diag(phases) P K  =>  K's cotangent
            if tape.fold_phases is not None:
                c = c * tape.fold_phases.conj()[..., None]
            c = torch.gather(c, -2, tape.fold_inverse[..., None].expand(c.shape))
        cot_f = kron_backward(c, tape.factors)
    elif tape.native:  # per layer (B?, w, 2, 2) -> (B?, L, w, 2, 2)
        cot_f = torch.stack([cots[(pos, None)] for pos in range(tape.n_layers)], dim=-4)
    else:
        pieces = []
        for ci, (cw, start) in enumerate(tape.chunks):
            c = torch.stack([cots[(pos, ci)] for pos in range(tape.n_layers)], dim=-3)
            pieces.append(kron_backward(c, tape.factors[..., start : start + len(cw), :, :]))
        cot_f = torch.cat(pieces, dim=-3)
    mats = [m for m, _ in tape.positions]
    cot_pos = product_backward(mats, cot_f)
    for (_, parts), c_j in zip(tape.positions, cot_pos, strict=True):
        for gate, qis, qis_t, idx, params, _ in parts:
            if gate.num_params == 0:
                continue
            c_g = c_j if len(qis) == c_j.shape[-3] else c_j.index_select(-3, qis_t)
            values = _param_grads(gate, params, c_g, diagonal=False)  # (B?, L, wq, p)
            _scatter(grad, idx, values, batched)


def theta_gradient(steps: list, cots: list[torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    """``dL/dtheta`` from the cotangents of the parametrized ``steps`` (in order)."""
    grad = torch.zeros_like(theta)
    by_layer: dict[int, tuple[LayerTape, dict]] = {}
    param_steps = [s for s in steps if s.param]
    for step, cot in zip(param_steps, cots, strict=True):
        tag = step.tag
        if isinstance(tag, PhaseTape):  # cot: gradient of the word coefficients (B?, K)
            _scatter(grad, tag.columns, cot @ tag.coeffs.T, cot.dim() == 2)
        elif isinstance(tag, GateTape):
            batched = tag.rows.dim() == 2
            values = _param_grads(tag.gate, tag.rows, cot, diagonal=step.kind == "diagonal")
            cols = torch.as_tensor(tag.columns, device=theta.device)
            _scatter(grad, cols, values, batched)
        else:
            tape, pos, chunk = tag
            by_layer.setdefault(id(tape), (tape, {}))[1][(pos, chunk)] = cot
    for tape, layer_cots in by_layer.values():
        _layer_gradient(tape, layer_cots, grad)
    return grad


__all__: list[Any] = [
    "GateTape",
    "LayerTape",
    "PhaseTape",
    "kron_backward",
    "product_backward",
    "theta_gradient",
]
