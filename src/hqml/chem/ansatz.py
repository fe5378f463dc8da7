"""Chemistry ansaetze: Hartree-Fock preparation and UCCSD from exact Pauli rotations.

Each excitation generator ``T - T^dagger`` is mapped to qubits with the Hamiltonian's own
mapping, giving ``i sum_k c_k P_k`` with mutually commuting Pauli words ``P_k``; so
``exp(theta (T - T^dagger)) = prod_k exp(i theta c_k P_k)`` exactly, one excitation at a time
(the product over excitations is the usual first-order Trotterised UCCSD).
"""

from __future__ import annotations

import itertools

from ..circuit.circuit import Circuit
from ..circuit.pauli_rotation import pauli_rotation
from .hamiltonian import MolecularHamiltonian, _imports


def excitations(
    n_electrons: int, n_modes: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """Spin-conserving singles ``(i, a)`` and doubles ``(i, j, a, b)`` from the HF reference.

    Modes are interleaved spin orbitals (even = alpha, odd = beta); occupied = ``< n_electrons``.
    """
    occ, virt = range(n_electrons), range(n_electrons, n_modes)
    singles = [(i, a) for i in occ for a in virt if i % 2 == a % 2]
    doubles = [
        (i, j, a, b)
        for i, j in itertools.combinations(occ, 2)
        for a, b in itertools.combinations(virt, 2)
        if (i % 2) + (j % 2) == (a % 2) + (b % 2)
    ]
    return singles, doubles


def hartree_fock_circuit(molecule: MolecularHamiltonian) -> Circuit:
    """X on the wires set in the Hartree-Fock basis state."""
    c = Circuit(molecule.n_qubits)
    for w, b in enumerate(molecule.hf_bits):
        if b:
            c.x(w)
    return c


def uccsd(
    molecule: MolecularHamiltonian, weight_name: str = "theta", singles: bool = True
) -> Circuit:
    """The UCCSD ansatz on the Hartree-Fock state, one weight per excitation (doubles first).

    Args:
        molecule: from :func:`~hqml.chem.molecular_hamiltonian` (any mapping).
        weight_name: the name of the weight vector.
        singles: include single excitations.

    Returns:
        A circuit with one weight vector; all-zero weights give the Hartree-Fock state.
    """
    _, of = _imports()
    s, d = excitations(molecule.n_electrons, molecule.n_spin_orbitals)
    ops = [((a, 1), (b, 1), (j, 0), (i, 0)) for i, j, a, b in d]
    if singles:
        ops += [((a, 1), (i, 0)) for i, a in s]
    c = hartree_fock_circuit(molecule)
    if not ops:
        raise ValueError("the active space allows no excitations; enlarge it")
    theta = c.weight(weight_name, len(ops))
    for k, term in enumerate(ops):
        t = of.FermionOperator(term)
        generator = molecule.map_fermion_operator(t - of.hermitian_conjugated(t))
        for word, coeff in generator.terms.items():
            # generator = i sum c P; exp(theta i c P) = exp(-i (-2 c theta)/2 P)
            c_k = coeff.imag
            if abs(coeff.real) > 1e-10:
                raise ValueError(f"excitation generator term {word} is not anti-Hermitian")
            if abs(c_k) > 1e-12:
                pauli_rotation(c, theta[k] * (-2.0 * c_k), word)
    return c
