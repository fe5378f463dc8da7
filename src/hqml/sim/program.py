"""Programs: one gate descriptor per circuit operation, unfused.

An :class:`Instruction` carries what a kernel needs and nothing of the circuit's Python objects:
its kind (``"matrix"``, ``"diagonal"``, ``"monomial"``), wires, the tensor data, and for
parametrized gates the parameter columns it uses. The density
matrix and trajectory simulators insert noise between these; the fast statevector path uses the
fused steps of :mod:`hqml.sim.fused` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .statevector import apply_diagonal, apply_matrix, apply_monomial


@dataclass
class Instruction:
    kind: str  # "matrix" | "diagonal" | "monomial"
    wires: tuple[int, ...]
    data: Any  # matrix (d,d)/(B,d,d); diagonal (d,)/(B,d); monomial (perm, phases)
    columns: tuple[int, ...] = ()  # parameter columns this gate depends on


def apply(state: torch.Tensor, n: int, ins: Instruction) -> torch.Tensor:
    if ins.kind == "matrix":
        return apply_matrix(state, n, ins.data, ins.wires)
    if ins.kind == "diagonal":
        return apply_diagonal(state, n, ins.data, ins.wires)
    perm, phases = ins.data
    return apply_monomial(state, n, perm, phases, ins.wires)
