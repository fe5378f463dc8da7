"""A circuit's operations on a :class:`~hqml.sim.mps.MPS`: gate matrices from the circuit
and its parameters, one-qubit gates fused into the next multi-qubit gate on their wire; the
tensor work is :mod:`hqml.sim.mps_gates`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ...circuit.circuit import Circuit
from ...sim.mps import MPS, Options
from ...sim.mps_gates import apply_gate, kron
from ...sim.mps_mpo import apply_mpo2, block_terms

# A distant two-qubit gate goes by MPO (sim/mps_mpo.py) when it has at most this many 2 x 2
# blocks on one wire that are nonzero (controlled and diagonal gates: 2); others go by swaps.
MPO_MAX_TERMS = 2
# generic parameter values at which a block that is zero is taken to be zero for all values
_PROBES = ((0.7311, -1.2345, 2.1130, 0.4567), (-2.0817, 0.9093, -0.3371, 1.7773))

Plan = tuple[tuple[tuple[int, int], ...], bool] | None  # (nonzero blocks, on the lower wire)


def gate_matrices(
    circuit: Circuit, theta: torch.Tensor, dtype: torch.dtype, varying: Sequence[bool] | None
) -> list[torch.Tensor]:
    """Each operation's matrix: ``(d, d)``, or ``(B, d, d)`` when its parameters vary by row.
    The operations of one generator gate (RY, RZ, RZZ ...) are built in one batched call."""
    out: list[torch.Tensor | None] = [None] * len(circuit.ops)
    groups: dict[tuple[int, bool], tuple[Any, list[int], list[int]]] = {}
    col = 0
    rows_batched = theta.shape[0] > 1
    for i, op in enumerate(circuit.ops):
        g = op.gate
        p = g.num_params
        if p == 0:
            out[i] = g.matrix(dtype=dtype, device=theta.device)
            continue
        batched = rows_batched and (varying is None or any(varying[col : col + p]))
        if g.generator is None:  # a gate given by its own function: one call each
            rows = theta[:, col : col + p] if batched else theta[0, col : col + p]
            out[i] = g.matrix(rows).to(dtype)
        else:
            _, ops, cols = groups.setdefault((id(g), batched), (g, [], []))
            ops.append(i)
            cols.extend(range(col, col + p))
        col += p
    for (_, batched), (g, ops, cols) in groups.items():
        index = torch.tensor(cols, dtype=torch.int64, device=theta.device)
        p = g.num_params
        if batched:  # (B, G * p) -> (G, B, p)
            rows = theta.index_select(1, index).reshape(theta.shape[0], len(ops), p).transpose(0, 1)
        else:
            rows = theta[0].index_select(0, index).reshape(len(ops), p)
        mats = g.matrix(rows).to(dtype)
        for k, i in enumerate(ops):
            out[i] = mats[k]
    return out  # type: ignore[return-value]


def mpo_plans(circuit: Circuit) -> list[Plan]:
    """Per operation: how a distant two-qubit gate goes as an MPO (its nonzero blocks and
    their wire), or ``None`` (adjacent wires, other sizes, or more than ``MPO_MAX_TERMS``
    blocks: swaps). Read from the gate's matrix at generic parameter values, so the plan
    depends on the circuit only (a replay of the gradient sweep takes the same path)."""
    plans: list[Plan] = []
    for op in circuit.ops:
        ws = op.wires
        if len(ws) != 2 or abs(ws[0] - ws[1]) < 2 or op.gate.num_params > len(_PROBES[0]):
            plans.append(None)
            continue
        g = op.gate
        mats = [
            g.matrix(torch.tensor(probe[: g.num_params], dtype=torch.float64))
            if g.num_params
            else g.matrix(dtype=torch.complex128, device="cpu")
            for probe in _PROBES
        ]
        t = torch.stack(mats).reshape(-1, 2, 2, 2, 2).abs().amax(0)  # (a, s, b, t)
        if ws[0] > ws[1]:
            t = t.permute(1, 0, 3, 2)  # qubits in site order
        pairs = [(a, b) for a in range(2) for b in range(2)]
        low = tuple(p for p in pairs if float(t[p[0], :, p[1], :].max()) > 1e-12)
        high = tuple(p for p in pairs if float(t[:, p[0], :, p[1]].max()) > 1e-12)
        best = (low, True) if len(low) <= len(high) else (high, False)
        plans.append(best if len(best[0]) <= MPO_MAX_TERMS else None)
    return plans


def simulate(
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    options: Options,
    varying: Sequence[bool] | None = None,
    plans: Sequence[Plan] | None = None,
) -> MPS:
    """The MPS of ``circuit`` for each row of ``theta`` (``(B, P)``), from ``|0...0>``;
    ``plans`` (:func:`mpo_plans`): distant two-qubit gates as MPOs, else by swaps."""
    mps = MPS.zeros(circuit.n_qubits, theta.shape[0], dtype, theta.device, options)
    pending: dict[int, torch.Tensor] = {}
    mats = gate_matrices(circuit, theta, dtype, varying)
    run_ops(mps, pending, [op.wires for op in circuit.ops], mats, 0, len(mats), plans)
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
) -> None:
    """Apply operations ``start .. stop-1`` (their ``wires`` and matrices ``mats``).

    One-qubit gates wait in ``pending`` on their wire, multiplied together, until a multi-qubit
    gate on that wire takes them into its matrix (or :func:`flush`): fewer, larger
    contractions."""
    for j in range(start, stop):
        ws, u = wires[j], mats[j]
        if len(ws) == 1:
            w = ws[0]
            pending[w] = u @ pending[w] if w in pending else u
            continue
        plan = plans[j] if plans is not None else None
        if plan is not None:  # the waiting one-qubit gates first: the plan is the bare gate's
            for w in ws:
                if w in pending:
                    apply_gate(mps, pending.pop(w), (w,))
            _apply_mpo(mps, u, ws, plan)
            continue
        if any(w in pending for w in ws):
            u = u @ kron([pending.pop(w, None) for w in ws], u.dtype, u.device)
        apply_gate(mps, u, ws)


def flush(mps: MPS, pending: dict[int, torch.Tensor]) -> None:
    """Apply the one-qubit gates still waiting."""
    for w, u in pending.items():
        apply_gate(mps, u, (w,))
    pending.clear()


def _apply_mpo(mps: MPS, u: torch.Tensor, wires: Sequence[int], plan: Plan) -> None:
    blocks, on_low = plan  # type: ignore[misc]
    lo, hi = sorted(wires)
    if wires[0] > wires[1]:  # the matrix's qubits in site order
        u = u.reshape(*u.shape[:-2], 2, 2, 2, 2).transpose(-4, -3).transpose(-2, -1)
        u = u.reshape(*u.shape[:-4], 4, 4)
    left, right = block_terms(u, blocks, on_low)
    apply_mpo2(mps, left, right, lo, hi)
