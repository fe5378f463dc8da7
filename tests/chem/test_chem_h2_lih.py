"""Molecular Hamiltonians against dense diagonalisation and OpenFermion; VQE accuracy."""

import numpy as np
import pytest
import scipy.linalg
import torch

pytest.importorskip("pyscf", reason="pyscf is not installed (pip install 'hqml[chem]')")
of = pytest.importorskip(
    "openfermion", reason="openfermion is not installed (pip install 'hqml[chem]')"
)

from hqml.algorithms import VQE  # noqa: E402
from hqml.chem import molecular_hamiltonian, pauli_rotation, uccsd  # noqa: E402
from hqml.chem.hamiltonian import _parity_transform, _qubit_operator_to_pauli  # noqa: E402
from hqml.circuit import Circuit  # noqa: E402
from hqml.execute import state  # noqa: E402
from hqml.testing import reference_unitary  # noqa: E402

H2 = [("H", (0.0, 0.0, 0.0)), ("H", (0.0, 0.0, 0.735))]
CHEMICAL_ACCURACY = 1.6e-3


@pytest.fixture(scope="module")
def h2():
    return molecular_hamiltonian(H2)


def test_h2_hamiltonian_spectrum_and_references(h2):
    H = h2.hamiltonian.to_matrix(h2.n_qubits)
    assert h2.n_qubits == 4 and h2.hf_bits == [1, 1, 0, 0]
    assert np.linalg.eigvalsh(H)[0] == pytest.approx(h2.fci_energy, abs=1e-8)
    assert h2.fci_energy == pytest.approx(-1.137306, abs=2e-6)  # the literature STO-3G value
    hf_index = int("1100", 2)  # wire 0 = first spin orbital = most significant bit
    assert H[hf_index, hf_index].real == pytest.approx(h2.hf_energy, abs=1e-8)


def test_wire_order_matches_openfermion_sparse_operator(h2):
    fop = of.FermionOperator("3^ 0", 0.4) + of.FermionOperator("0^ 3", 0.4)
    qop = of.jordan_wigner(fop)
    dense = of.get_sparse_operator(qop, n_qubits=4).toarray()  # OpenFermion: qubit 0 = MSB
    assert np.allclose(_qubit_operator_to_pauli(qop).to_matrix(4), dense)
    assert np.allclose(h2.map_fermion_operator(fop).to_matrix(4), dense)


def test_parity_mapping_matches_openfermion_and_reduces():
    op = (
        of.FermionOperator("3^ 1^ 2 0", 0.7)
        + of.FermionOperator("0^ 1^ 3 2", 0.7)
        + of.FermionOperator("2^ 0", 0.3)
        + of.FermionOperator("0^ 2", 0.3)
    )
    reference = _qubit_operator_to_pauli(of.binary_code_transform(op, of.parity_code(4)))
    assert _parity_transform(op, 4) == reference
    reduced = molecular_hamiltonian(H2, mapping="parity", two_qubit_reduction=True)
    assert reduced.n_qubits == 2
    assert np.linalg.eigvalsh(reduced.hamiltonian.to_matrix(2))[0] == pytest.approx(
        reduced.fci_energy, abs=1e-8
    )


def test_pauli_rotation_is_the_exponential():
    rng = np.random.default_rng(0)
    paulis = {
        "X": np.array([[0, 1], [1, 0]]),
        "Y": np.array([[0, -1j], [1j, 0]]),
        "Z": np.diag([1, -1]),
    }
    for word in ([(0, "X"), (2, "Y"), (3, "Z")], [(1, "Y"), (2, "X")], [(3, "Y")]):
        theta = float(rng.uniform(-3, 3))
        c = pauli_rotation(Circuit(4), theta, word)
        factors = dict(word)
        P = np.ones((1, 1))
        for q in range(4):
            P = np.kron(P, paulis[factors[q]] if q in factors else np.eye(2))
        assert np.allclose(reference_unitary(c), scipy.linalg.expm(-0.5j * theta * P))


def test_uccsd_starts_at_hartree_fock(h2):
    c = uccsd(h2)
    psi = state(c, weights={"theta": torch.zeros(3, dtype=torch.float64)}).numpy()
    expected = np.zeros(16)
    expected[0b1100] = 1
    assert np.allclose(np.abs(psi), expected, atol=1e-12)


def test_h2_vqe_reaches_chemical_accuracy(h2):
    result = VQE(h2.hamiltonian, uccsd(h2), optimizer="L-BFGS-B").run()
    assert abs(result.energy - h2.fci_energy) < CHEMICAL_ACCURACY
    assert result.energy < h2.hf_energy - 0.015  # correlation energy recovered, not just HF
    assert result.n_evaluations == len(result.history) >= 2
    assert result.n_gradient_evaluations >= 1


def test_lih_active_space_vqe_parity_reduced():
    lih = molecular_hamiltonian(
        [("Li", (0, 0, 0)), ("H", (0, 0, 1.6))],
        active_space=(2, 3),
        mapping="parity",
        two_qubit_reduction=True,
    )
    assert lih.n_qubits == 4
    assert np.linalg.eigvalsh(lih.hamiltonian.to_matrix(4))[0] == pytest.approx(
        lih.fci_energy, abs=1e-8
    )
    result = VQE(lih.hamiltonian, uccsd(lih, singles=False), optimizer="SLSQP").run()
    assert abs(result.energy - lih.fci_energy) < CHEMICAL_ACCURACY


def test_bad_active_space_is_named():
    with pytest.raises(ValueError, match="active_space"):
        molecular_hamiltonian(H2, active_space=(4, 1))
    with pytest.raises(ValueError, match="two_qubit_reduction"):
        molecular_hamiltonian(H2, two_qubit_reduction=True)
