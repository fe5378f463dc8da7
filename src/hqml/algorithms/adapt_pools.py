"""Operator pools for :class:`~hqml.algorithms.adapt.AdaptVQE`.

- :func:`fermionic_pool`: spin-conserving singles and doubles ``T - T^dagger`` from the
  Hartree-Fock reference, mapped with the molecule's own mapping (Grimsley et al. 2019's pool,
  in spin orbitals rather than spin-adapted combinations).
- :func:`qubit_excitation_pool`: the same excitations with the Jordan-Wigner Z strings dropped
  (Yordanov et al. 2021, "qubit-excitation-based" ADAPT): fewer CNOTs per operator.
- :func:`minimal_complete_pool`: Tang et al. 2021's ``2n - 2`` single Pauli strings, enough to
  reach any real state; it does not conserve particle number, so from a Hartree-Fock reference of
  a number-conserving Hamiltonian every gradient is zero (a symmetry roadblock, Shkolnikov et
  al. 2021): use it on Hamiltonians without that symmetry, or from a reference that breaks it.
"""

from __future__ import annotations

from typing import Any

from ..chem.ansatz import excitations
from ..chem.hamiltonian import _imports
from ..circuit.observables import PauliSum
from .adapt import PoolOperator


def _excitation_ops(molecule: Any) -> list[tuple[str, Any]]:
    _, of = _imports()
    singles, doubles = excitations(molecule.n_electrons, molecule.n_spin_orbitals)
    out = []
    for i, a in singles:
        t = of.FermionOperator(((a, 1), (i, 0)))
        out.append((f"s({i}->{a})", t - of.hermitian_conjugated(t), (i, a)))
    for i, j, a, b in doubles:
        t = of.FermionOperator(((a, 1), (b, 1), (j, 0), (i, 0)))
        out.append((f"d({i},{j}->{a},{b})", t - of.hermitian_conjugated(t), (i, j, a, b)))
    if not out:
        raise ValueError("the active space allows no excitations; enlarge it")
    return out


def _generator(anti_hermitian: PauliSum, name: str) -> PauliSum:
    """``A = i G`` as a qubit PauliSum -> ``G`` (real coefficients)."""
    terms = {}
    for word, c in anti_hermitian.terms.items():
        if abs(c.real) > 1e-10:
            raise ValueError(f"{name}: the mapped excitation is not anti-Hermitian")
        terms[word] = complex(c.imag)
    return PauliSum(terms).simplify(1e-12)


def fermionic_pool(molecule: Any) -> list[PoolOperator]:
    """Fermionic singles and doubles of a :class:`~hqml.chem.MolecularHamiltonian`.

    Works with every mapping the molecule supports (Jordan-Wigner, parity, reduced parity).
    """
    return [
        PoolOperator(name, _generator(molecule.map_fermion_operator(op), name))
        for name, op, _ in _excitation_ops(molecule)
    ]


def qubit_excitation_pool(molecule: Any) -> list[PoolOperator]:
    """Qubit excitations: the Jordan-Wigner singles and doubles without their Z strings.

    Raises:
        ValueError: the molecule is not Jordan-Wigner mapped (qubit = spin orbital is needed).
    """
    if molecule.mapping != "jordan_wigner":
        raise ValueError(
            "qubit excitations need one qubit per spin orbital: build the molecule with"
            " mapping='jordan_wigner'"
        )
    pool = []
    for name, op, modes in _excitation_ops(molecule):
        g = _generator(molecule.map_fermion_operator(op), name)
        kept: dict = {}
        for word, c in g.terms.items():
            stripped = tuple((w, p) for w, p in word if w in modes)
            kept[stripped] = kept.get(stripped, 0.0) + c
        pool.append(PoolOperator(name, PauliSum(kept).simplify(1e-12)))
    return pool


def minimal_complete_pool(n_qubits: int) -> list[PoolOperator]:
    """Tang et al.'s minimal complete pool ``V_n`` of ``2n - 2`` Pauli strings (one Y each).

    ``V_2 = {Z_0 Y_1, Y_0}`` and ``V_n = {Z_0 v : v in V_{n-1}} + {Y_0, Y_1}`` (the new qubit
    is wire 0). Their commutators generate ``sp(2^{n-2})``, which moves any real state to any
    other.
    """
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 2:
        raise ValueError(f"the minimal complete pool needs n_qubits >= 2, got {n_qubits!r}")
    strings = ["ZY", "YI"]
    for n in range(3, n_qubits + 1):
        strings = ["Z" + s for s in strings] + ["Y" + "I" * (n - 1), "IY" + "I" * (n - 2)]
    return [PoolOperator(s, PauliSum.from_list([(s, 1.0)])) for s in strings]
