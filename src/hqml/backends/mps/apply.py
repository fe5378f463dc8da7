"""A circuit's operations on a :class:`~hqml.sim.mps.MPS`: gate matrices from the circuit
and its parameters, one-qubit gates fused into the next multi-qubit gate on their wire, runs of
neighbouring controlled/diagonal gates as exact segments; the tensor work is
:mod:`hqml.sim.mps_gates`, :mod:`hqml.sim.mps_local` and :mod:`hqml.sim.mps_mpo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ...circuit.circuit import Circuit
from ...sim.mps import MPS, Options
from ...sim.mps_gates import apply_gate, kron
from ...sim.mps_local import apply_segment, local_terms
from ...sim.mps_mpo import apply_mpo2, block_terms

# A distant two-qubit gate goes by MPO (sim/mps_mpo.py) when it has at most this many 2 x 2
# blocks on one wire that are nonzero (controlled and diagonal gates: 2); others go by swaps.
MPO_MAX_TERMS = 2
# generic parameter values at which a block that is zero is taken to be zero for all values
_PROBES = ((0.7311, -1.2345, 2.1130, 0.4567), (-2.0817, 0.9093, -0.3371, 1.7773))

Plan = tuple[tuple[tuple[int, int], ...], bool] | None  # (nonzero blocks, on the lower wire)
# (nonzero blocks, on the lower wire, a fixed gate's terms by (dtype, device) or None)
Local = tuple[tuple[tuple[int, int], ...], bool, dict | None] | None


def gate_matrices(
    circuit: Circuit, theta: torch.Tensor, dtype: torch.dtype, varying: Sequence[bool] | None
) -> list[torch.Tensor]:
    """Each operation's matrix: ``(d, d)``, or ``(B, d, d)`` when its parameters vary by row.
    The operations of one generator gate (RY, RZ, RZZ ...) are built in one batched call, a
    fixed gate's matrix once for all its operations."""
    rows_batched = theta.shape[0] > 1
    key = (
        "hqml.backends.mps",
        "matrix-layout",
        rows_batched,
        None if varying is None else tuple(varying),
    )
    fixed, singles, groups = circuit.cached(
        key, lambda: _matrix_layout(circuit, rows_batched, varying)
    )
    out: list[torch.Tensor | None] = [None] * len(circuit.ops)
    for g, ops in fixed:
        m = g.matrix(dtype=dtype, device=theta.device)
        for i in ops:
            out[i] = m
    for i, g, col, p, batched in singles:  # a gate given by its own function: one call each
        rows = theta[:, col : col + p] if batched else theta[0, col : col + p]
        out[i] = g.matrix(rows).to(dtype)
    for g, ops, index, batched in groups:
        index = index.to(theta.device)
        p = g.num_params
        if batched:  # (B, G * p) -> (G, B, p)
            rows = theta.index_select(1, index).reshape(theta.shape[0], len(ops), p).transpose(0, 1)
        else:
            rows = theta[0].index_select(0, index).reshape(len(ops), p)
        mats = g.matrix(rows).to(dtype)
        for i, m in zip(ops, mats.unbind(0), strict=True):  # one call, not one per gate
            out[i] = m
    return out  # type: ignore[return-value]


def _matrix_layout(circuit: Circuit, rows_batched: bool, varying: Sequence[bool] | None):
    """Which operations are fixed (by gate), built one by one, or built in one call per
    generator gate (with their parameter columns), kept with the circuit."""
    fixed: dict[int, tuple[Any, list[int]]] = {}
    singles: list[tuple[Any, int, int, int, bool]] = []
    groups: dict[tuple[int, bool], tuple[Any, list[int], list[int]]] = {}
    col = 0
    for i, op in enumerate(circuit.ops):
        g = op.gate
        p = g.num_params
        if p == 0:
            fixed.setdefault(id(g), (g, []))[1].append(i)
            continue
        batched = rows_batched and (varying is None or any(varying[col : col + p]))
        if g.generator is None:
            singles.append((i, g, col, p, batched))
        else:
            _, ops, cols = groups.setdefault((id(g), batched), (g, [], []))
            ops.append(i)
            cols.extend(range(col, col + p))
        col += p
    index = [
        (g, ops, torch.tensor(cols, dtype=torch.int64), batched)
        for (_, batched), (g, ops, cols) in groups.items()
    ]
    return list(fixed.values()), singles, index


def mpo_plans(circuit: Circuit) -> list[Plan]:
    """Per operation: how a distant two-qubit gate goes as an MPO (its nonzero blocks and
    their wire), or ``None`` (adjacent wires, other sizes, or more than ``MPO_MAX_TERMS``
    blocks: swaps). Read from the gate's matrix at generic parameter values, so the plan
    depends on the circuit only (a replay of the gradient sweep takes the same path)."""
    memo: dict = {}
    return [_block_plan(op, memo) if _two_wires(op, distant=True) else None for op in circuit.ops]


def local_plans(circuit: Circuit) -> list[Local]:
    """Per operation: a two-qubit gate on neighbouring wires with two nonzero blocks on one
    wire, applied by its operator Schmidt split (:mod:`hqml.sim.mps_local`) while no bond needs
    a cut: ``(blocks, on the lower wire, terms)`` (``terms``: a fixed gate's terms per dtype
    and device, shared by the operations of one gate and orientation; ``None`` for gates with
    parameters), else ``None``."""
    out: list[Local] = []
    memo: dict = {}
    for op in circuit.ops:
        plan = _block_plan(op, memo) if _two_wires(op, distant=False) else None
        if plan is None:
            out.append(None)
            continue
        fixed = None
        if op.gate.num_params == 0:
            fixed = memo.setdefault(("terms", id(op.gate), op.wires[0] > op.wires[1]), {})
        out.append((*plan, fixed))
    return out


def _two_wires(op: Any, distant: bool) -> bool:
    ws = op.wires
    return (
        len(ws) == 2
        and (abs(ws[0] - ws[1]) >= 2) == distant
        and op.gate.num_params <= len(_PROBES[0])
    )


def _block_plan(op: Any, memo: dict) -> Plan:
    """The nonzero blocks of a two-qubit operation (``memo``: by gate and orientation)."""
    ws, g = op.wires, op.gate
    key = (id(g), ws[0] > ws[1])
    if key not in memo:
        memo[key] = _probe_blocks(g, ws[0] > ws[1])
    return memo[key]


def _probe_blocks(g: Any, reverse: bool) -> Plan:
    mats = [
        g.matrix(torch.tensor(probe[: g.num_params], dtype=torch.float64))
        if g.num_params
        else g.matrix(dtype=torch.complex128, device="cpu")
        for probe in _PROBES
    ]
    t = torch.stack(mats).reshape(-1, 2, 2, 2, 2).abs().amax(0)  # (a, s, b, t)
    if reverse:
        t = t.permute(1, 0, 3, 2)  # qubits in site order
    pairs = [(a, b) for a in range(2) for b in range(2)]
    low = tuple(p for p in pairs if float(t[p[0], :, p[1], :].max()) > 1e-12)
    high = tuple(p for p in pairs if float(t[:, p[0], :, p[1]].max()) > 1e-12)
    best = (low, True) if len(low) <= len(high) else (high, False)
    return best if len(best[0]) <= MPO_MAX_TERMS else None


def simulate(
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    options: Options,
    varying: Sequence[bool] | None = None,
    plans: Sequence[Plan] | None = None,
    local: Sequence[Local] | None = None,
) -> MPS:
    """The MPS of ``circuit`` for each row of ``theta`` (``(B, P)``), from ``|0...0>``;
    ``plans`` (:func:`mpo_plans`): distant two-qubit gates as MPOs, else by swaps; ``local``
    (:func:`local_plans`): neighbouring gates by their Schmidt split where exact."""
    mps = MPS.zeros(circuit.n_qubits, theta.shape[0], dtype, theta.device, options)
    pending: dict[int, torch.Tensor] = {}
    mats = gate_matrices(circuit, theta, dtype, varying)
    wires = [op.wires for op in circuit.ops]
    run_ops(mps, pending, wires, mats, 0, len(mats), plans, local)
    flush(mps, pending)
    return mps


def run_ops(
    mps: MPS,
    pending: dict[int, torch.Tensor],
    wires: Sequence[Sequence[int]],
    mats: Sequence[torch.Tensor],
    start: int,
    stop: int,
    plans: Sequence[Plan] | None = None,
    local: Sequence[Local] | None = None,
) -> None:
    """Apply operations ``start .. stop-1`` (their ``wires`` and matrices ``mats``).

    One-qubit gates wait in ``pending`` on their wire, multiplied together, until a multi-qubit
    gate on that wire takes them into its matrix (or :func:`flush`): fewer, larger
    contractions. ``local`` (:func:`local_plans`): runs of neighbouring two-block gates go
    as one exact segment (:mod:`hqml.sim.mps_local`) while no bond would need a cut."""
    j = start
    while j < stop:
        ws, u = wires[j], mats[j]
        if len(ws) == 1:
            w = ws[0]
            pending[w] = _product(u, pending[w]) if w in pending else u
            j += 1
            continue
        if local is not None and local[j] is not None and mps.options.cutoff == 0:
            end, gates = _segment(mps, pending, wires, mats, j, stop, local)
            if gates:
                apply_segment(mps, gates, pending)
                j = end
                continue
        plan = plans[j] if plans is not None else None
        if plan is not None:  # the waiting one-qubit gates first: the plan is the bare gate's
            for w in ws:
                if w in pending:
                    apply_gate(mps, pending.pop(w), (w,))
            _apply_mpo(mps, u, ws, plan)
        else:
            if any(w in pending for w in ws):
                u = u @ kron([pending.pop(w, None) for w in ws], u.dtype, u.device)
            apply_gate(mps, u, ws)
        j += 1


def _product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` of two one-qubit matrices, by ``mm``/``bmm`` where the shapes allow (the
    call's overhead is the cost at 2 x 2, and ``matmul``'s broadcasting logic doubles it)."""
    if a.dim() == b.dim():
        return torch.mm(a, b) if a.dim() == 2 else torch.bmm(a, b)
    return a @ b


def _segment(
    mps: MPS,
    pending: dict[int, torch.Tensor],
    wires: Sequence[Sequence[int]],
    mats: Sequence[torch.Tensor],
    j: int,
    stop: int,
    local: Sequence[Local],
) -> tuple[int, list[tuple[int, torch.Tensor, torch.Tensor]]]:
    """The longest run of operations from ``j`` that :func:`~hqml.sim.mps_local.apply_segment`
    applies exactly: neighbouring two-block gates, each site the lower site of at most one and
    the upper of at most one, no bond growing past ``max_bond``; one-qubit gates on wires not
    yet touched join ``pending`` on the way. Returns where the run ends and its gates."""
    lows: set[int] = set()
    highs: set[int] = set()
    gates: list[tuple[int, torch.Tensor, torch.Tensor]] = []
    limit = mps.options.max_bond
    while j < stop:
        ws = wires[j]
        if len(ws) == 1:
            w = ws[0]
            if w in lows or w in highs:
                break
            pending[w] = _product(mats[j], pending[w]) if w in pending else mats[j]
            j += 1
            continue
        plan = local[j]
        lo = min(ws)
        if plan is None or lo in lows or lo + 1 in highs or 2 * mps.tensors[lo].shape[3] > limit:
            break
        gates.append((lo, *_terms(mats[j], ws, plan)))
        lows.add(lo)
        highs.add(lo + 1)
        j += 1
    return j, gates


def _terms(u: torch.Tensor, wires: Sequence[int], plan: Local) -> tuple[torch.Tensor, ...]:
    blocks, on_low, fixed = plan  # type: ignore[misc]
    key = (u.dtype, u.device)
    if fixed is not None and key in fixed:
        return fixed[key]
    terms = local_terms(_site_order(u, wires), blocks, on_low)
    if fixed is not None and not u.requires_grad:
        fixed[key] = terms
    return terms


def _site_order(u: torch.Tensor, wires: Sequence[int]) -> torch.Tensor:
    """A two-qubit matrix with its qubits in site order (the lower wire first)."""
    if wires[0] < wires[1]:
        return u
    u = u.reshape(*u.shape[:-2], 2, 2, 2, 2).transpose(-4, -3).transpose(-2, -1)
    return u.reshape(*u.shape[:-4], 4, 4)


def flush(mps: MPS, pending: dict[int, torch.Tensor]) -> None:
    """Apply the one-qubit gates still waiting."""
    for w, u in pending.items():
        apply_gate(mps, u, (w,))
    pending.clear()


def _apply_mpo(mps: MPS, u: torch.Tensor, wires: Sequence[int], plan: Plan) -> None:
    blocks, on_low = plan  # type: ignore[misc]
    lo, hi = sorted(wires)
    left, right = block_terms(_site_order(u, wires), blocks, on_low)
    apply_mpo2(mps, left, right, lo, hi)
