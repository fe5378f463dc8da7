"""Quantum chemistry: molecular qubit Hamiltonians (PySCF + OpenFermion) and chemistry ansaetze."""

from .ansatz import excitations, hartree_fock_circuit, pauli_rotation, uccsd
from .hamiltonian import MolecularHamiltonian, map_fermion_operator, molecular_hamiltonian

__all__ = [
    "molecular_hamiltonian",
    "MolecularHamiltonian",
    "map_fermion_operator",
    "uccsd",
    "hartree_fock_circuit",
    "excitations",
    "pauli_rotation",
]
