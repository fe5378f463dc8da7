"""Gates on a :class:`~.mps.MPS`: pure tensor routines (matrices in, sites updated).

A one-qubit gate is a contraction with one site. A ``k``-qubit gate (``k >= 2``) first brings
its wires next to each other by swaps of neighbouring sites, merges the ``k`` sites into one
block, applies the ``2^k x 2^k`` matrix, splits the block back (by SVD only when a bond would
exceed ``max_bond`` or ``cutoff`` asks for compression) and swaps the wires back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .mps import MPS

Block = Callable[[torch.Tensor], torch.Tensor]


def kron(mats: list[torch.Tensor | None], dtype: torch.dtype, device: object) -> torch.Tensor:
    """The tensor product of one-qubit matrices (``None``: identity), batched where any is."""
    eye = torch.eye(2, dtype=dtype, device=device) if any(m is None for m in mats) else None
    out = mats[0] if mats[0] is not None else eye
    for m in mats[1:]:
        m = eye if m is None else m
        a, b = out.shape[:-2], m.shape[:-2]  # () or (B,) mostly: broadcast only when both
        lead = b if not a else a if not b or a == b else torch.broadcast_shapes(a, b)
        d = out.shape[-1] * 2
        out = (out[..., :, None, :, None] * m[..., None, :, None, :]).reshape(*lead, d, d)
    return out


def apply_gate(mps: MPS, u: torch.Tensor, wires: Sequence[int]) -> None:
    """Apply the matrix ``u`` (``(d, d)`` or ``(B, d, d)``) on ``wires`` (wire order of ``u``)."""
    k = len(wires)
    if k == 1:  # (B, 1, 2, 2) or (2, 2) @ (B, Dl, 2, Dr): no permutation
        mps.tensors[wires[0]] = (u.unsqueeze(1) if u.dim() == 3 else u) @ mps.tensors[wires[0]]
        return
    order = sorted(range(k), key=lambda j: wires[j])
    swaps = _gather(mps, sorted(wires))
    u = _permute_qubits(u, order, k)
    ub = u.unsqueeze(1) if u.dim() == 3 else u
    apply_block(mps, min(wires), k, lambda t: ub @ t)
    for i in reversed(swaps):
        apply_block(mps, i, 2, _swap)


def _swap(t: torch.Tensor) -> torch.Tensor:
    b, dl, _, dr = t.shape
    return t.reshape(b, dl, 2, 2, dr).transpose(2, 3).reshape(b, dl, 4, dr)


def _gather(mps: MPS, wires: list[int]) -> list[int]:
    """Swap sorted ``wires`` onto consecutive sites from ``wires[0]``; the swaps made (each by
    the site on its left), to be undone in reverse."""
    swaps: list[int] = []
    for j, w in enumerate(wires[1:], start=1):
        for i in range(w - 1, wires[0] + j - 1, -1):
            apply_block(mps, i, 2, _swap, leftward=True)
            swaps.append(i)
    return swaps


def _permute_qubits(u: torch.Tensor, order: list[int], k: int) -> torch.Tensor:
    """``u`` with its qubits (in gate order) reordered to ``order``."""
    if order == sorted(order):
        return u
    lead = u.shape[:-2]
    t = u.reshape(*lead, *([2] * (2 * k)))
    nl = len(lead)
    perm = list(range(nl)) + [nl + j for j in order] + [nl + k + j for j in order]
    return t.permute(perm).reshape(*lead, 2**k, 2**k)


def apply_block(mps: MPS, first: int, k: int, fn: Block, leftward: bool = False) -> None:
    """Merge sites ``first .. first+k-1``, map the block ``(B, Dl, 2**k, Dr)`` by ``fn`` and
    split it back, keeping (or restoring) canonical form where a bond is cut."""
    last = first + k - 1
    use_svd = mps.needs_svd(mps.tensors[first].shape[1], k, mps.tensors[last].shape[3])
    if use_svd:
        mps.canonicalize(first, last)
    block = mps.tensors[first]
    b = block.shape[0]
    for i in range(first + 1, last + 1):
        nxt = mps.tensors[i]
        dl, dm = block.shape[1], nxt.shape[1]
        block = block.reshape(b, -1, dm) @ nxt.reshape(nxt.shape[0], dm, -1)
        block = block.reshape(b, dl, -1, nxt.shape[3])
    mps.split(first, fn(block), k, use_svd, leftward)
