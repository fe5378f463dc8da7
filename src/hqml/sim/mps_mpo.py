"""A two-qubit gate on distant sites as a matrix product operator (no swaps).

A gate on sites ``i < j`` written ``U = sum_k L_k (x) R_k`` (``chi`` terms) is applied as an MPO
of bond ``chi``: site ``i`` takes ``L_k`` and opens the MPO bond, the sites between carry it
(a tensor product with the identity, so they stay isometries), site ``j`` takes ``R_k`` and
closes it. Every bond of the span grows by the factor ``chi``; only where a bond then exceeds
``max_bond`` (or ``cutoff`` asks for compression) is the span compressed, by one sweep that
moves the canonical centre to ``j`` and one that comes back cutting each bond optimally (the
same discarded-weight records as every other cut). Without compression no decomposition is
made, so gradients stay exact.

:func:`block_terms` gives the terms of the split into ``2 x 2`` blocks on one of the two
wires: ``U = sum_{a,b} |a><b| (x) U_ab`` (or the mirror). A controlled gate (``cnot``, ``cz``,
``crx``, ``cp``, ...) or a diagonal one (``rzz``) has two nonzero blocks on its control (or either)
wire: ``chi = 2``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .mps import MPS


def block_terms(
    u: torch.Tensor, blocks: Sequence[tuple[int, int]], on_low: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Terms ``(L, R)`` ``(..., chi, 2, 2)`` with ``u = sum_k L_k (x) R_k`` over ``blocks``
    (the ``(a, b)`` blocks that may be nonzero; ``u`` ``(..., 4, 4)``, its first qubit on the
    lower site). ``on_low``: the ``|a><b|`` are on the lower site, else on the higher."""
    t = u.reshape(*u.shape[:-2], 2, 2, 2, 2)  # (a, s, b, t): low out, high out, low in, high in
    eye = torch.eye(2, dtype=u.dtype, device=u.device)
    units = torch.stack([eye[:, a, None] * eye[None, b, :] for a, b in blocks])  # |a><b|
    if on_low:
        rest = torch.stack([t[..., a, :, b, :] for a, b in blocks], dim=-3)
        return units.expand(*rest.shape[:-3], -1, -1, -1), rest
    rest = torch.stack([t[..., :, a, :, b] for a, b in blocks], dim=-3)
    return rest, units.expand(*rest.shape[:-3], -1, -1, -1)


def _batched(op: torch.Tensor) -> torch.Tensor:
    return op if op.dim() == 4 else op.unsqueeze(0)  # (B or 1, chi, 2, 2)


def apply_mpo2(mps: MPS, left: torch.Tensor, right: torch.Tensor, i: int, j: int) -> None:
    """Apply ``sum_k left_k (x) right_k`` on sites ``i < j`` (terms ``(chi, 2, 2)`` or
    ``(B, chi, 2, 2)``), compressing the span where a bond would exceed ``max_bond``."""
    left, right = _batched(left), _batched(right)
    chi = left.shape[1]
    reached = mps.report.max_bond  # the grown bonds below are not kept: record the final ones
    a = mps.tensors[i]
    b, dl, _, dr = a.shape
    t = torch.einsum("bkst,bltr->blsrk", left, a)
    mps.set(i, t.reshape(t.shape[0], dl, 2, dr * chi), False, False)
    eye = torch.eye(chi, dtype=a.dtype, device=a.device)
    for m in range(i + 1, j):
        c = mps.tensors[m]
        bm, cl, _, cr = c.shape
        t = torch.einsum("blsr,kq->blksrq", c, eye).reshape(bm, cl * chi, 2, cr * chi)
        mps.set(m, t, mps.left_iso[m], mps.right_iso[m])
    c = mps.tensors[j]
    cl, cr = c.shape[1], c.shape[3]
    t = torch.einsum("bkst,bltr->blksr", right, c)
    mps.set(j, t.reshape(t.shape[0], cl * chi, 2, cr), False, False)
    shrink(mps, i, j)
    span = [mps.tensors[m].shape[3] for m in range(i, j)]
    if mps.options.cutoff > 0 or max(span) > mps.options.max_bond:
        compress(mps, i, j)
    mps.report.max_bond = max([reached] + [mps.tensors[m].shape[3] for m in range(i, j)])


def shrink(mps: MPS, i: int, j: int) -> None:
    """Bring each bond between sites ``i`` and ``j`` down to its local bound (twice the bond on
    the far side of either neighbour) without any decomposition: the two sites are merged and
    split with an identity on the short side, as :meth:`MPS.split` does. Near the chain's ends
    (and in small circuits) this alone keeps the MPO's bonds under ``max_bond``."""
    for m in range(i, j):  # left to right: bond m|m+1 <= 2 * (bond left of m)
        a, c = mps.tensors[m], mps.tensors[m + 1]
        b, dl, _, dm = a.shape
        if dm > 2 * dl:
            mat = a.reshape(b, 2 * dl, dm) @ c.reshape(c.shape[0], dm, -1)
            eye = torch.eye(2 * dl, dtype=a.dtype, device=a.device)
            mps.set(m, eye.reshape(1, dl, 2, 2 * dl).expand(b, -1, -1, -1), True, False)
            mps.set(m + 1, mat.reshape(b, 2 * dl, 2, c.shape[3]), False, False)
    for m in range(j, i, -1):  # right to left: bond m-1|m <= 2 * (bond right of m)
        a, c = mps.tensors[m - 1], mps.tensors[m]
        b, dm, _, dr = c.shape
        if dm > 2 * dr:
            mat = a.reshape(a.shape[0], -1, dm) @ c.reshape(b, dm, 2 * dr)
            eye = torch.eye(2 * dr, dtype=c.dtype, device=c.device)
            mps.set(m, eye.reshape(1, 2 * dr, 2, dr).expand(mat.shape[0], -1, -1, -1), False, True)
            mps.set(m - 1, mat.reshape(mat.shape[0], a.shape[1], 2, 2 * dr), False, False)


def compress(mps: MPS, i: int, j: int) -> None:
    """Cut the bonds between sites ``i`` and ``j`` to what ``max_bond``/``cutoff`` allow, each
    cut optimal (the rest of the chain in canonical form around it) and recorded."""
    mps.canonicalize(i, j)
    for m in range(i, j):  # centre to j: sites i..j-1 become left isometries
        mps.move_right(m)
    for m in range(j, i, -1):  # back, cutting the bond left of each site
        a = mps.tensors[m]
        b, dl, _, dr = a.shape
        u, s, vh = mps.cut(a.reshape(b, dl, 2 * dr), m - 1)
        us = u * s.to(u.dtype).unsqueeze(-2)
        prev = torch.einsum("bxsl,blk->bxsk", mps.tensors[m - 1], us)
        mps.set(m, vh.reshape(b, -1, 2, dr), False, True)
        mps.set(m - 1, prev, False, False)
