"""Molecular qubit Hamiltonians from PySCF integrals and OpenFermion mappings (the ``chem`` extra).

Spin orbitals are interleaved (alpha, beta per spatial orbital), and fermionic mode ``j`` goes
to hqml wire ``j`` (wire 0 = first spin orbital = most significant bit). With
``mapping="parity"`` and ``two_qubit_reduction=True`` the modes are reordered alpha-block then
beta-block before the parity transform, so qubits ``n/2 - 1`` (alpha-electron parity) and
``n - 1`` (total parity) carry Z symmetries fixed by the electron numbers and are removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..circuit.observables import PauliSum

MAPPINGS = ("jordan_wigner", "parity")


def _imports() -> tuple[Any, Any]:
    try:
        import openfermion
        import pyscf
    except ImportError as e:
        raise ImportError(
            "molecular Hamiltonians need PySCF and OpenFermion: pip install 'hqml[chem]'"
        ) from e
    return pyscf, openfermion


@dataclass
class MolecularHamiltonian:
    """A molecule's qubit Hamiltonian with reference energies (Hartree).

    Attributes:
        hamiltonian: the qubit ``PauliSum`` (constant included).
        n_qubits: qubits after mapping (and reduction).
        n_electrons: active electrons.
        n_spin_orbitals: active spin orbitals (before any qubit reduction).
        hf_energy: restricted Hartree-Fock energy.
        fci_energy: exact (full CI) energy in the active space, frozen core included.
        hf_bits: the Hartree-Fock basis state on the qubits, wire 0 first.
        mapping: "jordan_wigner" or "parity".
        nuclear_repulsion: the nuclear repulsion energy (part of the constant).
    """

    hamiltonian: PauliSum
    n_qubits: int
    n_electrons: int
    n_spin_orbitals: int
    hf_energy: float
    fci_energy: float
    hf_bits: list[int]
    mapping: str
    nuclear_repulsion: float
    two_qubit_reduction: bool = False
    _n_alpha: int = field(default=0, repr=False)

    def map_fermion_operator(self, op: Any) -> PauliSum:
        """Map an OpenFermion ``FermionOperator`` on the active spin orbitals the same way."""
        return map_fermion_operator(
            op,
            self.n_spin_orbitals,
            self.mapping,
            self.two_qubit_reduction,
            self.n_electrons,
            self._n_alpha,
        )


def _qubit_operator_to_pauli(op: Any) -> PauliSum:
    terms: dict[tuple, complex] = {}
    for word, c in op.terms.items():
        key = tuple((int(q), str(p)) for q, p in word)
        terms[key] = terms.get(key, 0.0) + complex(c)
    return PauliSum(terms).simplify(1e-12)


def _block_order(n_modes: int) -> list[int]:
    """Interleaved mode ``j`` -> position in the alpha-block / beta-block order."""
    half = n_modes // 2
    return [j // 2 if j % 2 == 0 else half + j // 2 for j in range(n_modes)]


def map_fermion_operator(
    op: Any,
    n_modes: int,
    mapping: str = "jordan_wigner",
    two_qubit_reduction: bool = False,
    n_electrons: int = 0,
    n_alpha: int = 0,
) -> PauliSum:
    """A number- and spin-conserving ``FermionOperator`` as a qubit ``PauliSum``."""
    _, of = _imports()
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
    if mapping == "jordan_wigner":
        if two_qubit_reduction:
            raise ValueError("two_qubit_reduction applies to mapping='parity' only")
        return _qubit_operator_to_pauli(of.jordan_wigner(op))
    if two_qubit_reduction:
        position = _block_order(n_modes)
        op = of.reorder(op, lambda j, n: position[j], num_modes=n_modes)
    ps = _parity_transform(op, n_modes)
    if not two_qubit_reduction:
        return ps
    drop = {n_modes // 2 - 1: (-1) ** n_alpha, n_modes - 1: (-1) ** n_electrons}
    keep = [q for q in range(n_modes) if q not in drop]
    new_index = {q: i for i, q in enumerate(keep)}
    terms: dict[tuple, complex] = {}
    for word, c in ps.terms.items():
        factor = 1.0
        out = []
        for q, p in word:
            if q in drop:
                if p != "Z":
                    raise ValueError(
                        f"operator term {word} does not conserve the symmetries"
                        " needed by the two-qubit reduction"
                    )
                factor *= drop[q]
            else:
                out.append((new_index[q], p))
        key = tuple(out)
        terms[key] = terms.get(key, 0.0) + factor * c
    return PauliSum(terms).simplify(1e-12)


def _parity_ladder(j: int, n_modes: int, create: bool) -> PauliSum:
    """``a_j^dagger`` (or ``a_j``) in the parity encoding (qubit k holds n_0 + ... + n_k mod 2).

    Creating at ``j`` flips every prefix parity from ``j`` on (X on ``j..n-1``), the fermionic
    sign is the parity of modes ``< j`` (``Z_{j-1}``), and the emptiness projector of mode ``j``
    is ``(1 + Z_{j-1} Z_j) / 2``; together ``(X_j Z_{j-1} -+ i Y_j) / 2 (x) X_{j+1} ... X_{n-1}``.
    """
    sign = -0.5j if create else 0.5j
    first = {((j, "X"), (j - 1, "Z")) if j > 0 else ((j, "X"),): 0.5, ((j, "Y"),): sign}
    tail = tuple((k, "X") for k in range(j + 1, n_modes))
    return PauliSum({tuple(sorted(word + tail)): c for word, c in first.items()})


def _parity_transform(op: Any, n_modes: int) -> PauliSum:
    ladders = {(j, a): _parity_ladder(j, n_modes, bool(a)) for j in range(n_modes) for a in (0, 1)}
    total: dict[tuple, complex] = {}
    for term, coeff in op.terms.items():
        prod = PauliSum({(): complex(coeff)})
        for j, action in term:
            prod = prod @ ladders[(j, action)]
        for word, c in prod.terms.items():
            total[word] = total.get(word, 0.0) + c
    return PauliSum(total).simplify(1e-12)


def hf_bits(n_modes: int, n_electrons: int, mapping: str, two_qubit_reduction: bool) -> list[int]:
    """The Hartree-Fock state (lowest ``n_electrons`` interleaved spin orbitals filled)."""
    occ = [1 if j < n_electrons else 0 for j in range(n_modes)]
    if mapping == "jordan_wigner":
        return occ
    if two_qubit_reduction:
        position = _block_order(n_modes)
        block = [0] * n_modes
        for j, o in enumerate(occ):
            block[position[j]] = o
        occ = block
    parity = list(np.cumsum(occ) % 2)
    if two_qubit_reduction:
        parity = [b for q, b in enumerate(parity) if q not in (n_modes // 2 - 1, n_modes - 1)]
    return [int(b) for b in parity]


def molecular_hamiltonian(
    geometry: str | Sequence[tuple[str, Sequence[float]]],
    basis: str = "sto-3g",
    active_space: tuple[int, int] | None = None,
    mapping: str = "jordan_wigner",
    two_qubit_reduction: bool = False,
    charge: int = 0,
    spin: int = 0,
) -> MolecularHamiltonian:
    """The qubit Hamiltonian of a molecule, with HF and FCI reference energies.

    Args:
        geometry: ``[("H", (0, 0, 0)), ("H", (0, 0, 0.735))]`` in Angstrom, or a PySCF atom string.
        basis: a PySCF basis name.
        active_space: ``(n_active_electrons, n_active_orbitals)``; lower orbitals are frozen
            (doubly occupied) and higher ones dropped. ``None``: every electron and orbital.
        mapping: ``"jordan_wigner"`` or ``"parity"``.
        two_qubit_reduction: with parity, remove the two qubits fixed by the electron counts.
        charge, spin: molecular charge and ``2S`` (closed shells only: ``spin=0``).

    Returns:
        A :class:`MolecularHamiltonian`.

    Raises:
        ImportError: PySCF or OpenFermion is missing (``pip install 'hqml[chem]'``).
        ValueError: an active space that does not fit the molecule, or an open shell.
    """
    pyscf, of = _imports()
    from pyscf import gto, scf

    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
    if two_qubit_reduction and mapping != "parity":
        raise ValueError("two_qubit_reduction applies to mapping='parity' only")
    if spin != 0:
        raise ValueError("only closed-shell molecules (spin=0) are supported")
    mol = gto.M(atom=geometry, basis=basis, charge=charge, spin=spin, unit="Angstrom", verbose=0)
    mf = scf.RHF(mol).run()
    if not mf.converged:
        raise ValueError("Hartree-Fock did not converge for this geometry")
    n_act_e, n_act_o, n_core = _active_space(mol.nelectron, mf.mo_coeff.shape[1], active_space)
    e_nuc = float(mol.energy_nuc())
    fop = _fermion_operator(of, mol, mf, n_core, n_act_o, e_nuc)
    n_modes = 2 * n_act_o
    n_alpha = n_act_e // 2
    H = map_fermion_operator(fop, n_modes, mapping, two_qubit_reduction, n_act_e, n_alpha)
    n_qubits = n_modes - (2 if two_qubit_reduction else 0)
    return MolecularHamiltonian(
        H,
        n_qubits,
        n_act_e,
        n_modes,
        float(mf.e_tot),
        _exact_energy(mf, active_space, n_act_o, n_act_e),
        hf_bits(n_modes, n_act_e, mapping, two_qubit_reduction),
        mapping,
        e_nuc,
        two_qubit_reduction,
        n_alpha,
    )


def _active_space(
    n_elec: int, n_orb: int, active_space: tuple[int, int] | None
) -> tuple[int, int, int]:
    """``(active electrons, active orbitals, frozen core orbitals)``, checked to fit."""
    n_act_e, n_act_o = active_space if active_space is not None else (n_elec, n_orb)
    n_core = (n_elec - n_act_e) // 2
    if (
        (n_elec - n_act_e) % 2
        or n_act_e % 2
        or n_act_e <= 0
        or n_core + n_act_o > n_orb
        or n_act_e > 2 * n_act_o
    ):
        raise ValueError(
            f"active_space {active_space} does not fit {n_elec} electrons in {n_orb}"
            " orbitals: give (even electrons, orbitals) with room for the core"
        )
    return n_act_e, n_act_o, n_core


def _fermion_operator(of: Any, mol: Any, mf: Any, n_core: int, n_act_o: int, e_nuc: float) -> Any:
    """The active space's fermionic Hamiltonian (OpenFermion), frozen core and nuclear
    repulsion folded into its constant, over interleaved spin orbitals."""
    from pyscf import ao2mo

    n_orb = mf.mo_coeff.shape[1]
    h1 = mf.mo_coeff.T @ mf.get_hcore() @ mf.mo_coeff
    eri = ao2mo.restore(1, ao2mo.kernel(mol, mf.mo_coeff), n_orb)
    two = np.asarray(eri.transpose(0, 2, 3, 1), order="C")  # OpenFermion's (ps|qr) layout
    core = list(range(n_core))
    active = list(range(n_core, n_core + n_act_o))
    const, one_act, two_act = of.ops.representations.get_active_space_integrals(
        h1, two, core, active
    )
    one_so, two_so = of.chem.molecular_data.spinorb_from_spatial(one_act, two_act)
    iop = of.InteractionOperator(const + e_nuc, one_so, 0.5 * two_so)
    return of.get_fermion_operator(iop)


def _exact_energy(
    mf: Any, active_space: tuple[int, int] | None, n_act_o: int, n_act_e: int
) -> float:
    """The FCI energy (CASCI within the active space when one is given)."""
    if active_space is None:
        from pyscf import fci

        return float(fci.FCI(mf).kernel()[0])
    from pyscf import mcscf

    cas = mcscf.CASCI(mf, n_act_o, n_act_e)
    cas.verbose = 0
    return float(cas.kernel()[0])
