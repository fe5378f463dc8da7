"""Cross-check with Qiskit: its OpenQASM 2 exports read by hqml, and hqml's read by Qiskit,
give the same states as Qiskit's own simulation (up to global phase)."""

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.circuit import qasm
from hqml.testing import equal_up_to_phase

qiskit = pytest.importorskip("qiskit")
from qiskit import qasm2  # noqa: E402
from qiskit.circuit.random import random_circuit as qiskit_random_circuit  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402


def qiskit_state(qc) -> np.ndarray:
    """Qiskit's statevector in hqml's order (qubit 0 = most significant bit)."""
    n = qc.num_qubits
    return Statevector(qc).data.reshape([2] * n).transpose(list(range(n))[::-1]).reshape(-1)


def test_qiskit_random_circuits_read_by_hqml():
    seen: set[str] = set()
    for seed in range(60):
        n = 1 + seed % 6
        qc = qiskit_random_circuit(n, 5, max_operands=min(4, n), seed=seed)
        text = qasm2.dumps(qc)
        seen |= {line.split("(")[0].split(" ")[0] for line in text.splitlines()}
        c = qasm.loads(text)
        got = hqml.state(c, dtype=torch.complex128).numpy()
        assert equal_up_to_phase(got, qiskit_state(qc), atol=1e-9), text
    assert {"gate", "u2", "cu3", "rccx", "c3sqrtx", "cu"} <= seen  # definitions, exotic gates


def test_qiskit_qasm3_exports_read_by_hqml():
    from qiskit import qasm3

    for seed in range(30):
        n = 1 + seed % 5
        qc = qiskit_random_circuit(
            n, 4, max_operands=min(3, n), seed=100 + seed, measure=seed % 2 == 0
        )
        c, meas = qasm.loads(qasm3.dumps(qc), return_measurements=True)
        assert meas == ({i: i for i in range(n)} if seed % 2 == 0 else {})
        qc.remove_final_measurements()
        got = hqml.state(c, dtype=torch.complex128).numpy()
        assert equal_up_to_phase(got, qiskit_state(qc), atol=1e-9), seed


def test_hqml_exports_read_by_qiskit():
    rng = np.random.default_rng(21)
    for trial in range(25):
        n = 1 + trial % 5
        c = random_circuit(rng, n, 10)
        bound = c.bind(inputs={"x": rng.uniform(-2, 2, 3)}, weights={"w": rng.uniform(-2, 2, 4)})
        text = qasm.dumps(bound, version=2)
        want = hqml.state(bound, dtype=torch.complex128).numpy()
        for custom in ((), qasm2.LEGACY_CUSTOM_INSTRUCTIONS):  # strict and Qiskit's own qelib1
            qc = qasm2.loads(text, custom_instructions=custom)
            assert equal_up_to_phase(qiskit_state(qc), want, atol=1e-9), text


def test_expectation_values_agree_with_qiskit():
    """Z(i) on hqml's wire i is Z on Qiskit's qubit i."""
    from qiskit.quantum_info import SparsePauliOp

    qc = qiskit_random_circuit(4, 6, max_operands=3, seed=99)
    c = qasm.loads(qasm2.dumps(qc))
    ours = hqml.expval(c, [hqml.Z(i) for i in range(4)], dtype=torch.complex128).numpy()
    sv = Statevector(qc)
    theirs = [
        sv.expectation_value(SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], 4)).real
        for i in range(4)
    ]
    assert np.allclose(ours, theirs, atol=1e-9)


def test_hqml_qasm3_read_by_qiskit():
    pytest.importorskip("qiskit_qasm3_import")
    from qiskit import qasm3

    rng = np.random.default_rng(8)
    for trial in range(10):
        n = 2 + trial % 3
        c = random_circuit(rng, n, 8)
        bound = c.bind(inputs={"x": rng.uniform(-2, 2, 3)}, weights={"w": rng.uniform(-2, 2, 4)})
        qc = qasm3.loads(qasm.dumps(bound, version=3))
        want = hqml.state(bound, dtype=torch.complex128).numpy()
        assert equal_up_to_phase(qiskit_state(qc), want, atol=1e-9)
