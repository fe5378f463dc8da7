"""OpenQASM 2 and 3 import of hand-written programs, checked against dense matrices written here."""

import math

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit import qasm
from hqml.testing import embed_matrix, equal_up_to_phase

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1, -1]).astype(complex)
H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
S = np.diag([1, 1j])
T = np.diag([1, np.exp(1j * math.pi / 4)])
SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2


def rx(t):
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


def ry(t):
    return np.array(
        [[math.cos(t / 2), -math.sin(t / 2)], [math.sin(t / 2), math.cos(t / 2)]], dtype=complex
    )


def rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def phase(t):
    return np.diag([1, np.exp(1j * t)])


def u3(t, p, lam):
    return np.array(
        [
            [math.cos(t / 2), -np.exp(1j * lam) * math.sin(t / 2)],
            [np.exp(1j * p) * math.sin(t / 2), np.exp(1j * (p + lam)) * math.cos(t / 2)],
        ]
    )


def ctrl(m, k=1):
    d = m.shape[0] * 2**k
    out = np.eye(d, dtype=complex)
    out[d - m.shape[0] :, d - m.shape[0] :] = m
    return out


def run(ops, n):
    """State after ``ops`` = [(matrix, wires)] from |0...0>."""
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    for m, wires in ops:
        psi = embed_matrix(m, wires, n) @ psi
    return psi


def state_of(c, **kw):
    return hqml.state(c, dtype=torch.complex128, **kw).numpy()


QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
// two registers become wires a[0]=0, a[1]=1, b[0]=2
qreg a[2];
qreg b[1];
creg c[2];
creg d[1];
gate mygate(theta, phi) x, y { rx(theta/2) x; cx x, y; u1(phi^2 - pi) y; }
gate outer(t) p, q, r { mygate(t, -t) p, q; h r; mygate(2*t, sin(t)) r, p; }
h a;
cx a, b[0];
outer(0.3) a[0], a[1], b[0];
barrier a, b;
u2(0.2, -0.4) b[0];
cu(0.5, 0.1, -0.3, 0.7) a[1], b[0];
U(1.1, 0.2, 0.3) a[0];
measure a -> c;
measure b[0] -> d[0];
"""


def test_qasm2_registers_broadcast_definitions_expressions_measure():
    c, meas = qasm.loads(QASM2, return_measurements=True)
    assert c.n_qubits == 3
    assert meas == {0: 0, 1: 1, 2: 2}

    def mygate(theta, phi, x, y):
        return [(rx(theta / 2), [x]), (ctrl(X), [x, y]), (phase(phi**2 - math.pi), [y])]

    t = 0.3
    ops = [(H, [0]), (H, [1]), (ctrl(X), [0, 2]), (ctrl(X), [1, 2])]
    ops += mygate(t, -t, 0, 1) + [(H, [2])] + mygate(2 * t, math.sin(t), 2, 0)
    ops += [(u3(math.pi / 2, 0.2, -0.4), [2]), (ctrl(np.exp(0.7j) * u3(0.5, 0.1, -0.3)), [1, 2])]
    ops += [(u3(1.1, 0.2, 0.3), [0])]
    assert equal_up_to_phase(state_of(c), run(ops, 3), atol=1e-10)


QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
const float[64] half = pi / 2;
qubit[2] q;
qubit r;
bit[3] c;
gate g(a) s, t { ctrl @ rz(a) s, t; gphase(a / 4); }
h q[0];
ctrl @ g(theta) q[0], q[1], r;
negctrl @ x q[1], r;
inv @ s q[1];
pow(2) @ t r;
pow(0.5) @ x q[0];
ctrl(2) @ ry(half) q[0], r, q[1];
rx(theta ** 2 / 3) r;
c[0] = measure q[0];
measure r -> c[2];
"""


def test_qasm3_modifiers_inputs_consts_gphase():
    c, meas = qasm.loads(QASM3, return_measurements=True)
    assert meas == {0: 0, 2: 2}
    assert list(c.inputs) == ["theta"] and c.inputs["theta"].shape == ()
    theta = 0.83
    ops = [
        (H, [0]),
        (ctrl(rz(theta), 2), [0, 1, 2]),
        (phase(theta / 4), [0]),  # ctrl @ gphase = phase
        (X, [1]),
        (ctrl(X), [1, 2]),
        (X, [1]),
        (S.conj().T, [1]),
        (T @ T, [2]),
        (SX, [0]),
        (ctrl(ry(math.pi / 2), 2), [0, 2, 1]),
        (rx(theta**2 / 3), [2]),
    ]
    want = run(ops, 3)
    got = state_of(c.bind(inputs={"theta": theta}))
    assert np.allclose(got, want, atol=1e-10)  # exact, global phase included
    # the input stays symbolic: a batch of values gives a batch of states
    batch = hqml.state(
        c, inputs={"theta": torch.tensor([theta, 0.1], dtype=torch.float64)}, dtype=torch.complex128
    )
    assert batch.shape == (2, 8) and np.allclose(batch[0].numpy(), want, atol=1e-10)


def test_qasm3_standard_gate_semantics_and_physical_qubits():
    text = """OPENQASM 3;
    include "stdgates.inc";
    U(0.4, 0.5, 0.6) $0;
    u3(0.4, 0.5, 0.6) $1;
    cu(0.5, 0.1, -0.3, 0.7) $0, $1;
    cphase(0.3) $1, $0;
    u1(0.2) $1;
    id $0;
    """
    c = qasm.loads(text)
    ops = [
        (u3(0.4, 0.5, 0.6), [0]),
        (u3(0.4, 0.5, 0.6), [1]),
        (ctrl(np.exp(0.7j) * u3(0.5, 0.1, -0.3)), [0, 1]),
        (ctrl(phase(0.3)), [1, 0]),
        (phase(0.2), [1]),
    ]
    assert np.allclose(state_of(c), run(ops, 2), atol=1e-10)


def test_user_definition_of_a_standard_name_is_respected():
    # a definition that is NOT the standard gate wins over the standard meaning
    text = 'OPENQASM 2.0;\ninclude "qelib1.inc";\ngate sx a { h a; }\nqreg q[1];\nsx q[0];\n'
    assert equal_up_to_phase(state_of(qasm.loads(text)), H[:, 0])
    # one that is the standard gate (up to global phase in QASM 2) keeps the native gate
    text = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\ngate sx a { sdg a; h a; sdg a; }\n'
        "qreg q[1];\nsx q[0];\n"
    )
    assert qasm.loads(text).count_ops() == {"sx": 1}


def test_relative_phase_toffoli_from_qelib1_and_multi_controlled():
    text = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[5];\nh q;\nrccx q[0],q[1],q[2];\n'
        "c3x q[0],q[1],q[2],q[3];\nc3sqrtx q[1],q[2],q[3],q[4];\n"
        "c4x q[4],q[3],q[2],q[1],q[0];\n"
    )
    c = qasm.loads(text)
    a, b, t, q4 = 0, 1, 2, 4  # rccx as qelib1.inc defines it (u2(0,pi) = H, u1 = phase)
    rccx = [
        (H, [t]),
        (phase(math.pi / 4), [t]),
        (ctrl(X), [b, t]),
        (phase(-math.pi / 4), [t]),
        (ctrl(X), [a, t]),
        (phase(math.pi / 4), [t]),
        (ctrl(X), [b, t]),
        (phase(-math.pi / 4), [t]),
        (H, [t]),
    ]
    ops = (
        [(H, [w]) for w in range(5)]
        + rccx
        + [(ctrl(X, 3), [0, 1, 2, 3]), (ctrl(SX, 3), [1, 2, 3, q4]), (ctrl(X, 4), [4, 3, 2, 1, 0])]
    )
    assert equal_up_to_phase(state_of(c), run(ops, 5), atol=1e-10)


def test_load_and_dump_files(tmp_path):
    c = hqml.Circuit(2)
    c.h(0).cx(0, 1).rz(0.5, 1)
    path = tmp_path / "bell.qasm"
    qasm.dump(c, path, version=2)
    assert qasm.load(path) == c
    qasm.dump(c, path, version=3)
    assert qasm.load(path) == c


@pytest.mark.parametrize("version", [2, 3])
def test_comments_and_whitespace(version):
    head = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];'
        if version == 2
        else 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;'
    )
    text = head + "\n/* block\n comment */ rx( pi / 4 ) // trailing\n q [ 0 ] ;\n"
    c = qasm.loads(text)
    assert np.allclose(state_of(c), rx(math.pi / 4)[:, 0], atol=1e-12)


def test_modifiers_on_user_gates_with_symbolic_inputs():
    text = """OPENQASM 3.0;
    include "stdgates.inc";
    input float[64] a;
    qubit[3] q;
    gate mg(t) x, y { ry(t) x; cx x, y; rz(2 * t) y; }
    h q;
    ctrl @ mg(a) q[2], q[0], q[1];
    inv @ mg(a / 3) q[1], q[2];
    negctrl(2) @ inv @ rx(a) q[0], q[1], q[2];
    pow(-2) @ mg(0.4) q[0], q[2];
    """
    c = qasm.loads(text)
    a = -0.61

    def mg(t, x, y):
        return [(ry(t), [x]), (ctrl(X), [x, y]), (rz(2 * t), [y])]

    def dense(ops):
        m = np.eye(8, dtype=complex)
        for g, w in ops:
            m = embed_matrix(g, w, 3) @ m
        return m

    ops = [(H, [0]), (H, [1]), (H, [2])]
    ops += [(ctrl(g, 1), [2] + w) for g, w in mg(a, 0, 1)]
    ops += [(dense(mg(a / 3, 1, 2)).conj().T, [0, 1, 2])]
    ops += [(X, [0]), (X, [1]), (ctrl(rx(-a), 2), [0, 1, 2]), (X, [0]), (X, [1])]
    inv = dense(mg(0.4, 0, 2)).conj().T
    ops += [(inv @ inv, [0, 1, 2])]
    got = state_of(c.bind(inputs={"a": a}))
    assert np.allclose(got, run(ops, 3), atol=1e-10)


def test_braket_dialect_names():
    text = """OPENQASM 3.0;
    bit[2] b;
    i $0;
    v $0;
    phaseshift(0.3) $1;
    cnot $0, $1;
    cphaseshift(0.2) $1, $0;
    xx(0.4) $0, $1;
    yy(0.5) $0, $1;
    zz(0.6) $1, $0;
    vi $1;
    b[0] = measure $0;
    b[1] = measure $1;
    """
    c, meas = qasm.loads(text, return_measurements=True)
    assert meas == {0: 0, 1: 1}
    assert [op.gate.name for op in c.ops] == [
        "id",
        "sx",
        "p",
        "cx",
        "cp",
        "rxx",
        "ryy",
        "rzz",
        "sxdg",
    ]
