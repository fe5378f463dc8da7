"""Fused programs: steps over whole-register permutations and (fused) gate blocks, run forward
or swept backward by the adjoint method.

A :class:`Step` holds tensor data only. Steps marked ``param`` carry data that depends on the
trainable parameters; :func:`adjoint_cotangents` returns, for each of them, the gradient of the
measured functional with respect to that data (torch's convention for complex tensors), so the
caller can finish the chain rule with autograd on the small graph that built the data. Memory
holds two states whatever the depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from . import native
from .statevector import (
    apply_diagonal,
    apply_inverse_monomial,
    apply_matrix,
    apply_monomial,
    apply_permutation,
)
from .zwords import ZBasis


@dataclass
class Step:
    kind: str  # "matrix" | "diagonal" | "perm" | "monomial" | "layer" | "phase"
    wires: tuple[int, ...]
    # matrix (d,d)/(B,d,d); diagonal (d,)/(B,d); perm (index, inverse, phases);
    # monomial (perm, phases); layer: 2x2 factors (w,2,2)/(B,w,2,2), factor i on wires[i],
    # applied by the native kernels (hqml.sim.native); phase (basis, a[, levels]): the diagonal
    # exp(-i sum_k a_k z_k) over the Z words of a ZBasis, a real (K,)/(B,K) (see phase)
    data: Any
    param: bool = False
    tag: Any = None  # for the caller's chain rule (what built ``data``)
    rows: Any = None  # the parameter values of a single parametrized gate


@dataclass(frozen=True)
class LinearGather:
    """The tag of a ``perm`` step whose gather is linear over GF(2) (CNOTs and SWAPs):
    ``index[y]`` is the XOR of ``columns[j]`` over the set bits ``j`` of ``y`` (an int64 tensor
    of ``n`` entries). The native kernels then fold the gather into the next layer's first pass
    (:func:`hqml.sim.native.apply_layer_permuted`) instead of reading an index per amplitude."""

    columns: torch.Tensor


def phase(
    basis: ZBasis,
    coeffs: torch.Tensor,
    dtype: torch.dtype,
    levels: Any = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``exp(-i sum_k coeffs_k z_k(x))`` for every basis state: ``(..., 2**n)`` of complex
    ``dtype`` (differentiable in ``coeffs`` unless ``levels`` is given).

    ``levels``: ``(index, values, u)`` when ``coeffs = u * pattern`` (``u`` a scalar or ``(B,)``)
    and the pattern's diagonal is ``values[index]`` (:func:`~hqml.sim.zwords.levels`): the
    phases are a lookup in a table of ``exp(-i u values)`` (no sine or cosine per amplitude),
    written into ``out`` when given (a buffer of the right shape and dtype, reused across steps).
    """
    if levels is not None:
        index, values, u = levels
        angle = u.to(values.dtype).unsqueeze(-1) * values  # float64: (..., V)
        table = torch.complex(torch.cos(angle), torch.sin(-angle)).to(dtype)
        if out is not None and out.shape == table.shape[:-1] + index.shape:
            return torch.index_select(table, -1, index, out=out)
        return table.index_select(-1, index)
    angle = basis.diagonal(coeffs.to(torch.empty(0, dtype=dtype).real.dtype))
    return torch.complex(torch.cos(angle), torch.sin(-angle))  # polar is 5-10x slower


def _phase_of(step: Step, dtype: torch.dtype, out: torch.Tensor | None = None) -> torch.Tensor:
    """A ``phase`` step's phases (data ``(basis, a)`` or ``(basis, a, levels)``)."""
    levels = step.data[2] if len(step.data) > 2 else None
    return phase(
        step.data[0],
        step.data[1],
        dtype,
        levels,
        out if out is None or out.dtype == dtype else None,
    )


def apply_step(state: torch.Tensor, n: int, step: Step) -> torch.Tensor:
    if step.kind == "phase":
        return state * _phase_of(step, state.dtype)
    if step.kind == "layer":
        return native.apply_layer(state, n, step.wires, step.data)
    if step.kind == "matrix":
        return apply_matrix(state, n, step.data, step.wires)
    if step.kind == "diagonal":
        return apply_diagonal(state, n, step.data, step.wires)
    if step.kind == "perm":
        index, inverse, phases = step.data
        if native.usable(state.device, state.dtype, n):
            out = native.permute(state, index, inverse)
            return out if phases is None else out * phases
        return apply_permutation(state, index, phases)
    perm, phases = step.data
    return apply_monomial(state, n, perm, phases, step.wires)


def _apply_step_adjoint(state: torch.Tensor, n: int, step: Step, data: Any) -> torch.Tensor:
    if step.kind == "matrix":
        return apply_matrix(state, n, data.mH, step.wires)
    if step.kind == "diagonal":
        return apply_diagonal(state, n, data.conj(), step.wires)
    if step.kind == "perm":
        index, inverse, phases = step.data
        if phases is not None:
            state = state * phases.conj()
        return state.index_select(1, inverse)
    perm, phases = step.data
    return apply_inverse_monomial(state, n, perm, phases, step.wires)


def run_steps(
    state: torch.Tensor | None,
    n: int,
    steps: Sequence[Step],
    dtype: torch.dtype = torch.complex64,
    device: Any = None,
) -> torch.Tensor:
    """The states after ``steps``; ``state=None`` starts from one |0...0> of ``dtype`` on
    ``device`` (broadcast over the steps' batch)."""
    owned = state is None  # a state made here may be overwritten in place
    cpu = device is None or torch.device(device).type == "cpu"
    if (
        state is None
        and cpu
        and steps
        and steps[0].kind == "layer"
        and not _records_grad(None, steps)
    ):
        # a first layer on |0...0> gives a product state: written once, neither zeroed nor read
        return _run_recycling(_product_state(n, steps[0], dtype), n, steps[1:], True)
    if state is None:
        state = torch.zeros(1, 2**n, dtype=dtype, device=device)
        state[:, 0] = 1  # |0...0> (sim.statevector.zero_state, made here without a call)
    if any(s.kind == "layer" for s in steps) and not _records_grad(state, steps):
        return _run_recycling(state, n, steps, owned)
    for step in steps:
        state = apply_step(state, n, step)
    return state


def _product_state(n: int, step: Step, dtype: torch.dtype) -> torch.Tensor:
    """A layer's factors applied to |0...0>: ``psi[y] = prod_q F_q[y_q, 0]`` (``[y_q = 0]`` on
    wires without a factor), ``(B, 2**n)`` for per-sample factors. The wires' columns are
    multiplied out in complex128 over each half of the wires, and the two halves once in
    ``dtype``: one write of the state, where zeroing it and applying the layer read and wrote it
    twice (the same values to rounding)."""
    factors = step.data.detach()
    col = torch.zeros(factors.shape[:-3] + (n, 2), dtype=torch.complex128)
    col[..., 0] = 1
    col[..., list(step.wires), :] = factors[..., 0].to(torch.complex128)  # F_q's first column
    if col.dim() == 2:
        col = col[None]

    def kron(cols: torch.Tensor) -> torch.Tensor:  # (B, m, 2) -> (B, 2**m), wire 0 the MSB
        out = torch.ones(cols.shape[0], 1, dtype=cols.dtype)
        for q in range(cols.shape[1]):
            out = (out[:, :, None] * cols[:, q, None, :]).reshape(cols.shape[0], -1)
        return out

    half = n // 2
    left, right = kron(col[:, :half]).to(dtype), kron(col[:, half:]).to(dtype)
    return (left[:, :, None] * right[:, None, :]).reshape(col.shape[0], 2**n)


def _records_grad(state: torch.Tensor | None, steps: Sequence[Step]) -> bool:
    if not torch.is_grad_enabled():
        return False
    return (state is not None and state.requires_grad) or any(
        (s.data[1] if s.kind == "phase" else s.data).requires_grad
        for s in steps
        if s.kind == "phase" or isinstance(s.data, torch.Tensor)
    )


def _run_recycling(
    state: torch.Tensor, n: int, steps: Sequence[Step], owned: bool = False
) -> torch.Tensor:
    """``run_steps`` when autograd records nothing: native layers in place and gathers into a
    spare buffer, so large states are not allocated (and page-faulted in) once per step.
    ``owned``: whether ``state`` is ours to overwrite (never the caller's tensor)."""
    spare: torch.Tensor | None = None
    phases: torch.Tensor | None = None  # the lookup phases' buffer (sim.fused.phase)
    skip = False
    for i, step in enumerate(steps):
        if skip:  # a layer done with the permutation before it
            skip = False
            continue
        if step.kind == "perm" and state.is_contiguous() and isinstance(step.tag, LinearGather):
            # the permutation folded into the next layer's first pass, in place when the state
            # is ours (no second state), else into a new one
            nxt = steps[i + 1] if i + 1 < len(steps) else None
            layer = nxt is not None and nxt.kind == "layer" and _layer_batch_ok(nxt, state)
            wires, data = (nxt.wires, nxt.data) if layer else ((), None)
            out = state if owned else torch.empty(state.shape, dtype=state.dtype)
            if (
                native.apply_layer_permuted(state, n, step.tag.columns, wires, data, out)
                is not None
            ):
                state, owned, skip = out, True, layer
                continue
        if step.kind == "layer" and owned and state.is_contiguous():
            fb = step.data.shape[0] if step.data.dim() == 4 else 1
            if fb in (1, state.shape[0]):
                native.apply_layer(state, n, step.wires, step.data, out=state)
                continue
        if step.kind == "perm" and state.is_contiguous():
            index, _, phases = step.data
            if spare is None or spare.shape != state.shape or spare.dtype != state.dtype:
                spare = None
            new = native.gather(state, index, out=spare)
            if phases is not None:
                new.mul_(phases)
            spare, state, owned = (state if owned else None), new, True
            continue
        if step.kind == "phase" and owned and step.data[1].shape[:-1] in ((), state.shape[:1]):
            phases = _phase_of(step, state.dtype, phases)
            state.mul_(phases)
            continue
        state, owned = apply_step(state, n, step), True
    return state


def _layer_batch_ok(step: Step, state: torch.Tensor) -> bool:
    """Whether a layer step's factors apply to ``state`` batch for batch (shared or equal)."""
    fb = step.data.shape[0] if step.data.dim() == 4 else 1
    return fb in (1, state.shape[0])


def _pair_data(step: Step) -> Any:
    """Data for a stacked (psi; lambda) pair: batched data is repeated twice."""
    t = step.data
    if step.kind not in ("matrix", "diagonal"):
        return t
    unbatched_dim = 2 if step.kind == "matrix" else 1
    if t.dim() == unbatched_dim or t.shape[0] == 1:
        return t
    return t.repeat((2,) + (1,) * (t.dim() - 1))


def _cotangent(step: Step, n: int, lam: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    """``2 * sum lam psi^H`` over the batch (unless the data is batched) and the other wires."""
    wires = step.wires
    k = len(wires)
    d = 2**k
    bs = psi.shape[0]
    batched = step.data.dim() == (3 if step.kind == "matrix" else 2)
    # contiguous wires: views of the state, no copies
    if all(b == a + 1 for a, b in zip(wires, wires[1:], strict=False)):
        left, right = 2 ** wires[0], 2 ** (n - wires[0] - k)
        lam_t = lam.reshape(bs, left, d, right)
        psi_t = psi.reshape(bs, left, d, right)
        if step.kind == "matrix":
            if right == 1 and not batched:
                return 2 * lam_t.reshape(-1, d).transpose(0, 1) @ psi_t.reshape(-1, d).conj()
            prod = torch.matmul(lam_t, psi_t.mH)  # (B, left, d, d)
            return 2 * (prod.sum(dim=1) if batched else prod.sum(dim=(0, 1)))
        prod = (lam_t * psi_t.conj()).sum(dim=(1, 3))  # (B, d)
        return 2 * prod if batched else 2 * prod.sum(dim=0)
    axes = [1 + w for w in wires]
    front = list(range(1, k + 1))
    lam_t = torch.movedim(lam.reshape((bs,) + (2,) * n), axes, front).reshape(bs, d, -1)
    psi_t = torch.movedim(psi.reshape((bs,) + (2,) * n), axes, front).reshape(bs, d, -1)
    if step.kind == "matrix":
        if batched:
            return 2 * torch.matmul(lam_t, psi_t.mH)
        return 2 * torch.matmul(
            lam_t.transpose(0, 1).reshape(d, -1), psi_t.transpose(0, 1).reshape(d, -1).mH
        )
    prod = (lam_t * psi_t.conj()).sum(dim=-1)  # (B, d)
    return 2 * prod if batched else 2 * prod.sum(dim=0)


def _phase_adjoint(
    pair: torch.Tensor, bs: int, step: Step, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, Any, torch.Tensor]:
    """Undo a phase step on the ``(psi; lambda)`` pair in place; return the gradient of its
    real coefficients ``a``: ``2 Re <lam|-i z_k|psi> = 2 sum_x z_k(x) Im(conj(lam_x) psi_x)``
    (the phase commutes with ``z_k``, so ``psi`` and ``lam`` are both taken after the step).
    ``out``: a buffer for the phases (returned, for the next phase step)."""
    basis, coeffs = step.data[:2]
    grad = None
    if step.param:
        psi, lam = pair[:bs], pair[bs:]
        w = torch.mul(lam.real, psi.imag).addcmul_(lam.imag, psi.real, value=-1)
        grad = 2 * basis.correlate(w)
        if coeffs.dim() == 1:
            grad = grad.sum(dim=0)
        grad = grad.to(coeffs.dtype)
    ph = _phase_of(step, pair.dtype, out)
    pair.view(2, bs, -1).mul_(ph.conj().reshape(-1, ph.shape[-1]))
    return pair, grad, ph


def adjoint_cotangents(
    state: torch.Tensor, cotangent: torch.Tensor, n: int, steps: Sequence[Step]
) -> list[torch.Tensor]:
    """Gradients of ``Re <psi|O|psi>`` with respect to each ``param`` step's data (in order).

    Args:
        state: the final state ``psi`` ``(B, 2**n)``.
        cotangent: ``lambda = O psi`` ``(B, 2**n)``.
    """
    bs = max(state.shape[0], cotangent.shape[0])
    lam = cotangent.expand(bs, -1)
    pair = torch.cat([state.expand(bs, -1), lam], dim=0)
    out: list[torch.Tensor] = []
    spare: torch.Tensor | None = None  # a buffer for gathers (the pair is always ours)
    phases: torch.Tensor | None = None  # a buffer for lookup phases
    for step in reversed(steps):
        if step.kind == "perm" and native.usable(pair.device, pair.dtype, n):
            _, inverse, phases = step.data
            if phases is not None:
                pair = pair * phases.conj()
            if spare is None or spare.shape != pair.shape:
                spare = None
            pair, spare = native.gather(pair, inverse, out=spare), pair
            lam = pair[bs:]
            continue
        if step.kind == "phase":  # in place on the pair, like a layer
            pair, grad, phases = _phase_adjoint(pair.contiguous(), bs, step, phases)
            if step.param:
                out.append(grad)
            lam = pair[bs:]
            continue
        if step.kind == "layer":  # in place on the pair (ours: built by cat or a step above)
            pair = pair.contiguous()
            cot = native.adjoint_layer(pair[:bs], pair[bs:], n, step.wires, step.data)
            if step.param:
                out.append(2 * cot)
            lam = pair[bs:]
            continue
        pair = _apply_step_adjoint(pair, n, step, _pair_data(step))
        if step.param:
            out.append(_cotangent(step, n, lam, pair[:bs]))
        lam = pair[bs:]
    out.reverse()
    return out
