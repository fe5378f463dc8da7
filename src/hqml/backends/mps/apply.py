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
    """The MPS of ``circuit`` for each row of ``theta`` (``(B, P)``), from ``|0...0>``.

    One-qubit gates wait on their wire, multiplied together, until a multi-qubit gate on that
    wire takes them into its matrix (or the circuit ends): fewer, larger contractions."""
    mps = MPS.zeros(circuit.n_qubits, theta.shape[0], dtype, theta.device, options)
    pending: dict[int, torch.Tensor] = {}
    for op, u in zip(circuit.ops, gate_matrices(circuit, theta, dtype, varying), strict=True):
        if len(op.wires) == 1:
            w = op.wires[0]
            pending[w] = u @ pending[w] if w in pending else u
            continue
        if any(w in pending for w in op.wires):
            u = u @ kron([pending.pop(w, None) for w in op.wires], dtype, theta.device)
        apply_gate(mps, u, op.wires)
    for w, u in pending.items():
        apply_gate(mps, u, (w,))
    return mps
