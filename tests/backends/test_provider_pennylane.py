"""PennyLane both ways: ``pennylane:<device>`` as an hqml backend (values equal hqml's own
for every translated gate; a batch is one broadcast tape, one job), and hqml as the PennyLane
device ``hqml.statevector`` (found through the entry point pyproject.toml declares; results equal
``default.qubit``'s)."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
import torch

import hqml
from hqml import accounting

qml = pytest.importorskip("pennylane")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def every_gate_circuit() -> hqml.Circuit:
    rng = np.random.default_rng(3)
    c = hqml.Circuit(3)
    w = c.weight("w", (12,))
    for name in ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg"]:
        c.append(name, [int(rng.integers(3))])
    c.rx(w[0], 0).ry(w[1], 1).rz(w[2] * 0.5 + 0.1, 2).p(w[3], 0).u(w[4], w[5], w[6], 1)
    c.swap(0, 2).iswap(1, 2).rxx(w[7], 0, 1).ryy(w[8], 1, 2).rzz(w[9], 2, 0)
    c.cx(2, 0).cy(0, 1).cz(1, 2).append("ch", [2, 1]).cp(w[10], 1, 0)
    c.crx(w[11], 0, 2).append("cu", [1, 2], [w[0], 0.2, -0.4]).ccx(0, 1, 2).cswap(2, 0, 1)
    c.controlled("sdg", [0], 2)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    return c.unitary(q, [2, 0])


OBS = [hqml.Z(0), hqml.X(1) @ hqml.Y(2), 0.5 * hqml.Z(1) @ hqml.Z(2) - hqml.Y(0) + 0.25]


def test_pennylane_device_values_equal_hqmls_for_every_translated_gate():
    c = every_gate_circuit()
    w = torch.tensor(np.random.default_rng(4).uniform(-3, 3, (3, 12)))
    for row in w:
        ref = hqml.expval(c, OBS, weights={"w": row})
        got = hqml.expval(c, OBS, weights={"w": row}, backend="pennylane:default.qubit")
        torch.testing.assert_close(got, ref, atol=1e-9, rtol=0)


def test_a_batch_is_one_broadcast_tape_and_samples_keep_the_wire_order():
    c = hqml.Circuit(2)
    x, w = c.input("x", 2), c.weight("w", (2,))
    c.ry(x[0], 0).ry(x[1], 1).cnot(0, 1).ry(w[0], 0).rx(w[1], 1)
    xs = torch.tensor(np.random.default_rng(1).uniform(-2, 2, (5, 2)))
    w0 = torch.tensor([0.4, -0.9], dtype=torch.float64, requires_grad=True)
    be = hqml.get_backend("pennylane:default.qubit", seed=3)
    with accounting.track() as run:
        got = hqml.expval(
            c,
            [hqml.Z(0), hqml.Z(1)],
            inputs={"x": xs},
            weights={"w": w0},
            backend=be,
            shots=20_000,
            diff_method="parameter-shift",
        )
        got.sum().backward()
    ref_w = w0.detach().clone().requires_grad_(True)
    ref = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], inputs={"x": xs}, weights={"w": ref_w})
    ref.sum().backward()
    se = np.sqrt((1 - ref.detach().numpy() ** 2) / 20_000) + 1e-4
    assert np.all(np.abs(got.detach().numpy() - ref.detach().numpy()) < 4 * se)
    assert (w0.grad - ref_w.grad).abs().max() < 4 * 5 * 2 / np.sqrt(20_000)
    t = run.totals()
    assert (t["jobs"], t["circuits"]) == (2, 5 + 5 * 4)
    bits = hqml.sample(hqml.Circuit(3).x(0), 3, wires=[2, 0], backend=be)
    assert bits.tolist() == [[0, 1]] * 3
    with pytest.raises(ValueError, match="PennyLane device 'no.such' cannot be created"):
        hqml.get_backend("pennylane:no.such")


@pytest.fixture
def hqml_device(monkeypatch):
    """``qml.device("hqml.statevector")`` through the entry point that pyproject.toml declares
    (registered here as pip would, since the test runs from a source checkout)."""
    from pennylane.devices import device_constructor

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    target = project["entry-points"]["pennylane.plugins"]["hqml.statevector"]
    ep = EntryPoint("hqml.statevector", target, "pennylane.plugins")
    monkeypatch.setitem(device_constructor.plugin_devices, "hqml.statevector", ep)
    return lambda **kw: qml.device("hqml.statevector", **kw)


def _circuit(x, y):
    qml.RX(x, 0)
    qml.Hadamard(1)
    qml.CNOT([1, 2])
    qml.Rot(0.1, y, 0.3, wires=2)
    qml.adjoint(qml.S(0))
    qml.Toffoli([0, 1, 2])
    qml.QFT(wires=[0, 1, 2])
    qml.CRY(y, wires=[2, 0])
    qml.IsingXX(0.7, wires=[0, 1])


def test_hqml_as_a_pennylane_device_matches_default_qubit(hqml_device):
    herm = np.array([[1.0, 2.0], [2.0, -1.0]])

    def circ(x, y):
        _circuit(x, y)
        return (
            qml.expval(qml.X(0) @ qml.Y(2)),
            qml.var(qml.Z(1)),
            qml.probs(wires=[2, 0]),
            qml.expval(qml.Hermitian(herm, 1)),
            qml.probs(op=qml.Z(1) @ qml.Y(2)),
            qml.state(),
        )

    ours = qml.QNode(circ, hqml_device(wires=3))(0.4, -0.8)
    ref = qml.QNode(circ, qml.device("default.qubit", wires=3))(0.4, -0.8)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-10)


def test_gradients_and_shots_through_the_hqml_device(hqml_device):
    def circ(x, y):
        _circuit(x, y)
        return qml.expval(qml.Z(0) @ qml.Z(2))

    x = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(-0.8, dtype=torch.float64, requires_grad=True)
    qml.QNode(circ, hqml_device(wires=3), interface="torch", diff_method="parameter-shift")(
        x, y
    ).backward()
    xr, yr = (t.detach().clone().requires_grad_(True) for t in (x, y))
    qml.QNode(circ, qml.device("default.qubit"), interface="torch")(xr, yr).backward()
    torch.testing.assert_close((x.grad, y.grad), (xr.grad, yr.grad), atol=1e-9, rtol=0)

    def sampled(x, y):
        _circuit(x, y)
        return qml.expval(qml.X(0) @ qml.Z(1)), qml.counts(wires=[0])

    shots = 20_000
    ev, counts = qml.set_shots(qml.QNode(sampled, hqml_device(wires=3, seed=2)), shots)(0.4, -0.8)
    exact = qml.QNode(
        lambda x, y: (_circuit(x, y), qml.expval(qml.X(0) @ qml.Z(1)), qml.probs(wires=[0]))[1:],
        qml.device("default.qubit"),
    )(0.4, -0.8)
    assert abs(ev - exact[0]) < 4 * np.sqrt((1 - exact[0] ** 2) / shots)
    p0 = counts.get("0", 0) / shots
    assert abs(p0 - exact[1][0]) < 4 * np.sqrt(exact[1][0] * (1 - exact[1][0]) / shots)

    def hermitian(x, y):
        _circuit(x, y)
        return qml.expval(qml.Hermitian(np.array([[1.0, 2.0], [2.0, -1.0]]), 1))

    got = qml.set_shots(qml.QNode(hermitian, hqml_device(wires=3, seed=4)), shots)(0.4, -0.8)
    want = qml.QNode(hermitian, qml.device("default.qubit"))(0.4, -0.8)
    assert abs(got - want) < 4 * np.sqrt(5 / shots)  # eigenvalues +-sqrt(5)
