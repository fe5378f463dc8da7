"""Circuit operations as simulator instructions, shared by the local simulators.

:func:`gate_step` turns one operation and its parameter values into a
:class:`~hqml.sim.fused.Step`; :func:`build_program` gives one unfused instruction per
operation, for the simulators that insert noise channels between gates (density matrix,
trajectories).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..circuit.dynamic import require_static
from ..sim.fused import Step
from ..sim.program import Instruction


def gate_step(
    op: Any,
    cols: tuple[int, ...],
    batched: bool,
    theta: torch.Tensor,
    dtype: torch.dtype,
    structural: bool = False,
) -> Step:
    g = op.gate
    if g.num_params == 0:
        if g.structure == "monomial":
            perm, phases = g.monomial
            ph = None if np.allclose(phases, 1) else [complex(v) for v in phases]
            return Step("monomial", op.wires, (perm, ph))
        if g.structure == "diagonal":
            return Step("diagonal", op.wires, g.diagonal(dtype=dtype, device=theta.device))
        return Step("matrix", op.wires, g.matrix(dtype=dtype, device=theta.device))
    rows = theta[:, cols[0] : cols[-1] + 1] if batched else theta[0, cols[0] : cols[-1] + 1]
    param = structural or rows.requires_grad
    if g.structure == "diagonal":
        step = Step("diagonal", op.wires, g.diagonal(rows), param)
    else:
        step = Step("matrix", op.wires, g.matrix(rows), param)
    step.rows = rows
    return step


def build_program(
    circuit: Circuit,
    theta: torch.Tensor,
    dtype: torch.dtype,
    varying: Sequence[bool] | None = None,
) -> list[Instruction]:
    """One unfused instruction per operation (the noisy simulators insert channels between)."""
    require_static(circuit, "this simulator", "use backend='density_matrix' or 'statevector'")
    batched_theta = theta.shape[0] > 1
    program: list[Instruction] = []
    col = 0
    for op in circuit.ops:
        cols = tuple(range(col, col + op.gate.num_params))
        col += op.gate.num_params
        batched = batched_theta and (varying is None or any(varying[c] for c in cols))
        step = gate_step(op, cols, batched, theta, dtype)
        program.append(Instruction(step.kind, step.wires, step.data, cols))
    return program
