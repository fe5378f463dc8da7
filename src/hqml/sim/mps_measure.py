"""Measurements of a :class:`~.mps.MPS` by contraction: Pauli words, marginal
probabilities, perfect sampling, the dense state and overlaps. Nothing here holds ``2^n``
numbers except :func:`dense_state`, which the backend prices first.

Environments: ``left[i]`` contracts sites ``< i`` of ``<psi|psi>`` (``(B, D, D)``, bra index
first), ``right[i]`` sites ``>= i``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .mps import MPS

Word = tuple[tuple[int, str], ...]  # a Pauli word: (wire, "X" | "Y" | "Z") pairs, wires sorted

_PAULI = {
    "X": [[0, 1], [1, 0]],
    "Y": [[0, -1j], [1j, 0]],
    "Z": [[1, 0], [0, -1]],
}


def _transfer_left(env: torch.Tensor, a: torch.Tensor, op: torch.Tensor | None = None):
    """``env`` (B, D, D) moved past site ``a`` (with ``op`` on the ket's physical index).
    ``torch.bmm``, not ``@``: at the small bonds of most sites the call's overhead is the
    cost, and ``matmul``'s broadcasting logic doubles it."""
    b, dl, _, dr = a.shape
    t = torch.bmm(env, a.reshape(b, dl, 2 * dr))
    if op is not None:
        t = op @ t.reshape(b, dl, 2, dr)
    return torch.bmm(a.reshape(b, dl * 2, dr).mH, t.reshape(b, dl * 2, dr))


def _transfer_right(env: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    b, dl, _, dr = a.shape
    t = torch.bmm(a.reshape(b, dl * 2, dr), env.mT)
    return torch.bmm(a.reshape(b, dl, 2 * dr).conj(), t.reshape(b, dl, 2 * dr).mT)


def left_envs(mps: MPS, upto: int) -> list[torch.Tensor]:
    a0 = mps.tensors[0]
    env = torch.ones(a0.shape[0], 1, 1, dtype=a0.dtype, device=a0.device)
    out = [env]
    for i in range(upto):
        env = _transfer_left(env, mps.tensors[i])
        out.append(env)
    return out


def right_envs(mps: MPS, downto: int = 0) -> dict[int, torch.Tensor]:
    a = mps.tensors[-1]
    env = torch.ones(a.shape[0], 1, 1, dtype=a.dtype, device=a.device)
    out = {mps.n: env}
    for i in range(mps.n - 1, downto - 1, -1):
        env = _transfer_right(env, mps.tensors[i])
        out[i] = env
    return out


def expval_words(mps: MPS, words: Sequence[Word]) -> torch.Tensor:
    """``<psi|P|psi> / <psi|psi>`` for each Pauli word: ``(B, T)`` real."""
    a0 = mps.tensors[0]
    starts = [w[0][0] for w in words if w]
    lo = min(starts, default=mps.n)
    left = left_envs(mps, mps.n)
    right = right_envs(mps, lo)
    norm = left[mps.n][:, 0, 0]
    ops = {p: torch.tensor(m, dtype=a0.dtype, device=a0.device) for p, m in _PAULI.items()}
    values: dict[int, torch.Tensor] = {}
    singles = [t for t, w in enumerate(words) if len(w) == 1]
    values.update(_single_site(mps, [words[t] for t in singles], singles, left, right, ops))
    for t, word in enumerate(words):
        if t in values:
            continue
        if not word:
            values[t] = norm
            continue
        paulis = dict(word)
        first, last = word[0][0], word[-1][0]
        env = left[first]
        for i in range(first, last + 1):
            p = paulis.get(i)
            env = _transfer_left(env, mps.tensors[i], None if p is None else ops[p])
        values[t] = (env * right[last + 1]).sum((1, 2))
    vals = torch.stack([values[t] for t in range(len(words))], dim=1) / norm.unsqueeze(1)
    return vals.real


def _single_site(mps, words, cols, left, right, ops) -> dict[int, torch.Tensor]:
    """One-site words, the sites of equal bond shapes stacked into one contraction."""
    groups: dict[tuple[int, int], list[int]] = {}
    for j, word in enumerate(words):
        a = mps.tensors[word[0][0]]
        groups.setdefault((a.shape[1], a.shape[3]), []).append(j)
    out: dict[int, torch.Tensor] = {}
    for members in groups.values():
        sites = [words[j][0][0] for j in members]
        a = torch.stack([mps.tensors[i] for i in sites])  # (G, B, Dl, 2, Dr)
        g, b, dl, _, dr = a.shape
        env_l = torch.stack([left[i] for i in sites]).reshape(g * b, dl, dl)
        env_r = torch.stack([right[i + 1] for i in sites]).reshape(g * b, dr, dr)
        op = torch.stack([ops[words[j][0][1]] for j in members]).unsqueeze(1)  # (G, 1, 2, 2)
        t = torch.bmm(env_l, a.reshape(g * b, dl, 2 * dr)).reshape(g, b * dl, 2, dr)
        t = torch.bmm((op @ t).reshape(g * b, dl * 2, dr), env_r.mT)  # (G*B, Dl*2, Dr)
        vals = torch.bmm(a.reshape(g * b, 1, -1).conj(), t.reshape(g * b, -1, 1))
        for k, row in zip(members, vals.reshape(g, b).unbind(0), strict=True):
            out[cols[k]] = row
    return out


def probs(mps: MPS, wires: Sequence[int]) -> torch.Tensor:
    """Marginal probabilities of ``wires`` (``wires[0]`` the most significant bit): (B, 2**k)."""
    order = sorted(wires)
    first, last = order[0], order[-1]
    left = left_envs(mps, first)
    right = right_envs(mps, last + 1)
    env = left[first].unsqueeze(1)  # (B, 2^j, D, D)
    measured = set(order)
    for i in range(first, last + 1):
        a = mps.tensors[i]
        t = torch.einsum("bkxy,bysw->bkxsw", env, a)
        if i in measured:
            env = torch.einsum("bxsz,bkxsw->bkszw", a.conj(), t)
            env = env.reshape(env.shape[0], -1, env.shape[3], env.shape[4])
        else:
            env = torch.einsum("bxsz,bkxsw->bkzw", a.conj(), t)
    p = torch.einsum("bkzw,bzw->bk", env, right[last + 1]).real
    p = p.clamp(min=0)
    p = p / p.sum(-1, keepdim=True)
    k = len(order)
    perm = [order.index(w) for w in wires]
    return p.reshape(-1, *([2] * k)).permute(0, *[j + 1 for j in perm]).reshape(-1, 2**k)


def sample(
    mps: MPS, wires: Sequence[int], shots: int, generator: torch.Generator | None
) -> torch.Tensor:
    """``shots`` bitstrings of ``wires`` drawn from ``|psi|^2`` site by site (perfect sampling):
    ``(B, shots, k)`` int64. Sites up to the last wire asked are drawn; the rest are summed."""
    last = max(wires)
    a0 = mps.tensors[0]
    b = a0.shape[0]
    bits = []
    with torch.no_grad():
        right = right_envs(mps, 1)
        v = torch.ones(b, shots, 1, dtype=a0.dtype, device=a0.device)
        u = torch.rand(last + 1, b, shots, generator=generator, dtype=torch.float64)
        u = u.to(a0.device)
        for i in range(last + 1):
            cand = torch.einsum("bSx,bxsy->bSsy", v, mps.tensors[i])  # (B, S, 2, D)
            env = right[i + 1]
            p = torch.einsum("bSsy,byz,bSsz->bSs", cand.conj(), env, cand).real
            p = p.clamp(min=0).to(torch.float64)
            p0 = p[..., 0] / p.sum(-1).clamp(min=1e-300)
            out = (u[i] >= p0).long()  # (B, S)
            bits.append(out)
            v = torch.gather(cand, 2, out[..., None, None].expand(-1, -1, 1, cand.shape[3]))[
                :, :, 0
            ]
            v = v / v.norm(dim=-1, keepdim=True).clamp(min=1e-300)
    allbits = torch.stack(bits, dim=-1)
    return allbits[..., list(wires)]


def dense_state(mps: MPS) -> torch.Tensor:
    """The statevector ``(B, 2**n)`` (wire 0 the most significant bit)."""
    psi = mps.tensors[0][:, 0]  # (B, 2, D)
    for a in mps.tensors[1:]:
        psi = torch.einsum("bkx,bxsy->bksy", psi, a).reshape(psi.shape[0], -1, a.shape[3])
    return psi[..., 0]


def overlap(bra: MPS, ket: MPS) -> torch.Tensor:
    """``<bra|ket>`` row by row (batches broadcast): ``(B,)`` complex."""
    a, c = bra.tensors[0], ket.tensors[0]
    b = max(a.shape[0], c.shape[0])
    env = torch.ones(b, 1, 1, dtype=c.dtype, device=c.device)
    for x, y in zip(bra.tensors, ket.tensors, strict=True):
        t = torch.einsum("bxy,bysw->bxsw", env, y)
        env = torch.einsum("bxsz,bxsw->bzw", x.conj(), t)
    return env[:, 0, 0]


def overlap_matrix(bra: MPS, ket: MPS, budget: int = 2**27) -> torch.Tensor:
    """``<bra_i|ket_j>`` for every pair of rows: ``(N, M)`` complex, no ``2^n`` vector; bra
    rows in chunks so that one environment holds about ``budget`` numbers."""
    a = bra.tensors[0]
    widest = max(t.shape[3] for t in bra.tensors) * max(t.shape[3] for t in ket.tensors)
    chunk = max(1, budget // max(1, ket.batch * widest * 2))
    rows = []
    for i in range(0, bra.batch, chunk):
        env = torch.ones(min(chunk, bra.batch - i), ket.batch, 1, 1, dtype=a.dtype, device=a.device)
        for x, y in zip(bra.tensors, ket.tensors, strict=True):
            t = torch.einsum("nmxy,mysw->nmxsw", env, y)
            env = torch.einsum("nxsz,nmxsw->nmzw", x[i : i + chunk].conj(), t)
        rows.append(env[:, :, 0, 0])
    return torch.cat(rows)
