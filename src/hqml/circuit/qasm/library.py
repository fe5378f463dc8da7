"""The standard gates a QASM program may call without defining them (qelib1.inc, stdgates.inc).

Each entry turns the call's parameters into hqml steps ``(gate, local_wires, params)``; a
``None`` gate is a global phase (it matters only under ``ctrl @``). The matrices are the
conventional ones (as Qiskit defines them): ``U``/``u``/``u3`` are
``[[cos, -e^{i lam} sin], [e^{i phi} sin, e^{i(phi+lam)} cos]]`` and ``cu(theta, phi, lam, gamma)``
is ``u3`` times ``e^{i gamma}`` controlled. The relative-phase Toffolis of qelib1 are read from
their qelib1 definitions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..expr import Const, Expr
from ..gates import GATES, Gate, controlled

Step = tuple[Gate | None, tuple[int, ...], tuple[Expr, ...]]
Builder = Callable[[tuple[Expr, ...]], list[Step]]


def _same(name: str) -> tuple[int, int, Builder]:
    g = GATES[name]
    return g.num_params, g.num_wires, lambda p: [(g, tuple(range(g.num_wires)), p)]


def _ctrl(name: str, k: int) -> tuple[int, int, Builder]:
    g = controlled(GATES[name], k)
    return 0, g.num_wires, lambda p: [(g, tuple(range(g.num_wires)), ())]


def _u2(p: tuple[Expr, ...]) -> list[Step]:
    return [(GATES["u"], (0,), (Const(math.pi / 2), p[0], p[1]))]


def _cu4(p: tuple[Expr, ...]) -> list[Step]:
    return [(GATES["p"], (0,), (p[3],)), (GATES["cu"], (0, 1), p[:3])]


STANDARD: dict[str, tuple[int, int, Builder]] = {
    name: _same(name)
    for name in (
        "id",
        "x",
        "y",
        "z",
        "h",
        "s",
        "sdg",
        "t",
        "tdg",
        "sx",
        "sxdg",
        "rx",
        "ry",
        "rz",
        "p",
        "cx",
        "cy",
        "cz",
        "ch",
        "csx",
        "swap",
        "ccx",
        "cswap",
        "crx",
        "cry",
        "crz",
        "cp",
        "rxx",
        "ryy",
        "rzz",
        "iswap",
    )
}
STANDARD.update(
    {
        "U": _same("u"),
        "u": _same("u"),
        "u3": _same("u"),
        "u2": (2, 1, _u2),
        "u1": _same("p"),
        "phase": _same("p"),
        "u0": (1, 1, lambda p: [(GATES["id"], (0,), ())]),
        "CX": _same("cx"),
        "cnot": _same("cx"),
        "cu1": _same("cp"),
        "cphase": _same("cp"),
        "cu3": _same("cu"),
        "cu": (4, 2, _cu4),
        "c3x": _ctrl("x", 3),
        "c4x": _ctrl("x", 4),
        "c3sqrtx": _ctrl("sx", 3),
        # names of Amazon Braket's OpenQASM dialect (same matrices)
        "i": _same("id"),
        "ccnot": _same("ccx"),
        "phaseshift": _same("p"),
        "cphaseshift": _same("cp"),
        "v": _same("sx"),
        "vi": _same("sxdg"),
        "xx": _same("rxx"),
        "yy": _same("ryy"),
        "zz": _same("rzz"),
    }
)

# qelib1.inc's relative-phase Toffolis (their definitions are their meaning)
QELIB1_DEFINITIONS = """
gate rccx a,b,c { u2(0,pi) c; u1(pi/4) c; cx b,c; u1(-pi/4) c; cx a,c; u1(pi/4) c; cx b,c;
  u1(-pi/4) c; u2(0,pi) c; }
gate rc3x a,b,c,d { u2(0,pi) d; u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d; cx a,d;
  u1(pi/4) d; cx b,d; u1(-pi/4) d; cx a,d; u1(pi/4) d; cx b,d; u1(-pi/4) d; u2(0,pi) d;
  u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d; }
"""
