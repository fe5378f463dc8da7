"""Dynamic circuits on provider backends: ``qiskit:`` sends them as Qiskit dynamic circuits
(same-named registers, ``reset``, ``if_test``/else) and returns hqml's record layout; sampled
distributions agree with hqml's density-matrix probabilities within 4 standard errors; devices
without control flow, Braket and PennyLane refuse in one line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hqml
from hqml.backends.base import Sample, Task
from hqml.backends.dynamic_density import record_densities
from hqml.backends.providers import UnsupportedRequest
from hqml.backends.registry import get_backend
from hqml.circuit.dynamic import Condition
from hqml.circuit.params import bind_parameters
from hqml.sim import density

pytest.importorskip("qiskit_ibm_runtime", reason="needs the hardware extra")
pytest.importorskip("qiskit_aer", reason="needs the hardware extra")
from dynamic_helpers import build, exact_counts_probs, random_spec, within  # noqa: E402

from hqml.backends.providers.qiskit import QiskitBackend  # noqa: E402
from hqml.backends.providers.qiskit_circuits import to_qiskit  # noqa: E402

AER = "qiskit:aer_simulator"
SHOTS = 20_000
C128 = torch.complex128


def dm_joint(c: hqml.Circuit, wires: list[int]) -> dict[str, float]:
    """P(record, final readout of ``wires``) from hqml's density-matrix records, keyed as
    Qiskit prints a one-register record ("c[m-1]..c[0]"), a space, the readout in wire order."""
    b = bind_parameters(c, None, None, torch.float64, None)
    recs = record_densities(Task(c, b.theta, Sample(tuple(wires)), C128))
    m, k = len(c.clbits), len(wires)
    out = {}
    for key, rho in recs.items():
        p = density.probabilities(rho, c.n_qubits, wires)[0]
        for i, v in enumerate(p.tolist()):
            out[f"{key:0{m}b} {i:0{k}b}"] = v
    return out


def teleportation(theta: float, phi: float):
    return build(3, 2, [
        ("ry", theta, 0), ("rz", phi, 0),
        ("h", 1), ("cx", 1, 2), ("cx", 0, 1), ("h", 0),
        ("measure", 0, 0), ("measure", 1, 1),
        ("if", 1, 1, [("x", 2)]), ("if", 0, 1, [("z", 2)]),
    ])  # fmt: skip


def bit_flip_round(theta: float, eps: float):
    return build(5, 2, [
        ("ry", theta, 0), ("cx", 0, 1), ("cx", 0, 2), ("rx", eps, 1),
        ("cx", 0, 3), ("cx", 1, 3), ("cx", 1, 4), ("cx", 2, 4),
        ("measure", 3, 0), ("measure", 4, 1),
        ("if", "c", 1, [("x", 0)]), ("if", "c", 3, [("x", 1)]), ("if", "c", 2, [("x", 2)]),
    ])  # fmt: skip


def test_teleportation_on_aer_within_standard_errors():
    c, _ = teleportation(1.1, 0.4)
    got = hqml.counts(c, SHOTS, [2], backend=AER, seed=3)
    exact = dm_joint(c, [2])
    within(got, exact, SHOTS)
    # the teleported qubit: P(1) = sin^2(theta/2) whatever the record
    p1 = sum(v for k, v in got.items() if k.endswith("1")) / SHOTS
    assert abs(p1 - math.sin(0.55) ** 2) < 4 * math.sqrt(0.25 / SHOTS)


def test_bit_flip_round_on_aer_corrects_the_error():
    c, _ = bit_flip_round(0.9, 0.7)
    got = hqml.counts(c, SHOTS, [0, 1, 2], backend=AER, seed=5)
    exact = dm_joint(c, [0, 1, 2])
    within(got, exact, SHOTS)
    # after the correction the code word is 000 or 111 only
    assert {k.split()[1] for k in got} <= {"000", "111"}


@pytest.mark.parametrize("seed", [0, 1])
def test_random_dynamic_circuits_on_aer(seed):
    rng = np.random.default_rng(seed)
    c, qc = build(3, 2, random_spec(rng, 3, 2, 2))
    within(hqml.counts(c, SHOTS, backend=AER, seed=seed), exact_counts_probs(qc), SHOTS)


def layout_circuit() -> hqml.Circuit:
    """Deterministic records in two registers, an else block, a "!=" and a register condition;
    input x in {0, pi} flips wire 0, so each row has its own record."""
    c = hqml.Circuit(3)
    x = c.input("x")
    a, b = c.creg("a", 1), c.creg("b", 2)
    c.rx(x, 0).x(1)
    c.measure(0, b[1])  # x
    c.measure(1, a[0])  # 1
    c.cond(b == 2, lambda: c.x(2), lambda: c.h(2).h(2))  # if/else on a register: wire 2 = x
    c.reset(1)
    c.cond(a[0] != 1, lambda: c.x(1))  # never holds: wire 1 stays 0
    c.measure(2, b[0])  # x
    c.cond(b != 3, lambda: c.x(0))  # holds when x = 0: wire 0 ends 1 for both rows
    return c


def test_record_layout_equals_the_statevector_sampler():
    c = layout_circuit()
    xs = {"x": torch.tensor([0.0, math.pi], dtype=torch.float64)}
    for wires in (None, [0, 2, 1]):
        got = hqml.sample(c, 50, wires, inputs=xs, backend=AER, seed=1)
        ref = hqml.sample(c, 50, wires, inputs=xs, backend="statevector", seed=1)
        assert got.shape == ref.shape == (2, 50, 3 + (3 if wires else 0))
        assert got.dtype == ref.dtype == torch.int64
        assert torch.equal(got, ref)
        # columns: a[0], b[0], b[1] (clbits order), then the readout
        assert got[1, 0, :3].tolist() == [1, 1, 1] and got[0, 0, :3].tolist() == [1, 0, 0]
    one = {"x": math.pi}
    assert hqml.counts(c, 20, [0, 1], inputs=one, backend=AER) == {"11 1 10": 20}
    assert hqml.counts(c, 20, [0, 1], inputs=one) == {"11 1 10": 20}


def test_qiskit_form_keeps_registers_and_control_flow():
    qc = to_qiskit(layout_circuit().bind(inputs={"x": 0.3}), (0,))
    assert [r.name for r in qc.cregs] == ["a", "b", "hqml_readout"]
    ifs = [i.operation for i in qc.data if i.operation.name == "if_else"]
    assert len(ifs) == 3
    assert ifs[0].blocks[1] is not None and ifs[0].condition[1] == 2  # b == 2, with else
    assert ifs[1].blocks[0].size() == 0 and ifs[1].blocks[1].size() == 1  # a[0] != 1
    assert sum(i.operation.name == "reset" for i in qc.data) == 1
    be = QiskitBackend("aer_simulator")
    task = Task(layout_circuit(), torch.zeros(2, 1, dtype=torch.float64), Sample((0,)))
    isa, _ = be._isa(task)
    assert isa.count_ops()["if_else"] == 3  # transpilation keeps the control flow


def test_expval_from_sampled_bases_within_standard_errors():
    c, _ = teleportation(1.1, 0.4)
    obs = [hqml.Z(2), hqml.X(2), 0.5 * hqml.Y(2) @ hqml.Z(0) + 0.25]
    got = hqml.expval(c, obs, backend=AER, shots=SHOTS, seed=7, dtype=C128)
    exact = hqml.expval(c, obs, backend="density_matrix", dtype=C128)
    assert abs(float(exact[1]) - math.sin(1.1) * math.cos(0.4)) < 1e-10  # teleported <X>
    for g, e, scale in zip(got.tolist(), exact.tolist(), (1, 1, 0.5), strict=True):
        assert abs(g - e) < 4 * scale / math.sqrt(SHOTS)
    # words correlated with the record, two measured bases (Z Z Y and X X Z)
    c = hqml.Circuit(3)
    m = c.ry(1.0, 0).cx(0, 1).ry(0.7, 2).measure(1)
    c.cond(m == 1, lambda: c.rx(0.9, 2))
    obs = [hqml.Z(0) @ hqml.Z(1), hqml.Z(1) @ hqml.Y(2), hqml.X(0) @ hqml.X(2) - hqml.Z(1)]
    got = hqml.expval(c, obs, backend=AER, shots=SHOTS, seed=8, dtype=C128)
    exact = hqml.expval(c, obs, backend="density_matrix", dtype=C128)
    assert abs(float(exact[1])) > 0.1 and abs(float(exact[0]) - 1) < 1e-10
    for g, e, scale in zip(got.tolist(), exact.tolist(), (1, 1, 2), strict=True):
        assert abs(g - e) < 4 * scale / math.sqrt(SHOTS)


def test_parameter_shift_through_a_dynamic_circuit_on_aer():
    c = hqml.Circuit(2)
    w = c.weight("w", (1,))
    m = c.ry(w[0], 0).measure(0)
    c.cond(m == 1, lambda: c.x(1))
    w0 = torch.tensor([0.8], dtype=torch.float64, requires_grad=True)
    val = hqml.expval(c, hqml.Z(1), weights={"w": w0}, backend=AER, shots=SHOTS, seed=2,
                      diff_method="parameter-shift")  # fmt: skip
    (g,) = torch.autograd.grad(val, w0)
    # <Z1> = cos(w): value and derivative -sin(w)
    assert abs(float(val.detach()) - math.cos(0.8)) < 4 / math.sqrt(SHOTS)
    assert abs(float(g) + math.sin(0.8)) < 4 / math.sqrt(SHOTS)


def test_exact_expval_of_a_dynamic_circuit_is_refused():
    c, _ = teleportation(1.1, 0.4)
    with pytest.raises(UnsupportedRequest, match="no exact expectation values.*shots=N"):
        hqml.expval(c, hqml.Z(2), backend=AER)


def test_a_condition_qiskit_cannot_read_is_refused_before_sending():
    c = hqml.Circuit(2)
    reg = c.creg("c", 3)
    c.measure(0, reg[0])
    c.measure(1, reg[2])
    c.cond(Condition((reg[0], reg[2]), 3), [hqml.Circuit(2).x(1).ops[0]])
    be = QiskitBackend("aer_simulator")
    with pytest.raises(UnsupportedRequest, match="one whole register") as err:
        hqml.sample(c, 10, backend=be)
    assert "\n" not in str(err.value) and be.ledger.calls == []


def test_capabilities_follow_the_target():
    assert QiskitBackend("aer_simulator").capabilities.dynamic
    assert QiskitBackend("fake_manila").capabilities.dynamic
    assert not QiskitBackend("fake_athens").capabilities.dynamic
    c, _ = teleportation(1.1, 0.4)
    bits = hqml.sample(c, 100, [2], backend="qiskit:fake_manila", seed=1)  # runs, noisy
    assert bits.shape == (100, 3) and set(bits.unique().tolist()) <= {0, 1}


@pytest.mark.parametrize(
    "name, extra", [("qiskit:fake_athens", "qiskit_aer"), ("braket:braket_sv", "braket")]
)
def test_devices_without_feed_forward_refuse_in_one_line(name, extra):
    pytest.importorskip(extra)
    c, _ = teleportation(1.1, 0.4)
    with pytest.raises(ValueError) as err:
        hqml.sample(c, 10, [2], backend=name)
    msg = str(err.value)
    assert "\n" not in msg and name in msg and "cannot run dynamic circuits" in msg
    assert "qiskit:aer_simulator" in msg and "density_matrix" in msg
    assert name.startswith("qiskit") or "pennylane:default.qubit" in msg
    be = get_backend(name)
    b = bind_parameters(c, None, None, torch.float64, None)
    with pytest.raises(UnsupportedRequest, match="cannot run dynamic circuits"):
        be.execute([Task(c, b.theta, Sample((2,)), C128, shots=10)])


PL = "pennylane:default.qubit"


def test_pennylane_records_and_counts():
    pytest.importorskip("pennylane")
    c = layout_circuit()
    xs = {"x": torch.tensor([0.0, math.pi], dtype=torch.float64)}
    for wires in (None, [0, 2, 1]):
        got = hqml.sample(c, 50, wires, inputs=xs, backend=PL, seed=1)
        ref = hqml.sample(c, 50, wires, inputs=xs, backend="statevector", seed=1)
        assert got.shape == ref.shape and torch.equal(got, ref)
    c, _ = teleportation(1.1, 0.4)
    shots = 4000  # PennyLane samples shot by shot: fewer shots, the same 4 standard errors
    within(hqml.counts(c, shots, [2], backend=PL, seed=3), dm_joint(c, [2]), shots)


@pytest.mark.parametrize("seed", [0, 1])
def test_pennylane_exact_expval_equals_the_density_matrix(seed):
    pytest.importorskip("pennylane")
    c, _ = build(3, 2, random_spec(np.random.default_rng(seed), 3, 2, 2))
    obs = [hqml.Z(0), hqml.X(1) @ hqml.Z(2), 0.5 * hqml.Y(2) - hqml.Z(0) @ hqml.Z(1)]
    got = hqml.expval(c, obs, backend=PL, dtype=C128)
    exact = hqml.expval(c, obs, backend="density_matrix", dtype=C128)
    assert torch.allclose(got, exact, atol=1e-10)
