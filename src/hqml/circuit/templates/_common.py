"""Small helpers shared by the templates: argument checks and entanglement patterns."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

ENTANGLEMENTS = ("full", "linear", "circular")


def check_qubits(n_qubits: Any, template: str, minimum: int = 1) -> int:
    if (
        isinstance(n_qubits, bool)
        or not isinstance(n_qubits, numbers.Integral)
        or n_qubits < minimum
    ):
        raise ValueError(f"{template}: n_qubits must be an integer >= {minimum}, got {n_qubits!r}")
    return int(n_qubits)


def check_count(value: Any, what: str, template: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{template}: {what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def entangling_pairs(
    n_qubits: int, entanglement: str | Sequence[Sequence[int]], template: str
) -> list[tuple[int, int]]:
    """Pairs of wires for an entanglement pattern.

    ``"full"``: every ``(i, j)`` with ``i < j``; ``"linear"``: ``(i, i + 1)``; ``"circular"``:
    linear plus ``(n - 1, 0)`` first (Qiskit's order) when ``n > 2``; or an explicit list of pairs.
    """
    if isinstance(entanglement, str):
        if entanglement == "full":
            return [(i, j) for i in range(n_qubits) for j in range(i + 1, n_qubits)]
        if entanglement == "linear":
            return [(i, i + 1) for i in range(n_qubits - 1)]
        if entanglement == "circular":
            linear = [(i, i + 1) for i in range(n_qubits - 1)]
            return ([(n_qubits - 1, 0)] + linear) if n_qubits > 2 else linear
        raise ValueError(
            f"{template}: entanglement must be one of {ENTANGLEMENTS} or a list of wire"
            f" pairs, got {entanglement!r}"
        )
    pairs = []
    for pair in entanglement:
        a, b = (int(v) for v in pair)
        if a == b or not (0 <= a < n_qubits and 0 <= b < n_qubits):
            raise ValueError(f"{template}: bad wire pair {tuple(pair)} for {n_qubits} qubits")
        pairs.append((a, b))
    return pairs
