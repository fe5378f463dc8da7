"""Neighbouring two-qubit gates applied exactly by their operator Schmidt split: no merge, no SVD.

A gate with two nonzero ``2 x 2`` blocks on one of its wires (``cnot``, ``cz``, ``crx``, ``cp``,
``rzz``, any controlled or diagonal two-qubit ``unitary``) is ``U = sum_k L_k (x) R_k`` with two
terms. On neighbouring sites ``s, s+1`` it is applied as two site updates: site ``s`` takes
``L_k`` and opens a new bond index ``k``, site ``s+1`` takes ``R_k`` and closes it; the bond
between them doubles and nothing is decomposed, so values and gradients are exact.

:func:`apply_segment` applies a *segment* of such gates at once: a run of them in which each
site is the lower site of at most one gate and the upper site of at most one (a CNOT chain
``i -> i+1``, a brickwork layer). Each touched site is updated once, by the product of the
factors it takes, in the order the gates come, with the one-qubit gates waiting on it applied
first. Bonds above their local bound (twice the bond beyond either neighbour, as near the
chain's ends) are brought down afterwards without any decomposition (:func:`.mps_mpo.shrink`).
The caller makes sure no bond can exceed ``max_bond`` (``2 x`` the bond before) and that
``cutoff`` is 0: a segment never truncates. Sites touched lose their canonical-form flags
(the next cut re-canonicalises first, as after any unsplit merge).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .mps import MPS
from .mps_mpo import shrink

_UNITS: dict[tuple, torch.Tensor] = {}


def local_terms(
    u: torch.Tensor, blocks: Sequence[tuple[int, int]], on_low: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L, R)`` ``(B or 1, chi, 2, 2)``: ``u = sum_k L_k (x) R_k`` (``u`` ``(4, 4)`` or
    ``(B, 4, 4)``, its first qubit on the lower site) over the ``(a, b)`` ``blocks`` that may be
    nonzero, the ``|a><b|`` on the lower site (``on_low``) or the upper one."""
    key = (tuple(blocks), u.dtype, u.device)
    units = _UNITS.get(key)
    if units is None:
        eye = torch.eye(2, dtype=u.dtype, device=u.device)
        units = torch.stack([eye[:, a, None] * eye[None, b, :] for a, b in blocks])[None]
        _UNITS[key] = units
    t = _rows(u, 2).reshape(-1, 2, 2, 2, 2)  # (a, s, b, t): low out, high out, low in, high in
    if on_low:
        rest = torch.stack([t[..., a, :, b, :] for a, b in blocks], dim=-3)
        return units, rest
    rest = torch.stack([t[..., :, a, :, b] for a, b in blocks], dim=-3)
    return rest, units


def _site_operators(
    factors: list[list[tuple[bool, torch.Tensor]]], first: list[torch.Tensor | None]
) -> torch.Tensor:
    """``W`` ``(G, ..., x, y, 2, 2)`` for ``G`` sites of one shape: ``first`` (the waiting
    one-qubit gates, or ``None``), then the site's factors in order, each ``(upper, F)``: ``F``
    ``(..., k, 2, 2)`` taken as the upper site of a gate (its ``k`` on the site's left bond,
    ``x``) or the lower (right bond, ``y``)."""
    upper = factors[0][0][0]
    m = _stack([fs[0][1] for fs in factors])
    if first[0] is not None:
        p = _stack(first)  # type: ignore[arg-type]
        m = m @ (p.unsqueeze(1) if p.dim() == 3 else p).unsqueeze(-3)  # (G, B or 1, 1, 2, 2)
    if len(factors[0]) == 1:
        return m.unsqueeze(-3) if upper else m.unsqueeze(-4)
    g = _stack([fs[1][1] for fs in factors])
    w = g.unsqueeze(-4) @ m.unsqueeze(-3)  # (G, ..., k_first, k_second, 2, 2)
    return w if upper else w.transpose(-4, -3)


def _rows(t: torch.Tensor, k: int) -> torch.Tensor:
    """``t`` with its leading row dimension: ``(B or 1, ...)`` (``k`` trailing dimensions)."""
    return t.unsqueeze(0) if t.dim() == k else t


def _stack(ts: list[torch.Tensor]) -> torch.Tensor:
    """``(G, ...)``: one tensor repeated is expanded, not copied."""
    t = ts[0]
    if all(u is t for u in ts):
        return t.unsqueeze(0).expand(len(ts), *t.shape)
    return torch.stack(ts)


def _apply_sites(mps: MPS, sites: list[int], w: torch.Tensor) -> None:
    """Apply ``w`` ``(G, B or 1, x, y, 2, 2)`` to the sites (all of one shape): one ``bmm``
    per group, each site's ``(x*y*2, 2)`` operator on all its rows and bond pairs at once."""
    a = (
        torch.stack([mps.tensors[i] for i in sites])
        if len(sites) > 1
        else mps.tensors[sites[0]][None]
    )
    g, b, dl, _, dr = a.shape
    rows, x, y = w.shape[1], w.shape[2], w.shape[3]
    if rows == 1:  # one operator for every row: (G, x*y*2, 2) @ (G, 2, B*Dl*Dr)
        t = torch.bmm(w.reshape(g, x * y * 2, 2), a.permute(0, 3, 1, 2, 4).reshape(g, 2, -1))
        t = t.view(g, x, y, 2, b, dl, dr).permute(0, 4, 5, 1, 3, 6, 2)
    else:  # one per row: (G*B, x*y*2, 2) @ (G*B, 2, Dl*Dr)
        a2 = a.permute(0, 1, 3, 2, 4).reshape(g * b, 2, dl * dr)
        t = torch.bmm(w.reshape(g * b, x * y * 2, 2), a2)
        t = t.view(g, b, x, y, 2, dl, dr).permute(0, 1, 5, 2, 4, 6, 3)
    out = t.reshape(g, b, dl * x, 2, dr * y)
    for site, t in zip(sites, out.unbind(0), strict=True):
        mps.set(site, t, False, False)


def apply_segment(
    mps: MPS,
    gates: Sequence[tuple[int, torch.Tensor, torch.Tensor]],
    pending: dict[int, torch.Tensor],
) -> None:
    """Apply ``gates`` (in order; each ``(lower site, L, R)`` on sites ``lower, lower+1``,
    terms as :func:`local_terms` gives them), taking the one-qubit gates ``pending`` on the
    sites they touch first. Sites of equal shapes are updated together."""
    factors: dict[int, list[tuple[bool, torch.Tensor]]] = {}
    for lo, left, right in gates:
        factors.setdefault(lo, []).append((False, left))
        factors.setdefault(lo + 1, []).append((True, right))
    groups: dict[tuple, list[int]] = {}
    firsts: dict[int, torch.Tensor | None] = {}
    for site, fs in factors.items():
        p = firsts[site] = pending.pop(site, None)
        key = (
            mps.tensors[site].shape,
            tuple((up, f.shape) for up, f in fs),
            None if p is None else p.shape,
        )
        groups.setdefault(key, []).append(site)
    reached = mps.report.max_bond  # the grown bonds are not all kept: record the final ones
    for sites in groups.values():
        w = _site_operators([factors[i] for i in sites], [firsts[i] for i in sites])
        _apply_sites(mps, sites, w)
    first, last = min(factors), max(factors)
    shrink(mps, first, last)
    bonds = [mps.tensors[m].shape[3] for m in range(first, last)]
    mps.report.max_bond = max([reached, *bonds])
