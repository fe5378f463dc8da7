"""Batched density-matrix kernels.

A density matrix of ``n`` qubits is a tensor ``(B, 2**n, 2**n)``. The kernels view it as a
vector of ``2n`` "wires" (``(B, 4**n)``): wires ``0..n-1`` index the rows, wires ``n..2n-1`` the
columns. Then ``U rho U^dagger`` is ``U`` on the row wires and ``conj(U)`` on the column wires, and
a channel ``sum_k K rho K^dagger`` is the superoperator ``sum_k K (x) conj(K)`` on both sets at
once, so every statevector kernel serves here unchanged. All functions are out of place
(autograd records them) and work on any device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .measure import marginal, parity_signs
from .statevector import apply_diagonal, apply_matrix, apply_monomial

PauliWord = Sequence[tuple[int, str]]


def zero_density(
    n: int,
    batch: int = 1,
    dtype: torch.dtype = torch.complex64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """|0...0><0...0| for ``batch`` samples: ``(batch, 2**n, 2**n)``."""
    rho = torch.zeros(batch, 2**n, 2**n, dtype=dtype, device=device)
    rho[:, 0, 0] = 1
    return rho


def _col_wires(n: int, wires: Sequence[int]) -> list[int]:
    return [n + w for w in wires]


def apply_unitary(
    rho: torch.Tensor, n: int, matrix: torch.Tensor, wires: Sequence[int]
) -> torch.Tensor:
    """``U rho U^dagger`` for a ``(d, d)`` or ``(B, d, d)`` matrix on ``wires``."""
    bs = rho.shape[0]
    if matrix.dim() == 3 and len(wires) == 1 and matrix.shape[0] > 1:
        v = _batched_one_qubit(rho.reshape(bs, -1), 2 * n, matrix, wires[0])
        v = _batched_one_qubit(v, 2 * n, matrix.conj(), n + wires[0])
        return v.reshape(v.shape[0], 2**n, 2**n)
    v = apply_matrix(rho.reshape(bs, -1), 2 * n, matrix, wires)
    v = apply_matrix(v, 2 * n, matrix.conj(), _col_wires(n, wires))
    return v.reshape(v.shape[0], 2**n, 2**n)


def _batched_one_qubit(state: torch.Tensor, n: int, u: torch.Tensor, wire: int) -> torch.Tensor:
    """A different 2x2 matrix per row, by elementwise products (batched tiny matmuls are slow)."""
    bs = max(state.shape[0], u.shape[0])
    v = state.reshape(state.shape[0], 2**wire, 2, -1)
    a, b = v[:, :, 0], v[:, :, 1]
    m = u.reshape(-1, 2, 2, 1, 1)
    out = torch.stack([m[:, 0, 0] * a + m[:, 0, 1] * b, m[:, 1, 0] * a + m[:, 1, 1] * b], dim=2)
    return out.reshape(bs, -1)


def apply_unitary_diagonal(
    rho: torch.Tensor, n: int, diag: torch.Tensor, wires: Sequence[int]
) -> torch.Tensor:
    """``D rho D^dagger`` for a diagonal gate given by ``diag`` ``(d,)`` or ``(B, d)``."""
    bs = rho.shape[0]
    v = apply_diagonal(rho.reshape(bs, -1), 2 * n, diag, wires)
    v = apply_diagonal(v, 2 * n, diag.conj(), _col_wires(n, wires))
    return v.reshape(v.shape[0], 2**n, 2**n)


def apply_unitary_monomial(
    rho: torch.Tensor,
    n: int,
    perm: Sequence[int],
    phases: Sequence[complex] | None,
    wires: Sequence[int],
) -> torch.Tensor:
    """``M rho M^dagger`` for a permutation-times-phases gate (``M[perm[j], j] = phases[j]``)."""
    bs = rho.shape[0]
    v = apply_monomial(rho.reshape(bs, -1), 2 * n, perm, phases, wires)
    conj = None if phases is None else [complex(p).conjugate() for p in phases]
    v = apply_monomial(v, 2 * n, perm, conj, _col_wires(n, wires))
    return v.reshape(bs, 2**n, 2**n)


def kraus_superoperator(kraus: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """``sum_k K_k (x) conj(K_k)``: the ``(d*d, d*d)`` matrix acting on ``vec(rho)`` (row-major)."""
    ks = torch.stack(list(kraus)) if not isinstance(kraus, torch.Tensor) else kraus
    d = ks.shape[-1]
    return torch.einsum("kab,kcd->acbd", ks, ks.conj()).reshape(d * d, d * d)


def apply_superoperator(
    rho: torch.Tensor, n: int, superop: torch.Tensor, wires: Sequence[int]
) -> torch.Tensor:
    """Apply a channel given as a superoperator (see :func:`kraus_superoperator`) on ``wires``.

    For one wire, the ``4 x 4`` superoperator mixes the blocks ``rho[.., i, .., j, ..]`` (row bit
    ``i``, column bit ``j``): each output block is a sum of strided views of the input times the
    nonzero entries, which avoids moving axes of the ``2n``-axis tensor (noise superoperators
    are sparse: 6 of 16 entries for depolarizing). Wider channels use one matrix product.
    """
    bs = rho.shape[0]
    k = len(wires)
    if superop.dim() != 2 or k != 1:  # measured: the sliced form wins for one-qubit channels
        v = apply_matrix(rho.reshape(bs, -1), 2 * n, superop, list(wires) + _col_wires(n, wires))
        return v.reshape(v.shape[0], 2**n, 2**n)
    d = 2**k
    t = rho.reshape((bs,) + (2,) * (2 * n))
    axes = [1 + w for w in wires] + [1 + n + w for w in wires]

    def block(index: int) -> tuple:
        idx: list = [slice(None)] * (2 * n + 1)
        for pos, ax in enumerate(axes):
            idx[ax] = (index >> (2 * k - 1 - pos)) & 1
        return tuple(idx)

    nonzero = (superop != 0).cpu().tolist()
    out = torch.zeros_like(t)
    for r in range(d * d):
        acc = None
        for c in range(d * d):
            if nonzero[r][c]:
                term = superop[r, c] * t[block(c)]
                acc = term if acc is None else acc + term
        if acc is not None:
            out[block(r)] = acc
    return out.reshape(bs, 2**n, 2**n)


def apply_kraus(
    rho: torch.Tensor, n: int, kraus: Sequence[torch.Tensor] | torch.Tensor, wires: Sequence[int]
) -> torch.Tensor:
    """``sum_k K_k rho K_k^dagger`` for Kraus operators ``(d, d)`` on ``wires``."""
    return apply_superoperator(rho, n, kraus_superoperator(kraus), wires)


def diagonal(rho: torch.Tensor) -> torch.Tensor:
    """The real diagonal ``(B, 2**n)`` (the Born probabilities of every basis state)."""
    return torch.diagonal(rho, dim1=-2, dim2=-1).real


def probabilities(rho: torch.Tensor, n: int, wires: Sequence[int] | None = None) -> torch.Tensor:
    """Born probabilities ``(B, 2**k)`` of ``wires`` (all wires when ``None``), in that order."""
    p = diagonal(rho)
    if wires is None or list(wires) == list(range(n)):
        return p
    return marginal(p, n, wires)


def expval_words(rho: torch.Tensor, n: int, words: Sequence[PauliWord]) -> torch.Tensor:
    """Real ``Tr(rho P)`` ``(B, T)`` for each Pauli word ``P`` (the empty word is the identity).

    With ``P|i> = c(i)|i ^ m>`` (``m`` the X/Y flip mask), ``Tr(rho P) = sum_i rho[i, i^m] c(i)``
    and ``c(i) = i^{nY} (-1)^{parity of i on the Y and Z wires}``; words sharing a flip mask share
    the gathered vector ``rho[i, i^m]``.
    """
    bs = rho.shape[0]
    rdt = rho.real.dtype
    groups: dict[tuple[int, ...], list[int]] = {}
    for t, word in enumerate(words):
        groups.setdefault(tuple(sorted(w for w, p in word if p in "XY")), []).append(t)
    out: list[torch.Tensor | None] = [None] * len(words)
    for flips, members in groups.items():
        if flips:
            t = rho.reshape((bs,) + (2,) * (2 * n))
            t = torch.flip(t, dims=[1 + n + w for w in flips]).reshape(bs, 2**n, 2**n)
            phi = torch.diagonal(t, dim1=-2, dim2=-1)
        else:
            phi = torch.diagonal(rho, dim1=-2, dim2=-1)
        for t_idx in members:
            word = words[t_idx]
            support = sorted(w for w, p in word if p in "YZ")
            n_y = sum(1 for _, p in word if p == "Y")
            if support:
                m = marginal(phi, n, support)
                val = (m * parity_signs(len(support), rdt, rho.device)).sum(dim=1)
            else:
                val = phi.sum(dim=1)
            out[t_idx] = (val * (1j) ** n_y).real if n_y else val.real
    if not out:
        return torch.zeros(bs, 0, dtype=rdt, device=rho.device)
    return torch.stack(out, dim=1)  # type: ignore[arg-type]


def apply_confusion(probs: torch.Tensor, confusions: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """Apply per-wire readout confusion matrices ``A[read, true]`` to ``(B, 2**k)`` probabilities.

    ``confusions[j]`` belongs to the ``j``-th wire of ``probs`` (``None``: a perfect readout).
    """
    k = len(confusions)
    for j, a in enumerate(confusions):
        if a is not None:
            probs = apply_matrix(probs, k, a.to(probs.dtype), [j])
    return probs
