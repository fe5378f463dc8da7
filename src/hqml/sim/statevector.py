"""Batched statevector kernels.

A state is a tensor of shape ``(B, 2**n)``; wire 0 is the most significant bit of the index.
Every function is out of place (autograd records it) and works on any device. A batch of 1
broadcasts against batched gate data, so a circuit whose first gates are shared starts cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def zero_state(
    n: int,
    batch: int = 1,
    dtype: torch.dtype = torch.complex64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """|0...0> for ``batch`` samples: ``(batch, 2**n)``."""
    state = torch.zeros(batch, 2**n, dtype=dtype, device=device)
    state[:, 0] = 1
    return state


def _is_contiguous(wires: Sequence[int]) -> bool:
    return all(b == a + 1 for a, b in zip(wires, wires[1:], strict=False))


def apply_matrix(
    state: torch.Tensor, n: int, matrix: torch.Tensor, wires: Sequence[int]
) -> torch.Tensor:
    """Apply a ``(d, d)`` matrix, or a ``(B, d, d)`` batch of them, to ``wires`` (in that order)."""
    k = len(wires)
    d = 2**k
    bs = state.shape[0]
    batched = matrix.dim() == 3
    if k == n and list(wires) == list(range(n)):  # the whole register: one GEMM / batched GEMV
        if not batched:
            return state @ matrix.transpose(0, 1)
        return torch.matmul(matrix, state.unsqueeze(-1)).squeeze(-1)
    if _is_contiguous(wires):
        left, right = 2 ** wires[0], 2 ** (n - wires[0] - k)
        if not batched:
            if right == 1:
                return (state.reshape(bs * left, d) @ matrix.transpose(0, 1)).reshape(bs, -1)
            out = torch.matmul(matrix, state.reshape(bs * left, d, right))
            return out.reshape(bs, -1)
        out = torch.matmul(matrix.reshape(-1, 1, d, d), state.reshape(bs, left, d, right))
        return out.reshape(out.shape[0], -1)
    axes = [1 + w for w in wires]
    front = list(range(1, k + 1))
    psi = torch.movedim(state.reshape((bs,) + (2,) * n), axes, front)
    rest = psi.shape[k + 1 :]
    out = torch.matmul(matrix, psi.reshape(bs, d, -1))
    out = torch.movedim(out.reshape((out.shape[0],) + (2,) * k + rest), front, axes)
    return out.reshape(out.shape[0], -1)


def _broadcast_diag(diag: torch.Tensor, n: int, wires: Sequence[int]) -> torch.Tensor:
    k = len(wires)
    dg = diag.reshape((-1,) + (2,) * k)
    order = sorted(range(k), key=lambda i: wires[i])
    if order != list(range(k)):
        dg = dg.permute(0, *[1 + i for i in order])
    shape = [dg.shape[0]] + [1] * n
    for w in wires:
        shape[1 + w] = 2
    return dg.reshape(shape)


def apply_diagonal(
    state: torch.Tensor, n: int, diag: torch.Tensor, wires: Sequence[int]
) -> torch.Tensor:
    """Multiply by a diagonal gate: ``diag`` is ``(d,)`` or ``(B, d)``."""
    bs = state.shape[0]
    k = len(wires)
    if _is_contiguous(wires):
        left, right = 2 ** wires[0], 2 ** (n - wires[0] - k)
        out = state.reshape(bs, left, 2**k, right) * diag.reshape(-1, 1, 2**k, 1)
        return out.reshape(out.shape[0], -1)
    out = state.reshape((bs,) + (2,) * n) * _broadcast_diag(diag, n, wires)
    return out.reshape(out.shape[0], -1)


def _index(n: int, wires: Sequence[int], bits: int) -> tuple:
    idx: list = [slice(None)] * (n + 1)
    k = len(wires)
    for i, w in enumerate(wires):
        idx[1 + w] = (bits >> (k - 1 - i)) & 1
    return tuple(idx)


def apply_monomial(
    state: torch.Tensor,
    n: int,
    perm: Sequence[int],
    phases: Sequence[complex] | None,
    wires: Sequence[int],
) -> torch.Tensor:
    """Apply ``M`` with ``M[perm[j], j] = phases[j]`` (a permutation times phases) by slicing."""
    bs = state.shape[0]
    k = len(wires)
    if k == 1 and perm[0] == 1:  # X-like: flip one axis
        left, right = 2 ** wires[0], 2 ** (n - wires[0] - 1)
        out = state.reshape(bs * left, 2, right).flip(1)
        if phases is not None and not (phases[0] == 1 and phases[1] == 1):
            ph = torch.tensor([phases[1], phases[0]], dtype=state.dtype, device=state.device)
            out = out * ph.reshape(1, 2, 1)
        return out.reshape(bs, -1)
    psi = state.reshape((bs,) + (2,) * n)
    out = torch.empty_like(psi)
    for j in range(2**k):
        src = psi[_index(n, wires, j)]
        if phases is not None and phases[j] != 1:
            src = src * phases[j]
        out[_index(n, wires, perm[j])] = src
    return out.reshape(bs, -1)


def apply_inverse_monomial(
    state: torch.Tensor,
    n: int,
    perm: Sequence[int],
    phases: Sequence[complex] | None,
    wires: Sequence[int],
) -> torch.Tensor:
    """Apply the adjoint of the monomial gate given as in :func:`apply_monomial`."""
    d = len(perm)
    inv = [0] * d
    inv_ph = None if phases is None else [0j] * d
    for j, pj in enumerate(perm):
        inv[pj] = j
        if inv_ph is not None:
            inv_ph[pj] = complex(phases[j]).conjugate()
    return apply_monomial(state, n, inv, inv_ph, wires)


def apply_permutation(
    state: torch.Tensor, index: torch.Tensor, phases: torch.Tensor | None = None
) -> torch.Tensor:
    """``out[:, i] = phases[i] * state[:, index[i]]``: a whole-register monomial in one gather."""
    out = state.index_select(1, index)
    return out if phases is None else out * phases


def kron_factors(factors: torch.Tensor) -> torch.Tensor:
    """Kronecker product over axis -3 of ``(..., m, 2, 2)``: ``(..., 2**m, 2**m)``, factor 0 most
    significant."""
    out = factors[..., 0, :, :]
    for i in range(1, factors.shape[-3]):
        f = factors[..., i, :, :]
        a = out.shape[-1]
        out = (out[..., :, None, :, None] * f[..., None, :, None, :]).reshape(
            out.shape[:-2] + (2 * a, 2 * a)
        )
    return out
