"""hqml's CountsSampler (local Qiskit devices: Aer's counts with ``parameter_binds``): its bits
are Qiskit's layout, its frequencies are the exact Born probabilities (Aer, no noise) and
Qiskit's ``BackendSamplerV2`` on a noisy fake device within 4 standard errors, and
QiskitBackend uses it for local samples."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime", reason="needs the hardware extra")
pytest.importorskip("qiskit_aer", reason="needs the hardware extra")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.primitives import BackendSamplerV2  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402

from hqml.backends.providers.qiskit import QiskitBackend, fake_device  # noqa: E402
from hqml.backends.providers.qiskit_sampler import CountsSampler  # noqa: E402

SHOTS = 2000


def _rx_pair() -> tuple[QuantumCircuit, Parameter, Parameter]:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2, 2)
    qc.rx(a, 0)
    qc.rx(b, 1)
    qc.measure([0, 1], [0, 1])
    return qc, a, b


def test_bits_follow_qiskits_clbit_order_and_pub_shapes():
    qc = QuantumCircuit(3, 3)
    qc.x(1)
    qc.measure([0, 1, 2], [0, 1, 2])
    res = CountsSampler(AerSimulator(), seed=1).run([(qc, None, 7)]).result()
    bits = res[0].data.c.to_bool_array(order="little")
    assert bits.shape == (7, 3) and (bits == [False, True, False]).all()
    wide = QuantumCircuit(10, 10)  # two bytes per shot
    wide.x([0, 9])
    wide.measure(range(10), range(10))
    res = CountsSampler(AerSimulator(), seed=1).run([(wide, None, 3)]).result()
    assert (res[0].data.c.to_bool_array(order="little") == np.isin(range(10), [0, 9])).all()
    assert res[0].data.c.get_counts() == {"1000000001": 3}
    pqc, _, _ = _rx_pair()
    values = np.zeros((2, 3, 2))
    values[1, :, 1] = np.pi  # the second row flips qubit 1
    out = CountsSampler(AerSimulator(), seed=1).run([(pqc, values, 5)]).result()[0].data.c
    assert out.shape == (2, 3) and out.num_shots == 5
    little = out.to_bool_array(order="little")
    assert not little[0].any() and (little[1] == [False, True]).all()


def test_frequencies_are_the_born_probabilities_and_shots_are_unordered():
    qc, _, _ = _rx_pair()
    theta = np.array([[0.3, 1.1], [2.0, 0.4], [np.pi / 2, np.pi / 2]])
    res = CountsSampler(AerSimulator(), seed=5).run([(qc, theta, SHOTS)]).result()
    bits = res[0].data.c.to_bool_array(order="little")
    p1 = np.sin(theta / 2) ** 2  # P(qubit k reads 1) = sin^2(theta_k / 2), independent qubits
    for want, got in ((p1[:, 0], bits[..., 0]), (p1[:, 1], bits[..., 1])):
        se = np.sqrt(want * (1 - want) / SHOTS)
        assert (np.abs(got.mean(-1) - want) <= 4 * se).all()
    # the shots of a row come in a random order, not grouped by outcome as counts are
    row = bits[2].astype(int) @ [1, 2]
    assert (np.diff(row) != 0).sum() > SHOTS // 4


def test_noisy_frequencies_agree_with_backend_sampler_v2_and_repeat_with_a_seed():
    dev = fake_device("fake_manila")
    qc = QuantumCircuit(QuantumRegister(5), ClassicalRegister(2, "meas"))
    a = Parameter("a")
    qc.rx(a, 0)
    qc.cx(0, 1)
    qc.rx(-a, 0)
    qc.measure([0, 1], [0, 1])
    theta = np.linspace(0.2, 2.5, 6)[:, None]
    ours = CountsSampler(dev, seed=11).run([(qc, theta, SHOTS)]).result()[0].data.meas
    again = CountsSampler(dev, seed=11).run([(qc, theta, SHOTS)]).result()[0].data.meas
    assert ours == again
    ref = BackendSamplerV2(backend=dev, options={"seed_simulator": 13})
    theirs = ref.run([(qc, theta, SHOTS)]).result()[0].data.meas
    p, q = ((b.to_bool_array().sum(-1) == 0).mean(-1) for b in (ours, theirs))
    m = np.clip((p + q) / 2, 1.0 / SHOTS, 1 - 1.0 / SHOTS)
    assert (np.abs(p - q) <= 4 * np.sqrt(2 * m * (1 - m) / SHOTS)).all()


def test_a_failed_simulation_is_an_error_not_empty_samples():
    qc = QuantumCircuit(40, 40)  # a 40-qubit statevector does not fit in memory
    qc.h(range(40))
    qc.measure(range(40), range(40))
    with pytest.raises(RuntimeError, match="Insufficient memory"):
        CountsSampler(AerSimulator(method="statevector"), seed=1).run([(qc, None, 3)]).result()


def test_local_samples_use_it_and_two_registers_are_refused():
    qc = QuantumCircuit(QuantumRegister(1), ClassicalRegister(1, "a"), ClassicalRegister(1, "b"))
    qc.measure(0, 0)
    qc.measure(0, 1)
    with pytest.raises(ValueError, match="one register"):
        CountsSampler(AerSimulator()).run([(qc, None, 4)])
    be = QiskitBackend("fake_manila", shots=10, seed=1)
    one, _, _ = _rx_pair()
    assert isinstance(be._primitive((True, False), 1, None, [one]), CountsSampler)
    assert isinstance(be._primitive((True, False), 1, None, [qc]), BackendSamplerV2)
