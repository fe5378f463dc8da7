"""The memory-lean gradient of the MPS backend (``diff_method="adjoint"``): a checkpointed sweep.

Backprop keeps every intermediate tensor of every contraction, so its memory grows with the
circuit's depth. The sweep here runs the circuit once without autograd and keeps only the MPS
(and the one-qubit gates waiting to be fused) at the start of each of about ``sqrt(G)``
segments (``G``: the two-site block operations, swaps included); the backward pass then
replays the segments from the last to the first, each from its checkpoint with autograd on,
and pulls the cotangent of the segment's end back to its start and to its gate matrices. Memory
holds the checkpoints (site tensors unchanged between two checkpoints are shared) and one
segment's graph: it grows like ``sqrt(depth)``, not like the depth. The replay repeats the
forward computation exactly, truncations included, so the gradient is the backprop gradient of
the same (possibly truncated) simulation, at the price of one more forward pass.

An adjoint sweep in the statevector sense (un-applying gates to the final state) would need the
truncated forward pass to be invertible, which it is not; checkpointing is exact at any bond.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ...circuit.circuit import Circuit
from ...sim.mps import MPS, Options
from .apply import Local, Plan, flush, gate_matrices, run_ops

Snapshot = tuple[list[torch.Tensor], list[bool], list[bool], dict[int, torch.Tensor]]


def block_ops(wires: Sequence[int]) -> int:
    """Two-site block operations of one gate: ``0`` for one qubit, else the gate's merge plus
    the swaps that gather its wires and put them back."""
    k = len(wires)
    if k < 2:
        return 0
    return 1 + 2 * (max(wires) - min(wires) + 1 - k)


def segment_bounds(wires: Sequence[Sequence[int]], every: int | None = None) -> list[int]:
    """Operation indices where segments start, and the end: ``[0, ..., len(wires)]``. A segment
    holds about ``every`` block operations (default: the square root of their total)."""
    costs = [block_ops(w) for w in wires]
    if every is None:
        every = max(1, math.isqrt(max(0, sum(costs) - 1)) + 1)
    bounds, acc = [0], 0
    for j, c in enumerate(costs):
        if acc >= every:
            bounds.append(j)
            acc = 0
        acc += c
    bounds.append(len(wires))
    return bounds


def backprop_bytes(circuit: Circuit, rows: int, dtype: torch.dtype, max_bond: int) -> int:
    """An estimate of what backprop keeps for the gradient: about six tensors of each block
    operation's merged block ``(B, Dl, 2**k, Dr)``, with the bonds that the splits of
    :meth:`~hqml.sim.mps.MPS.split` would give (tracked as integers, no tensors; an upper
    bound when ``cutoff`` compresses)."""
    bonds = [1] * (circuit.n_qubits + 1)  # bonds[i]: left of site i
    total = 0

    def block(first: int, k: int) -> None:
        nonlocal total
        dl, dr = bonds[first], bonds[first + k]
        total += 6 * rows * dl * 2**k * dr
        left = dl
        for j in range(k - 1):
            left = min(left * 2, 2 ** (k - 1 - j) * dr, max(max_bond, dl))
            bonds[first + j + 1] = left

    for op in circuit.ops:
        ws = sorted(op.wires)
        if len(ws) < 2:
            continue
        swaps = [i for j, w in enumerate(ws[1:], 1) for i in range(w - 1, ws[0] + j - 1, -1)]
        for i in swaps:
            block(i, 2)
        block(ws[0], len(ws))
        for i in reversed(swaps):
            block(i, 2)
    return total * dtype.itemsize


def _snapshot(mps: MPS, pending: dict[int, torch.Tensor]) -> Snapshot:
    return list(mps.tensors), list(mps.left_iso), list(mps.right_iso), dict(pending)


@dataclass
class Checkpoints:
    """What the forward pass kept for the sweep."""

    circuit: Circuit
    theta: torch.Tensor  # detached, the gate parameters (B, P)
    dtype: torch.dtype
    options: Options
    varying: Sequence[bool] | None
    bounds: list[int]
    states: list[Snapshot | None]  # the MPS at the start of each segment
    plans: Sequence[Plan] | None = None  # distant gates as MPOs (apply.mpo_plans)
    local: Sequence[Local] | None = None  # neighbouring gates by Schmidt split (apply.local_plans)


def forward(
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    options: Options,
    varying: Sequence[bool] | None,
    every: int | None = None,
    plans: Sequence[Plan] | None = None,
    local: Sequence[Local] | None = None,
) -> tuple[MPS, Checkpoints]:
    """The final MPS (no autograd) and the checkpoints of its segments."""
    theta = theta.detach()
    wires = [op.wires for op in circuit.ops]
    bounds = segment_bounds(wires, every)
    states: list[Snapshot | None] = []
    with torch.no_grad():
        mats = gate_matrices(circuit, theta, dtype, varying)
        mps = MPS.zeros(circuit.n_qubits, theta.shape[0], dtype, theta.device, options)
        pending: dict[int, torch.Tensor] = {}
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            states.append(_snapshot(mps, pending))
            run_ops(mps, pending, wires, mats, a, b, plans, local)
        flush(mps, pending)
    return mps, Checkpoints(circuit, theta, dtype, options, varying, bounds, states, plans, local)


def _leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().requires_grad_(True)


def sweep(
    saved: Checkpoints,
    measure: Callable[[MPS], torch.Tensor],
    cotangent: torch.Tensor,
) -> torch.Tensor:
    """``d(sum(cotangent * measure(final MPS)))/dtheta`` ``(B, P)``, segment by segment from
    the last; consumes the checkpoints."""
    theta = _leaf(saved.theta)
    wires = [op.wires for op in saved.circuit.ops]
    with torch.enable_grad():
        mats = gate_matrices(saved.circuit, theta, saved.dtype, saved.varying)
    leaves = [_leaf(m) if m.requires_grad else m for m in mats]
    gmats: list[torch.Tensor | None] = [None] * len(mats)
    cot_sites: Sequence[torch.Tensor | None] = ()
    cot_pending: dict[int, torch.Tensor | None] = {}
    last = len(saved.states) - 1
    for seg in range(last, -1, -1):
        state = saved.states[seg]
        saved.states[seg] = None  # freed as the sweep goes
        assert state is not None, "the checkpoints of an MPS sweep are used once"
        tensors, left, right, pending0 = state
        t_in = [_leaf(t) for t in tensors]
        p_in = {w: _leaf(u) for w, u in pending0.items()}
        a, b = saved.bounds[seg], saved.bounds[seg + 1]
        used = [j for j in range(a, b) if leaves[j].requires_grad]
        with torch.enable_grad():
            mps = MPS(list(t_in), list(left), list(right), saved.options)
            pending = dict(p_in)
            run_ops(mps, pending, wires, leaves, a, b, saved.plans, saved.local)
            if seg == last:
                flush(mps, pending)
                values = measure(mps)
                cot = cotangent.to(values.dtype)
                if cot.shape[0] != values.shape[0]:
                    cot = cot.sum(0, keepdim=True)
                pairs = [(values, cot)]
            else:
                pairs = list(zip(mps.tensors, cot_sites, strict=True))
                pairs += [(u, cot_pending.get(w)) for w, u in pending.items()]
            pairs = [(o, g) for o, g in pairs if g is not None and o.requires_grad]
            inputs = t_in + list(p_in.values()) + [leaves[j] for j in used]
            if not pairs:
                break  # nothing earlier reaches the outputs
            grads = torch.autograd.grad(
                [o for o, _ in pairs], inputs, [g for _, g in pairs], allow_unused=True
            )
        n, k = len(t_in), len(p_in)
        cot_sites = grads[:n]
        cot_pending = dict(zip(p_in, grads[n : n + k], strict=True))
        for j, g in zip(used, grads[n + k :], strict=True):
            if g is not None:
                gmats[j] = g if gmats[j] is None else gmats[j] + g
    sel = [j for j, g in enumerate(gmats) if g is not None]
    if not sel:
        return torch.zeros_like(saved.theta)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(
            [mats[j] for j in sel], [theta], [gmats[j] for j in sel], allow_unused=True
        )
    return torch.zeros_like(saved.theta) if grad is None else grad
