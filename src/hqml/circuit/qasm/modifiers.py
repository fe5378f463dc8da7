"""Gate modifiers on expanded steps: ``ctrl``/``negctrl`` (control every step; a global phase
becomes a phase on the controls), ``inv`` (reverse and invert), ``pow`` (repeat for integer
exponents; the principal matrix power for others, with numeric parameters)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..expr import Const, as_expr
from ..gates import GATES, UnitaryGate, controlled
from .decompose import embed
from .errors import QasmError
from .library import Step


def control(steps: list[Step], controls: tuple[int, ...], negative: bool) -> list[Step]:
    out: list[Step] = []
    for gate, wires, params in steps:
        if gate is None:  # ctrl @ gphase(a) = phase a on the all-ones control state
            k = len(controls)
            g = GATES["p"] if k == 1 else controlled(GATES["p"], k - 1)
            out.append((g, controls, params))
        else:
            out.append((controlled(gate, len(controls)), controls + wires, params))
    if negative:
        flips: list[Step] = [(GATES["x"], (c,), ()) for c in controls]
        out = flips + out + flips
    return out


def invert(steps: list[Step]) -> list[Step]:
    out: list[Step] = []
    for gate, wires, params in reversed(steps):
        if gate is None:
            out.append((None, (), (-params[0],)))
        else:
            g, p = gate.inverse(params)
            out.append((g, wires, tuple(as_expr(v) for v in p)))
    return out


def as_int(value: float) -> int | None:
    return int(value) if math.isfinite(value) and value == int(value) else None


def power(steps: list[Step], k: float, line: int) -> list[Step]:
    n = as_int(k)
    if n is not None and abs(n) <= 64:
        return (steps if n >= 0 else invert(steps)) * abs(n)
    if not math.isfinite(k):
        raise QasmError(f"pow({k}) needs a finite exponent", line)
    if any(not p.is_constant for _, _, ps in steps for p in ps):
        raise QasmError(
            "pow(k) with a non-integer (or |k| > 64) exponent needs numeric gate parameters", line
        )
    wires = sorted({w for _, ws, _ in steps for w in ws})
    m = steps_matrix(steps, wires)
    if not wires:
        return [(None, (), (Const(float(np.angle(m[0, 0])) * k),))]
    if n is not None:  # a large integer power: repeated squaring
        root = np.linalg.matrix_power(m if n >= 0 else m.conj().T, abs(n))
        return [(UnitaryGate(root, f"pow({n})"), tuple(wires), ())]
    from scipy.linalg import schur

    t, z = schur(m, output="complex")
    angles = np.angle(np.diag(t))
    angles[angles <= -np.pi + 1e-9] += 2 * np.pi  # principal branch: -1 -> e^{i pi}, either sign
    root = (z * np.exp(1j * k * angles)[None, :]) @ z.conj().T
    return [(UnitaryGate(root, f"pow({k:g})"), tuple(wires), ())]


def steps_matrix(steps: list[Step], wires: list[int]) -> np.ndarray:
    """The unitary of numeric steps on ``wires`` (global phases included)."""
    m = np.eye(2 ** len(wires), dtype=np.complex128)
    for gate, ws, params in steps:
        if gate is None:
            m = m * np.exp(1j * float(params[0]))
            continue
        theta = torch.tensor([float(p) for p in params], dtype=torch.float64)
        gm = gate.matrix(theta if gate.num_params else None, dtype=torch.complex128).numpy()
        m = embed(gm, ws, wires) @ m
    return m
