"""Fused superoperators for noisy density-matrix simulation.

A density matrix of ``n`` qubits is stored *interleaved* as a vector of ``2n`` slots: slot ``2w``
is the row bit of wire ``w`` and slot ``2w + 1`` its column bit (so ``(B, 4**n)``, slot 0 most
significant). A gate or channel on wires ``W`` is then a ``(4**k, 4**k)`` superoperator on the
adjacent slots of ``W``, whose local index is ``(r_1, c_1, r_2, c_2, ...)`` over ``W`` in
ascending order: neighbouring wires give contiguous slots and one matrix product, with no axis
moves (:func:`hqml.sim.statevector.apply_matrix` on ``2n`` wires).

:func:`fuse` merges a circuit's gates and channels into few blocks exactly: every operation on one
wire joins the last block that touched that wire (or the next multi-wire block on it), so the W1
ansatz with noise after every gate becomes one ``16 x 16`` block per CNOT. The superoperators are
small torch tensors: autograd through their construction carries gradients to gate parameters.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import torch

Wires = tuple[int, ...]


@dataclass
class Block:
    """A superoperator ``matrix`` ``(D, D)`` or ``(B, D, D)`` on ascending ``wires``."""

    wires: Wires
    matrix: torch.Tensor


def interleave(rho: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, 2**n, 2**n)`` -> the interleaved ``(B, 4**n)`` layout."""
    bs = rho.shape[0]
    order = [0] + [a for w in range(n) for a in (1 + w, 1 + n + w)]
    return rho.reshape((bs,) + (2,) * (2 * n)).permute(order).reshape(bs, -1)


def standard(x: torch.Tensor, n: int) -> torch.Tensor:
    """The interleaved ``(B, 4**n)`` layout -> ``(B, 2**n, 2**n)`` (a view when possible)."""
    bs = x.shape[0]
    order = [0] + [1 + 2 * w for w in range(n)] + [2 + 2 * w for w in range(n)]
    return x.reshape((bs,) + (2,) * (2 * n)).permute(order).reshape(bs, 2**n, 2**n)


def slots(wires: Sequence[int]) -> list[int]:
    """The interleaved slots of ascending ``wires``."""
    return [s for w in wires for s in (2 * w, 2 * w + 1)]


def to_interleaved(superop: torch.Tensor, wires: Sequence[int]) -> tuple[Wires, torch.Tensor]:
    """A superoperator in row-major ``vec(rho)`` order (``sum_k K (x) conj(K)``, wires in gate
    order) -> ``(ascending wires, the same map in the interleaved local order)``."""
    k = len(wires)
    order = sorted(range(k), key=lambda p: wires[p])
    lead = superop.dim() - 2
    if k == 1:
        return (wires[0],), superop
    s = superop.reshape(superop.shape[:-2] + (2,) * (4 * k))
    out = [a for p in order for a in (p, k + p)]
    perm = list(range(lead)) + [lead + a for a in out] + [lead + 2 * k + a for a in out]
    d = 4**k
    return tuple(sorted(wires)), s.permute(perm).reshape(superop.shape[:-2] + (d, d))


def unitary_superop(u: torch.Tensor, wires: Sequence[int]) -> tuple[Wires, torch.Tensor]:
    """``rho -> U rho U^dagger`` for ``u`` ``(d, d)`` or ``(B, d, d)`` on ``wires``."""
    d = u.shape[-1]
    s = torch.einsum("...ab,...cd->...acbd", u, u.conj()).reshape(u.shape[:-2] + (d * d, d * d))
    return to_interleaved(s, wires)


def act(
    m: torch.Tensor, wires: Wires, s: torch.Tensor, s_wires: Wires, after: bool = True
) -> torch.Tensor:
    """``lift(s) @ m`` (``after``) or ``m @ lift(s)``, with ``s`` on ``s_wires`` (a subset of
    ``wires``) lifted to ``wires`` by the identity on the others."""
    if s_wires == wires:
        return s @ m if after else m @ s
    k2 = 2 * len(wires)
    pos = [p for w in s_wires for p in (2 * wires.index(w), 2 * wires.index(w) + 1)]
    letters = string.ascii_letters
    out_l, in_l = letters[:k2], letters[k2 : 2 * k2]
    new = letters[2 * k2 : 2 * k2 + len(pos)]
    mt = m.reshape(m.shape[:-2] + (2,) * (2 * k2))
    st = s.reshape(s.shape[:-2] + (2,) * (2 * len(pos)))
    if after:  # contract s's inputs with m's output slots at pos
        s_sub = new + "".join(out_l[p] for p in pos)
        res = list(out_l)
        for i, p in enumerate(pos):
            res[p] = new[i]
        spec = f"...{s_sub},...{out_l}{in_l}->...{''.join(res)}{in_l}"
    else:  # contract s's outputs with m's input slots at pos
        s_sub = "".join(in_l[p] for p in pos) + new
        res = list(in_l)
        for i, p in enumerate(pos):
            res[p] = new[i]
        spec = f"...{s_sub},...{out_l}{in_l}->...{out_l}{''.join(res)}"
    r = torch.einsum(spec, st, mt)
    d = 2**k2
    return r.reshape(r.shape[: r.dim() - 2 * k2] + (d, d))


def fuse(items: Sequence[tuple[Wires, torch.Tensor]]) -> list[Block]:
    """Merge ``(ascending wires, interleaved superoperator)`` items, applied in order, into
    blocks with the same product. An item whose wires were all last touched by one block joins
    it (one-wire items first multiply into a ``4 x 4`` per wire, lifted into the block once);
    a one-wire item before any block on its wire waits and joins the next block on it."""
    blocks: list[Block] = []
    last: dict[int, int] = {}
    pending: dict[int, torch.Tensor] = {}
    post: dict[tuple[int, int], torch.Tensor] = {}

    def flush(j: int, wires: Sequence[int]) -> None:
        for w in wires:
            p = post.pop((j, w), None)
            if p is not None:
                blocks[j].matrix = act(blocks[j].matrix, blocks[j].wires, p, (w,))

    for wires, s in items:
        owners = {last.get(w) for w in wires}
        if len(owners) == 1 and None not in owners:
            j = owners.pop()
            if len(wires) == 1:
                p = post.get((j, wires[0]))  # type: ignore[arg-type]
                post[(j, wires[0])] = s if p is None else s @ p  # type: ignore[index]
                continue
            flush(j, blocks[j].wires)  # type: ignore[index]
            blocks[j].matrix = act(blocks[j].matrix, blocks[j].wires, s, wires)  # type: ignore[index]
        elif len(wires) == 1 and wires[0] not in last:
            p = pending.get(wires[0])
            pending[wires[0]] = s if p is None else s @ p
        else:
            for w in wires:
                if w in last:
                    flush(last[w], (w,))
            m = s
            for w in wires:
                if w in pending:
                    m = act(m, wires, pending.pop(w), (w,), after=False)
            for w in wires:
                last[w] = len(blocks)
            blocks.append(Block(wires, m))
    for j, w in list(post):
        flush(j, (w,))
    blocks.extend(Block((w,), p) for w, p in sorted(pending.items()))
    return blocks


# --- the Pauli basis -----------------------------------------------------------------------
# A Hermitian density matrix is real in the Pauli basis: rho = 2^-n sum_P p_P P with p_P =
# Tr(P rho). Per wire, p = T vec(rho_w) with T[P, (r, c)] = P[c, r] (P in the order I, X, Y, Z);
# in the interleaved layout the basis change of k wires is the Kronecker power of T, and every
# gate conjugation and channel (Hermiticity preserving) becomes a real matrix (the Pauli transfer
# matrix): a quarter of the complex arithmetic and half the memory.
_PAULI = [[1, 0, 0, 1], [0, 1, 1, 0], [0, 1j, -1j, 0], [1, 0, 0, -1]]
PAULI_CODE = {"I": 0, "X": 1, "Y": 2, "Z": 3}


def _basis(k: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.tensor(_PAULI, dtype=dtype, device=device)
    tk = t
    for _ in range(k - 1):
        tk = torch.kron(tk, t)
    return tk, tk.conj().transpose(0, 1) / 2**k  # T^-1 = T^dagger / 2 per wire


def pauli_transfer(block: Block) -> Block:
    """The block as a real matrix acting on Pauli coefficients."""
    m = block.matrix
    t, t_inv = _basis(len(block.wires), m.dtype, m.device)
    return Block(block.wires, (t @ m @ t_inv).real)


def pauli_zero(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``|0...0><0...0|`` as Pauli coefficients ``(1, 4**n)``: each wire ``(1, 0, 0, 1)``."""
    one = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=dtype, device=device)
    x = one
    for _ in range(n - 1):
        x = torch.kron(x, one)
    return x.reshape(1, -1)


def pauli_to_density(p: torch.Tensor, n: int) -> torch.Tensor:
    """Pauli coefficients ``(B, 4**n)`` (interleaved wire order) -> ``(B, 2**n, 2**n)`` complex."""
    cdt = torch.complex64 if p.dtype == torch.float32 else torch.complex128
    _, t_inv = _basis(1, cdt, p.device)
    x = p.to(cdt).reshape((p.shape[0],) + (4,) * n)
    for w in range(n):
        x = torch.movedim(torch.tensordot(x, t_inv, dims=([1 + w], [1])), -1, 1 + w)
    return standard(x.reshape(p.shape[0], -1), n)
