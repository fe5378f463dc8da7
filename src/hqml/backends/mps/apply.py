"""A circuit's operations on a :class:`~hqml.sim.mps.MPS`: gate matrices from the circuit
and its parameters, one-qubit gates fused into the next multi-qubit gate on their wire; the
tensor work is :mod:`hqml.sim.mps_gates`."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...circuit.circuit import Circuit
from ...sim.mps import MPS, Options
from ...sim.mps_gates import apply_gate, kron


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
    pending: dict[int, torch.Tensor] = {}
    mats = gate_matrices(circuit, theta, dtype, varying)
    run_ops(mps, pending, [op.wires for op in circuit.ops], mats, 0, len(mats))
    flush(mps, pending)
    return mps


def run_ops(
    mps: MPS,
    pending: dict[int, torch.Tensor],
    wires: Sequence[Sequence[int]],
    mats: Sequence[torch.Tensor],
    start: int,
    stop: int,
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
        if any(w in pending for w in ws):
            u = u @ kron([pending.pop(w, None) for w in ws], u.dtype, u.device)
        apply_gate(mps, u, ws)


def flush(mps: MPS, pending: dict[int, torch.Tensor]) -> None:
    """Apply the one-qubit gates still waiting."""
    for w, u in pending.items():
        apply_gate(mps, u, (w,))
    pending.clear()
