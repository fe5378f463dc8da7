"""Agreement with Qiskit Aer's density-matrix simulator under the same noise model."""

import numpy as np
import pytest
import torch

import hqml
from hqml.noise import NoiseModel, ReadoutError, amplitude_damping, depolarizing, thermal_relaxation

qiskit = pytest.importorskip("qiskit", reason="needs the qiskit extra")
aer = pytest.importorskip("qiskit_aer", reason="needs the qiskit extra (qiskit-aer)")
from qiskit_aer import noise as aer_noise  # noqa: E402

GATES = [
    ("h", [0]),
    ("rx", [1], 0.7),
    ("cx", [0, 1]),
    ("ry", [2], -1.1),
    ("cx", [1, 2]),
    ("rz", [0], 0.4),
    ("cz", [2, 0]),
    ("rx", [2], 2.1),
    ("cx", [2, 1]),
    ("h", [1]),
]


def build_both():
    c = hqml.Circuit(3)
    qc = qiskit.QuantumCircuit(3)
    for name, wires, *params in GATES:
        c.append(name, wires, params)
        getattr(qc, name)(*params, *wires)
    return c, qc


def aer_model():
    nm = aer_noise.NoiseModel()
    nm.add_all_qubit_quantum_error(aer_noise.depolarizing_error(0.04, 1), ["h", "rx", "ry", "rz"])
    nm.add_all_qubit_quantum_error(aer_noise.depolarizing_error(0.08, 2), ["cx"])
    damp = aer_noise.amplitude_damping_error(0.1).tensor(
        aer_noise.thermal_relaxation_error(30, 20, 4)
    )
    nm.add_quantum_error(damp, ["cz"], [2, 0])  # a non-symmetric two-qubit error on given qubits
    nm.add_quantum_error(aer_noise.thermal_relaxation_error(30, 25, 6), ["rx"], [1])
    nm.add_all_qubit_readout_error(aer_noise.ReadoutError([[0.96, 0.04], [0.1, 0.9]]))
    nm.add_readout_error(aer_noise.ReadoutError([[0.9, 0.1], [0.02, 0.98]]), [2])
    return nm


def native_model():
    """The same model written with hqml's own constructors."""
    lam1, lam2 = 0.04, 0.08
    return (
        NoiseModel()
        .add_channel(depolarizing(lam1 * 3 / 4), gates=["h", "rx", "ry", "rz"])
        .add_channel(depolarizing(lam2 * 15 / 16, 2), gates=["cx"])
        # Qiskit's a.tensor(b): b on the error's qubit 0 (= the gate's first wire)
        .add_channel(
            thermal_relaxation(30, 20, 4).tensor(amplitude_damping(0.1)), gates=["cz"], wires=[2, 0]
        )
        .add_channel(thermal_relaxation(30, 25, 6), gates=["rx"], wires=[1])
        .add_readout_error(ReadoutError([[0.96, 0.04], [0.1, 0.9]]))
        .add_readout_error(ReadoutError([[0.9, 0.1], [0.02, 0.98]]), wires=[2])
    )


def aer_density(qc, nm):
    sim = aer.AerSimulator(method="density_matrix", noise_model=nm)
    qc = qc.copy()
    qc.save_density_matrix()
    rho = np.asarray(
        sim.run(qiskit.transpile(qc, sim, optimization_level=0)).result().data()["density_matrix"]
    )
    # Qiskit indexes qubit 0 as the least significant bit; hqml as the most significant
    n = qc.num_qubits
    order = list(range(n - 1, -1, -1))
    return rho.reshape((2,) * 2 * n).transpose(order + [n + i for i in order]).reshape(2**n, 2**n)


def test_converted_model_equals_native_model():
    conv = NoiseModel.from_qiskit(aer_model())
    native = native_model()
    for name, wires in [
        ("h", (0,)),
        ("rx", (1,)),
        ("rx", (2,)),
        ("cx", (0, 1)),
        ("cz", (2, 0)),
        ("cz", (0, 1)),
    ]:
        a, b = conv.channels_for(name, wires), native.channels_for(name, wires)
        assert [w for _, w in a] == [w for _, w in b]
        assert all(x == y for (x, _), (y, _) in zip(a, b, strict=True)), (name, wires)
    for w in range(3):
        np.testing.assert_allclose(conv.confusions([w])[0], native.confusions([w])[0])


def test_density_matrix_agrees_with_aer():
    c, qc = build_both()
    nm_aer = aer_model()
    nm = NoiseModel.from_qiskit(nm_aer)
    rho = hqml.state(c, backend="density_matrix", noise_model=nm, dtype=torch.complex128).numpy()
    np.testing.assert_allclose(rho, aer_density(qc, nm_aer), atol=1e-10)
    z = hqml.expval(
        c,
        [hqml.Z(0) @ hqml.Z(1), hqml.X(2)],
        backend="density_matrix",
        noise_model=native_model(),
        dtype=torch.complex128,
    )
    assert z.shape == (2,)


def test_readout_errors_agree_with_aer_counts():
    c, qc = build_both()
    nm_aer = aer_model()
    p = hqml.probs(
        c,
        backend="density_matrix",
        noise_model=NoiseModel.from_qiskit(nm_aer),
        dtype=torch.complex128,
    ).numpy()
    qc.measure_all()
    shots = 20000
    sim = aer.AerSimulator(method="density_matrix", noise_model=nm_aer, seed_simulator=4)
    counts = (
        sim.run(qiskit.transpile(qc, sim, optimization_level=0), shots=shots).result().get_counts()
    )
    freq = np.zeros(8)
    for key, v in counts.items():
        freq[int(key[::-1], 2)] += v / shots  # Qiskit prints qubit 0 last
    sigma = np.sqrt(p * (1 - p) / shots)
    assert (np.abs(freq - p) < 5 * sigma + 1e-3).all(), (freq, p)
