"""Circuit operations on a :class:`~.state.MPS`.

A one-qubit gate is a contraction with one site. A ``k``-qubit gate (``k >= 2``) first brings
its wires next to each other by swaps of neighbouring sites, merges the ``k`` sites into one
block, applies the ``2^k x 2^k`` matrix, splits the block back (by SVD only when a bond would
exceed ``max_bond`` or ``cutoff`` asks for compression) and swaps the wires back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ...circuit.circuit import Circuit
from .state import MPS, Options

Block = Callable[[torch.Tensor], torch.Tensor]


def gate_matrices(
    circuit: Circuit, theta: torch.Tensor, dtype: torch.dtype, varying: Sequence[bool] | None
) -> list[torch.Tensor]:
    """Each operation's matrix: ``(d, d)``, or ``(B, d, d)`` when its parameters vary by row."""
    out = []
    col = 0
    rows_batched = theta.shape[0] > 1
    for op in circuit.ops:
        g = op.gate
        p = g.num_params
        if p == 0:
            out.append(g.matrix(dtype=dtype, device=theta.device))
            continue
        batched = rows_batched and (varying is None or any(varying[col : col + p]))
        rows = theta[:, col : col + p] if batched else theta[0, col : col + p]
        out.append(g.matrix(rows).to(dtype))
        col += p
    return out


def simulate(
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    options: Options,
    varying: Sequence[bool] | None = None,
) -> MPS:
    """The MPS of ``circuit`` for each row of ``theta`` (``(B, P)``), from ``|0...0>``."""
    mps = MPS.zeros(circuit.n_qubits, theta.shape[0], dtype, theta.device, options)
    for op, u in zip(circuit.ops, gate_matrices(circuit, theta, dtype, varying), strict=True):
        apply_gate(mps, u, op.wires)
    return mps


def apply_gate(mps: MPS, u: torch.Tensor, wires: Sequence[int]) -> None:
    """Apply the matrix ``u`` (``(d, d)`` or ``(B, d, d)``) on ``wires`` (wire order of ``u``)."""
    k = len(wires)
    if k == 1:
        spec = "bij,bxjy->bxiy" if u.dim() == 3 else "ij,bxjy->bxiy"
        a = mps.tensors[wires[0]]
        mps.tensors[wires[0]] = torch.einsum(spec, u, a)
        return
    order = sorted(range(k), key=lambda j: wires[j])
    swaps = _gather(mps, sorted(wires))
    u = _permute_qubits(u, order, k)
    spec = "bij,bxjz->bxiz" if u.dim() == 3 else "ij,bxjz->bxiz"
    apply_block(mps, min(wires), k, lambda t: torch.einsum(spec, u, t))
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
            apply_block(mps, i, 2, _swap)
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


def apply_block(mps: MPS, first: int, k: int, fn: Block) -> None:
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
        block = torch.einsum("bxay,bysz->bxasz", block, nxt)
        block = block.reshape(b, block.shape[1], -1, nxt.shape[3])
    mps.split(first, fn(block), k, use_svd)
