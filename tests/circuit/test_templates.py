"""Every template against an independent dense construction (NumPy matrices written here)."""

import itertools
import math

import numpy as np
import pytest
import torch

from hqml.circuit.params import bind_parameters
from hqml.circuit.templates import (
    amplitude_angles,
    amplitude_encoding,
    amplitude_encoding_angles,
    angle_encoding,
    basis_encoding,
    data_reuploading,
    hardware_efficient,
    identity_blocks,
    iqp_encoding,
    strongly_entangling,
    tree_tensor_network,
    zz_feature_map,
)
from hqml.execute import state

I2 = np.eye(2)
H = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Z = np.diag([1.0, -1.0]).astype(complex)


def rx(t):
    return np.array(
        [[math.cos(t / 2), -1j * math.sin(t / 2)], [-1j * math.sin(t / 2), math.cos(t / 2)]]
    )


def ry(t):
    return np.array(
        [[math.cos(t / 2), -math.sin(t / 2)], [math.sin(t / 2), math.cos(t / 2)]], dtype=complex
    )


def rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def phase(t):
    return np.diag([1, np.exp(1j * t)])


def on(n, gates):
    """Kronecker product of one-qubit matrices given as {wire: matrix} (wire 0 leftmost)."""
    out = np.eye(1)
    for q in range(n):
        out = np.kron(out, gates.get(q, I2))
    return out


def controlled(n, control, target, u):
    p0, p1 = np.diag([1, 0]), np.diag([0, 1])
    return on(n, {control: p0}) + on(n, {control: p1, target: u})


def zz_diag(n, i, j, t):
    """exp(-i t/2 Z_i Z_j) as a dense matrix."""
    zz = on(n, {i: Z, j: Z})
    return np.diag(np.exp(-0.5j * t * np.diag(zz)))


def run(c, x=None, w=None):
    inputs = {"x": torch.as_tensor(x, dtype=torch.float64)} if x is not None else None
    weights = {"w": torch.as_tensor(w, dtype=torch.float64)} if w is not None else None
    return state(c, inputs=inputs, weights=weights, dtype=torch.complex128).numpy()


def zero(n):
    v = np.zeros(2**n, dtype=complex)
    v[0] = 1
    return v


@pytest.mark.parametrize("rotation,mat", [("x", rx), ("y", ry), ("z", rz)])
def test_angle_encoding(rotation, mat, rng):
    x = rng.uniform(-3, 3, 3)
    want = on(3, {q: mat(x[q]) for q in range(3)}) @ zero(3)
    assert np.allclose(run(angle_encoding(3, rotation), x), want)


def test_basis_encoding_is_exact_basis_state():
    for bits in itertools.product([0, 1], repeat=3):
        want = np.zeros(8)
        want[int("".join(map(str, bits)), 2)] = 1
        assert np.allclose(
            run(basis_encoding(3), np.array(bits, dtype=float)), want
        )  # phase included


@pytest.mark.parametrize("entanglement", ["full", "linear", "circular"])
def test_zz_feature_map_dense(entanglement, rng):
    n, reps = 3, 2
    x = rng.uniform(0, 2, n)
    pairs = {
        "full": [(0, 1), (0, 2), (1, 2)],
        "linear": [(0, 1), (1, 2)],
        "circular": [(2, 0), (0, 1), (1, 2)],
    }[entanglement]
    u = np.eye(2**n)
    for _ in range(reps):
        u = on(n, {q: H for q in range(n)}) @ u
        u = on(n, {q: phase(2 * x[q]) for q in range(n)}) @ u
        for i, j in pairs:
            cx = controlled(n, i, j, X)
            u = cx @ on(n, {j: phase(2 * (math.pi - x[i]) * (math.pi - x[j]))}) @ cx @ u
    assert np.allclose(run(zz_feature_map(n, reps, entanglement), x), u @ zero(n))


def test_zz_feature_map_matches_qiskit(rng):
    qiskit = pytest.importorskip("qiskit")
    from qiskit.circuit.library import zz_feature_map as qiskit_zz_feature_map
    from qiskit.quantum_info import Statevector

    n = 3
    x = rng.uniform(0, 2, n)
    qc = qiskit_zz_feature_map(n, reps=2, entanglement="full").assign_parameters(x)
    sv = (
        Statevector(qc).data.reshape([2] * n).transpose(list(range(n))[::-1]).ravel()
    )  # to wire 0 = MSB
    assert qiskit is not None
    assert np.allclose(run(zz_feature_map(n, 2, "full"), x), sv)


def test_iqp_encoding_dense(rng):
    n = 3
    x = rng.uniform(-1, 1, n)
    u = np.eye(2**n)
    for _ in range(2):
        u = on(n, {q: rz(x[q]) for q in range(n)}) @ on(n, {q: H for q in range(n)}) @ u
        for i, j in [(0, 1), (0, 2), (1, 2)]:
            u = zz_diag(n, i, j, x[i] * x[j]) @ u
    assert np.allclose(run(iqp_encoding(n, reps=2), x), u @ zero(n))


@pytest.mark.parametrize("n,n_features", [(1, 2), (2, 4), (3, 8), (3, 5), (4, 16)])
def test_amplitude_encoding_prepares_normalised_vector(n, n_features, rng):
    x = rng.normal(size=(6, n_features))
    x[1, 0] = 0.0  # exact zeros must not break anything
    x[2, : n_features // 2] = 0.0
    got = run(amplitude_encoding(n, n_features), x)
    want = np.zeros((6, 2**n))
    want[:, :n_features] = x / np.linalg.norm(x, axis=1, keepdims=True)
    for g, v in zip(got, want, strict=True):
        ph = g[np.argmax(np.abs(v))] / v[np.argmax(np.abs(v))]
        assert abs(abs(ph) - 1) < 1e-9 and np.allclose(g, ph * v, atol=1e-9)


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("n,n_features", [(1, 1), (1, 2), (2, 3), (3, 8), (3, 5), (4, 16)])
def test_amplitude_angles_are_the_symbolic_encodings_gate_angles(n, n_features, signed, rng):
    x = torch.tensor(rng.normal(size=(5, n_features)))
    if n_features > 1:  # exact zeros (not a zero vector)
        x[1, 0] = 0.0
        x[2, : n_features // 2] = 0.0
    sym = amplitude_encoding(n, n_features, signed=signed)
    fast = amplitude_encoding_angles(n, n_features, input_name="x", signed=signed)
    assert [(op.gate.name, op.wires) for op in fast.ops] == [
        (op.gate.name, op.wires) for op in sym.ops
    ]
    theta = bind_parameters(sym, {"x": x}, {}).theta  # every gate angle, by the expressions
    angles = amplitude_angles(x, n, signed=signed)
    torch.testing.assert_close(angles, theta, atol=1e-12, rtol=0)
    got = run(fast, angles.numpy())
    want = np.zeros((5, 2**n))
    want[:, :n_features] = x.numpy() / np.linalg.norm(x.numpy(), axis=1, keepdims=True)
    if not signed:
        want = np.abs(want)
    for g, v in zip(got, want, strict=True):
        k = int(np.argmax(np.abs(v)))
        assert np.allclose(g, g[k] / v[k] * v, atol=1e-9) and abs(abs(g[k] / v[k]) - 1) < 1e-9
    # gradients reach the features through the torch angles, as through the expressions
    xg = x.clone().requires_grad_(True)
    amplitude_angles(xg, n, signed=signed).square().sum().backward()
    xs = x.clone().requires_grad_(True)
    bind_parameters(sym, {"x": xs}, {}).theta.square().sum().backward()
    torch.testing.assert_close(xg.grad, xs.grad, atol=1e-9, rtol=1e-9)  # 1e15 at exact zeros


def test_amplitude_encoding_unsigned_and_zero_vector(rng):
    x = rng.normal(size=(2, 4))
    x[1] = 0.0
    got = run(amplitude_encoding(2, signed=False), x)
    assert np.allclose(got[0], np.abs(x[0]) / np.linalg.norm(x[0]))
    assert np.allclose(got[1], zero(2))
    xg = torch.randn(3, 4, requires_grad=True)
    state(amplitude_encoding(2), inputs={"x": xg}).abs().sum().backward()
    assert torch.isfinite(xg.grad).all()


def test_amplitude_encoding_exports_to_qasm(rng):
    qasm = pytest.importorskip("hqml.circuit.qasm")  # OpenQASM I/O of the core engine
    if not hasattr(qasm, "loads"):
        pytest.skip("hqml.circuit.qasm has no dumps/loads yet")

    x = rng.normal(size=8)
    bound = amplitude_encoding(3).bind(inputs={"x": x})
    back = run(qasm.loads(qasm.dumps(bound, version=2)))
    v = x / np.linalg.norm(x)
    k = int(np.argmax(np.abs(v)))
    assert np.allclose(back, back[k] / v[k] * v, atol=1e-9)
    assert set(bound.count_ops()) <= {"ry", "rz", "cx"}


@pytest.mark.parametrize(
    "rotations,entangler", [(("ry", "rz"), "cx"), (("rx",), "cz"), (("rz", "ry", "rx"), "none")]
)
def test_hardware_efficient_dense(rotations, entangler, rng):
    n, layers = 3, 2
    w = rng.uniform(-3, 3, (layers, n, len(rotations)))
    mats = {"rx": rx, "ry": ry, "rz": rz}
    u = np.eye(2**n)
    for layer in range(layers):
        for k, r in enumerate(rotations):  # rotations on different wires commute
            u = on(n, {q: mats[r](w[layer, q, k]) for q in range(n)}) @ u
        for a in range(n - 1):
            if entangler != "none":
                u = controlled(n, a, a + 1, X if entangler == "cx" else Z) @ u
    assert np.allclose(run(hardware_efficient(n, layers, rotations, entangler), w=w), u @ zero(n))


@pytest.mark.parametrize("n", [1, 3, 4])
def test_strongly_entangling_dense(n, rng):
    layers = 3
    w = rng.uniform(-3, 3, (layers, n, 3))
    u = np.eye(2**n)
    for layer in range(layers):
        u = (
            on(
                n,
                {q: rz(w[layer, q, 2]) @ ry(w[layer, q, 1]) @ rz(w[layer, q, 0]) for q in range(n)},
            )
            @ u
        )
        if n > 1:
            r = layer % (n - 1) + 1
            for q in range(n):
                u = controlled(n, q, (q + r) % n, X) @ u
    assert np.allclose(run(strongly_entangling(n, layers), w=w), u @ zero(n))


def test_data_reuploading_dense(rng):
    n, layers, nf = 2, 3, 3
    x, w = rng.uniform(-2, 2, nf), rng.uniform(-3, 3, (layers, n, 3))
    cz = np.diag([1, 1, 1, -1])
    u = np.eye(4)
    for layer in range(layers):
        u = on(n, {0: ry(x[2]) @ ry(x[0]), 1: ry(x[1])}) @ u  # feature 2 wraps onto wire 0
        u = (
            on(
                n,
                {q: rz(w[layer, q, 2]) @ ry(w[layer, q, 1]) @ rz(w[layer, q, 0]) for q in range(n)},
            )
            @ u
        )
        u = cz @ u
    c = data_reuploading(n, layers, n_features=nf)
    got = state(c, inputs={"x": torch.tensor(x)}, weights={"w": torch.tensor(w)}).numpy()
    assert np.allclose(got, u @ zero(n))


def test_tree_tensor_network_dense(rng):
    n = 4
    w = rng.uniform(-3, 3, (3, 2))
    u = np.eye(16)
    for b, (a, c) in enumerate([(0, 1), (2, 3), (1, 3)]):
        u = controlled(n, a, c, X) @ on(n, {a: ry(w[b, 0]), c: ry(w[b, 1])}) @ u
    assert np.allclose(run(tree_tensor_network(n), w=w), u @ zero(n))


def test_templates_compose_and_reject_bad_arguments():
    c = zz_feature_map(3, reps=1).compose(hardware_efficient(3, 1))
    assert set(c.inputs) == {"x"} and set(c.weights) == {"w"}
    with pytest.raises(ValueError, match="entanglement must be one of"):
        zz_feature_map(3, entanglement="ring")
    with pytest.raises(ValueError, match="power of two"):
        tree_tensor_network(3)
    with pytest.raises(ValueError, match="do not fit"):
        amplitude_encoding(2, 5)
    with pytest.raises(ValueError, match="rotation must be one of"):
        angle_encoding(2, "w")
    with pytest.raises(ValueError, match="entangler must be one of"):
        hardware_efficient(2, 1, entangler="iswap")


def test_identity_blocks_dense(rng):
    n, blocks = 2, 2
    w = rng.uniform(-3, 3, (blocks, 2, 1, n, 2))

    def hea(wl):  # one hardware-efficient layer: RY RZ per wire, then CX(0, 1)
        return controlled(n, 0, 1, X) @ on(n, {q: rz(wl[q, 1]) @ ry(wl[q, 0]) for q in range(n)})

    u = np.eye(2**n)
    for k in range(blocks):
        u = hea(w[k, 1, 0]).conj().T @ hea(w[k, 0, 0]) @ u
    c = identity_blocks(hardware_efficient(n, 1), blocks)
    assert c.weights["w"].shape == (blocks, 2, 1, n, 2)
    assert np.allclose(run(c, w=w), u @ zero(n))
    w[:, 1] = w[:, 0]
    assert np.allclose(run(c, w=w), zero(n))
