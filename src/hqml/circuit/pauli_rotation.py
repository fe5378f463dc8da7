"""Exact rotations about one Pauli word, the building block of UCCSD and ADAPT-VQE ansaetze."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .circuit import Circuit


def pauli_rotation(circuit: Circuit, theta: Any, word: Sequence[tuple[int, str]]) -> Circuit:
    """Append ``exp(-i theta/2 P)`` for the Pauli word ``P = [(wire, "X"|"Y"|"Z"), ...]``.

    Basis changes (H for X, RX(pi/2) for Y) take each factor to Z, a CNOT ladder collects the
    parity on the last wire, RZ(theta) rotates it, and everything is undone.
    """
    word = sorted(word)
    if not word:
        return circuit  # a global phase
    half_pi = 1.5707963267948966
    for w, p in word:
        if p == "X":
            circuit.h(w)
        elif p == "Y":
            circuit.rx(half_pi, w)
    wires = [w for w, _ in word]
    for a, b in zip(wires, wires[1:], strict=False):
        circuit.cnot(a, b)
    circuit.rz(theta, wires[-1])
    for a, b in reversed(list(zip(wires, wires[1:], strict=False))):
        circuit.cnot(a, b)
    for w, p in word:
        if p == "X":
            circuit.h(w)
        elif p == "Y":
            circuit.rx(-half_pi, w)
    return circuit
