"""The quanvolutional network of the zoo: its filter table against a dense NumPy simulation of
the same gate list, its feature maps against a loop over the windows written here, and
training on bars and stripes."""

import numpy as np
import pytest

from hqml.datasets import load_benchmark
from hqml.nn import zoo
from hqml.nn.zoo.quanvolutional import filter_table, random_filter_circuit

I2 = np.eye(2)
CX = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)


def rot(name, t):
    c, s = np.cos(t / 2), np.sin(t / 2)
    return {
        "rx": np.array([[c, -1j * s], [-1j * s, c]]),
        "ry": np.array([[c, -s], [s, c]], dtype=complex),
        "rz": np.diag([np.exp(-1j * t / 2), np.exp(1j * t / 2)]),
    }[name]


def apply(psi, n, gate, wires):
    t = psi.reshape([2] * n)
    k = len(wires)
    t = np.tensordot(gate.reshape([2] * 2 * k), t, axes=(list(range(k, 2 * k)), list(wires)))
    return np.moveaxis(t, list(range(k)), list(wires)).reshape(-1)


def dense_probs(circuit, n, bits):
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    for q in range(n):  # the encoding RY(pi b_q)
        psi = apply(psi, n, rot("ry", np.pi * bits[q]), [q])
    for op in circuit.ops[n:]:
        if op.name == "cx":
            psi = apply(psi, n, CX, list(op.wires))
        else:
            psi = apply(psi, n, rot(op.name, op.params[0].value), list(op.wires))
    return np.abs(psi) ** 2


@pytest.mark.parametrize("n, seed", [(4, 0), (4, 1), (9, 2)])
def test_filter_table_is_the_popcount_of_the_most_probable_outcome(n, seed):
    c = random_filter_circuit(n, 3, 5, np.random.RandomState(seed))
    rotations = [op for op in c.ops[n:] if op.name != "cx"]
    assert len(rotations) == 15 and {op.name for op in rotations} <= {"rx", "ry", "rz"}
    table = filter_table(c, n)
    for b in np.random.default_rng(seed).choice(2**n, size=12, replace=False):
        bits = (b >> (n - 1 - np.arange(n))) & 1
        p = dense_probs(c, n, bits)
        # the outcomes tied (to rounding) for the maximum all give acceptable answers
        best = [k for k in range(2**n) if p[k] > p.max() - 1e-12]
        assert table[b] in {bin(k).count("1") for k in best}


def test_feature_maps_are_the_table_on_every_binarised_window():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 25))
    y = np.arange(12) % 2
    m = zoo.QuanvolutionalNeuralNetwork(
        qkernel_shape=3, n_qchannels=2, rand_depth=2, rand_rot=4, output_channels=(2, 3)
    )
    m.set_params(max_steps=2, convergence_interval=None).fit(x, y)
    maps = m._prepare(x[:3]).numpy()
    assert maps.shape == (3, 2, 3, 3)
    binary = (m.scaler_.transform(x[:3]) > 0).reshape(3, 5, 5)
    for s in range(3):
        for ch, table in enumerate(m.tables_):
            for r in range(3):
                for c in range(3):
                    bits = binary[s, r : r + 3, c : c + 3].reshape(-1)
                    index = int("".join(str(int(v)) for v in bits), 2)
                    assert maps[s, ch, r, c] == table[index].item()


def test_learns_bars_and_stripes():
    ds = load_benchmark("bars_and_stripes", 4)
    x, xt = ds.x_train.reshape(len(ds.x_train), -1), ds.x_test.reshape(len(ds.x_test), -1)
    m = zoo.QuanvolutionalNeuralNetwork(
        n_qchannels=2, output_channels=(4, 8), learning_rate=0.01, max_steps=150
    )
    m.set_params(convergence_interval=None).fit(x, ds.y_train)
    assert m.n_qubits_ == 4
    assert m.loss_history_[-20:].mean() < 0.7 * m.loss_history_[:20].mean()
    assert m.score(xt, ds.y_test) >= 0.8


def test_images_are_required_in_one_line():
    x = np.random.default_rng(0).normal(size=(10, 6))
    with pytest.raises(ValueError, match="square images") as err:
        zoo.QuanvolutionalNeuralNetwork(max_steps=1).fit(x, np.arange(10) % 2)
    assert len(str(err.value).splitlines()) == 1
