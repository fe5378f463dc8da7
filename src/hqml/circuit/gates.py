"""The standard gate library: every named gate, ``controlled``, ``get_gate`` and the JSON reader.

The gate classes are in :mod:`hqml.circuit.gate_types` (re-exported here).

>>> import torch
>>> from hqml.circuit.gates import get_gate
>>> get_gate("rx").matrix(torch.tensor([3.14159265]))[0, 1].imag.round()
tensor(-1.)
"""

from __future__ import annotations

import copyreg
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .gate_types import (
    BUILTIN,
    MAX_CONTROLLED_WIRES,
    ControlledGate,
    Gate,
    UnitaryGate,
    complex_dtype,
    controlled,
    real_dtype,
)

__all__ = [
    "ALIASES",
    "GATES",
    "MAX_CONTROLLED_WIRES",
    "ControlledGate",
    "Gate",
    "UnitaryGate",
    "complex_dtype",
    "controlled",
    "gate_from_json",
    "get_gate",
    "real_dtype",
]

_PI = math.pi

# ------------------------------------------------------------------------------------------
# built-in gates

_I2 = np.eye(2)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]])
_Z = np.diag([1.0 + 0j, -1.0])
_H = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
_P1 = np.diag([0.0 + 0j, 1.0])


def _u_matrix(p: torch.Tensor) -> torch.Tensor:
    theta, phi, lam = p[..., 0], p[..., 1], p[..., 2]
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    one = torch.ones_like(theta)
    e_phi, e_lam = torch.polar(one, phi), torch.polar(one, lam)
    rows = [
        torch.stack([c + 0j * c, -e_lam * s], -1),
        torch.stack([e_phi * s, e_phi * e_lam * c], -1),
    ]
    return torch.stack(rows, -2)


def _u_derivatives(p: torch.Tensor) -> torch.Tensor:
    theta, phi, lam = p[..., 0], p[..., 1], p[..., 2]
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    one = torch.ones_like(theta)
    zero = torch.zeros_like(theta) + 0j
    e_phi, e_lam = torch.polar(one, phi), torch.polar(one, lam)

    def m(a: Any, b: Any, c_: Any, d: Any) -> torch.Tensor:
        return torch.stack([torch.stack([a, b], -1), torch.stack([c_, d], -1)], -2)

    d_theta = m(-s / 2 + 0j, -e_lam * c / 2, e_phi * c / 2, -e_phi * e_lam * s / 2)
    d_phi = m(zero, zero, 1j * e_phi * s, 1j * e_phi * e_lam * c)
    d_lam = m(zero, -1j * e_lam * s, zero, 1j * e_phi * e_lam * c)
    return torch.stack([d_theta, d_phi, d_lam], -3)


def _u_inverse(params: tuple) -> tuple[Gate, tuple]:
    theta, phi, lam = params
    return GATES["u"], (-theta, -lam, -phi)


def _named_inverse(name: str) -> Callable[[tuple], tuple[Gate, tuple]]:
    return lambda params: (GATES[name], ())


def _build() -> dict[str, Gate]:
    iswap = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
    sx = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
    swap = np.eye(4)[[0, 2, 1, 3]]
    gates = [
        Gate("id", 1, matrix=_I2, qasm2="id", qasm3="id", label="I"),
        Gate("h", 1, matrix=_H, qasm2="h", qasm3="h"),
        Gate("x", 1, matrix=_X, qasm2="x", qasm3="x"),
        Gate("y", 1, matrix=_Y, qasm2="y", qasm3="y"),
        Gate("z", 1, matrix=_Z, qasm2="z", qasm3="z"),
        Gate("s", 1, matrix=np.diag([1, 1j]), inverse=_named_inverse("sdg"), qasm2="s", qasm3="s"),
        Gate(
            "sdg",
            1,
            matrix=np.diag([1, -1j]),
            inverse=_named_inverse("s"),
            qasm2="sdg",
            qasm3="sdg",
            label="S†",
        ),
        Gate(
            "t",
            1,
            matrix=np.diag([1, np.exp(1j * _PI / 4)]),
            inverse=_named_inverse("tdg"),
            qasm2="t",
            qasm3="t",
        ),
        Gate(
            "tdg",
            1,
            matrix=np.diag([1, np.exp(-1j * _PI / 4)]),
            inverse=_named_inverse("t"),
            qasm2="tdg",
            qasm3="tdg",
            label="T†",
        ),
        Gate(
            "sx", 1, matrix=sx, inverse=_named_inverse("sxdg"), qasm2="sx", qasm3="sx", label="√X"
        ),
        Gate(
            "sxdg", 1, matrix=sx.conj().T, inverse=_named_inverse("sx"), qasm2="sxdg", label="√X†"
        ),
        Gate("rx", 1, generator=_X / 2, qasm2="rx", qasm3="rx"),
        Gate("ry", 1, generator=_Y / 2, qasm2="ry", qasm3="ry"),
        Gate("rz", 1, generator=_Z / 2, qasm2="rz", qasm3="rz"),
        Gate("p", 1, generator=-_P1, qasm2="p", qasm3="p", label="P"),
        Gate(
            "u",
            1,
            num_params=3,
            matrix_fn=_u_matrix,
            derivative_fn=_u_derivatives,
            spectra=[(-0.5, 0.5), (0.0, 1.0), (0.0, 1.0)],
            inverse=_u_inverse,
            qasm2="u3",
            qasm3="U",
            label="U",
        ),
        Gate("swap", 2, matrix=swap, qasm2="swap", qasm3="swap", label="×"),
        Gate("iswap", 2, matrix=iswap, label="iSWAP"),
        Gate("rxx", 2, generator=np.kron(_X, _X) / 2, qasm2="rxx", label="RXX"),
        Gate("ryy", 2, generator=np.kron(_Y, _Y) / 2, label="RYY"),
        Gate("rzz", 2, generator=np.kron(_Z, _Z) / 2, qasm2="rzz", label="RZZ"),
    ]
    table = {g.name: g for g in gates}
    table["iswap"]._inverse = lambda params: (UnitaryGate(iswap.conj().T, "iSWAP†"), ())
    return table


GATES: dict[str, Gate] = BUILTIN  # every named gate (the controlled ones added below)
GATES.update(_build())


def _register_controlled() -> None:
    for base, n, q2, q3 in [
        ("x", 1, "cx", "cx"),
        ("y", 1, "cy", "cy"),
        ("z", 1, "cz", "cz"),
        ("h", 1, "ch", "ch"),
        ("sx", 1, "csx", None),
        ("rx", 1, "crx", "crx"),
        ("ry", 1, "cry", "cry"),
        ("rz", 1, "crz", "crz"),
        ("p", 1, "cp", "cp"),
        ("u", 1, "cu3", None),
        ("x", 2, "ccx", "ccx"),
        ("swap", 1, "cswap", "cswap"),
    ]:
        g = ControlledGate(GATES[base], n)
        g.qasm2_name, g.qasm3_name = q2, q3
        GATES[g.name] = g


_register_controlled()

ALIASES = {
    "cnot": "cx",
    "toffoli": "ccx",
    "fredkin": "cswap",
    "phase": "p",
    "cphase": "cp",
    "u3": "u",
    "i": "id",
    "cu3": "cu",
    "u1": "p",
    "cu1": "cp",
}


def get_gate(name: str) -> Gate:
    """A built-in gate by name (aliases such as ``cnot`` accepted).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return GATES[key]
    except KeyError:
        raise ValueError(
            f"unknown gate {name!r}; known gates: {', '.join(sorted(GATES))}"
        ) from None


def gate_from_json(data: Any) -> Gate:
    """Inverse of :meth:`Gate.to_json`.

    Raises:
        ValueError: for anything that is not a gate description.
    """
    if not isinstance(data, dict):
        raise ValueError(
            f"a gate must be described by an object such as {{'name': 'rx'}}, got {data!r}"
        )
    name = data.get("name")
    if name == "gate":  # a user gate by definition
        if "real" in data:
            m = np.array(data["real"]) + 1j * np.array(data["imag"])
            return Gate(data["id"], int(round(math.log2(len(m)))), matrix=m)
        g = np.array(data["generator_real"]) + 1j * np.array(data["generator_imag"])
        return Gate(data["id"], int(round(math.log2(len(g)))), generator=g)
    if name == "unitary":
        return UnitaryGate(np.array(data["real"]) + 1j * np.array(data["imag"]))
    if name == "ctrl":
        controls = data.get("controls")
        if isinstance(controls, bool) or not isinstance(controls, int):
            raise ValueError(
                f"'controls' of a controlled gate must be an integer, got {controls!r:.50}"
            )
        return controlled(gate_from_json(data.get("base")), controls)
    return get_gate(name)


def _reduce(gate: Gate) -> tuple:
    # gates hold closures and caches: they pickle as their JSON description
    return (gate_from_json, (gate.to_json(),))


for _kind in (Gate, UnitaryGate, ControlledGate):
    copyreg.pickle(_kind, _reduce)
