"""Binary quadratic models as diagonal Pauli sums, and back.

Convention (used by QAOA and every hqml QUBO solver):

* the variables of a BQM, in ``variables`` order (``list(bqm.variables)`` unless given), sit on
  wires ``0, 1, 2, ...``;
* BINARY models: the value ``x = 1`` is the basis state ``|1>``, the Z eigenvalue ``-1``, so
  ``x = (1 - z) / 2``; SPIN models: the spin is the Z eigenvalue, ``s = z`` (``s = -1`` is
  ``|1>``). Each vartype is read in its own way: a SPIN model and its ``.binary`` copy (dimod's
  ``s = 2x - 1``) put the same assignment on *different* basis states, each with the right energy;
* the Pauli sum has the same energies as the BQM: ``<b|H|b> = bqm.energy(b)`` for every basis
  state ``b`` (offset included as the identity term), so minimising ``<H>`` minimises the BQM.

>>> import dimod
>>> bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {("a", "b"): -2.0}, 0.5, "BINARY")
>>> H, order = bqm_to_pauli(bqm)
>>> order
['a', 'b']
>>> sorted((k, round(v.real, 3)) for k, v in H.to_list(2))
[('II', 0.5), ('IZ', 0.5), ('ZZ', -0.5)]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..circuit.observables import PauliSum


def _dimod():
    try:
        import dimod
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("QUBO support needs dimod: pip install 'hqml[optimize]'") from e
    return dimod


def bqm_to_pauli(
    bqm: Any,
    variables: Sequence[Hashable] | None = None,
) -> tuple[PauliSum, list[Hashable]]:
    """The diagonal Pauli sum whose basis-state energies equal ``bqm.energy``.

    Args:
        bqm: a ``dimod.BinaryQuadraticModel`` (BINARY or SPIN).
        variables: wire order; defaults to ``list(bqm.variables)``.

    Returns:
        ``(H, variables)``: wire ``i`` carries ``variables[i]``.
    """
    dimod = _dimod()
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise TypeError(f"expected a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
    order = list(bqm.variables) if variables is None else list(variables)
    if set(order) != set(bqm.variables) or len(order) != len(bqm.variables):
        raise ValueError("variables must list every variable of the BQM exactly once")
    index = {v: i for i, v in enumerate(order)}
    if bqm.vartype is dimod.SPIN:  # s = z
        h, J, offset = dict(bqm.linear), dict(bqm.quadratic), float(bqm.offset)
    else:  # x = (1 - z) / 2
        h = {v: -a / 2 for v, a in bqm.linear.items()}
        J = {}
        offset = float(bqm.offset) + sum(bqm.linear.values()) / 2
        for (u, v), b in bqm.quadratic.items():
            J[(u, v)] = b / 4
            h[u] -= b / 4
            h[v] -= b / 4
            offset += b / 4
    terms: dict[tuple, complex] = {(): complex(offset)}
    for v, hv in h.items():
        if hv:
            terms[((index[v], "Z"),)] = complex(hv)
    for (u, v), juv in J.items():
        if juv:
            key = tuple(sorted(((index[u], "Z"), (index[v], "Z"))))
            terms[key] = terms.get(key, 0.0) + complex(juv)
    return PauliSum(terms), order


def pauli_to_ising(H: PauliSum) -> tuple[dict[int, float], dict[tuple[int, int], float], float]:
    """``(h, J, offset)`` of a diagonal Pauli sum with at most two-body Z terms.

    Raises:
        ValueError: a term holds X or Y, acts on more than two wires, or has a complex coefficient.
    """
    h: dict[int, float] = {}
    J: dict[tuple[int, int], float] = {}
    offset = 0.0
    for word, c in H.terms.items():
        if abs(c.imag) > 1e-12:
            raise ValueError(f"cost Hamiltonian must be Hermitian; term {word} has coefficient {c}")
        if any(p != "Z" for _, p in word) or len(word) > 2:
            raise ValueError(
                f"a cost Hamiltonian may hold only Z and ZZ terms; got {word}."
                " Give a dimod BQM or a diagonal PauliSum"
            )
        if not word:
            offset += c.real
        elif len(word) == 1:
            h[word[0][0]] = h.get(word[0][0], 0.0) + c.real
        else:
            key = (word[0][0], word[1][0])
            J[key] = J.get(key, 0.0) + c.real
    return h, J, offset


def pauli_to_bqm(H: PauliSum, n_qubits: int | None = None) -> Any:
    """A SPIN BQM on integer variables ``0..n-1`` with the energies of the diagonal ``H``."""
    dimod = _dimod()
    h, J, offset = pauli_to_ising(H)
    n = n_qubits if n_qubits is not None else (max(H.wires) + 1 if H.wires else 1)
    bqm = dimod.BinaryQuadraticModel({i: h.get(i, 0.0) for i in range(n)}, J, offset, "SPIN")
    return bqm


def diagonal_energies(H: PauliSum, n_qubits: int) -> np.ndarray:
    """All ``2**n`` basis-state energies of a diagonal Pauli sum (wire 0 = most significant bit)."""
    h, J, offset = pauli_to_ising(H)
    idx = np.arange(2**n_qubits)
    z = 1 - 2 * ((idx[:, None] >> (n_qubits - 1 - np.arange(n_qubits))) & 1)  # (2^n, n)
    energies = np.full(2**n_qubits, offset, dtype=float)
    for i, hi in h.items():
        energies += hi * z[:, i]
    for (i, j), jij in J.items():
        energies += jij * z[:, i] * z[:, j]
    return energies


def bits_to_sample(bits: Sequence[int], variables: Sequence[Hashable], vartype: Any) -> dict:
    """A dimod sample from measured bits (``bits[i]`` of wire ``i``) in the BQM's vartype."""
    dimod = _dimod()
    spin = dimod.as_vartype(vartype) is dimod.SPIN
    return {v: (1 - 2 * int(b)) if spin else int(b) for v, b in zip(variables, bits, strict=False)}
