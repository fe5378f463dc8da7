"""WeiNet of the zoo against a dense statevector built here: amplitude encoding of the padded
image, the shift unitaries as permutation matrices (Kronecker products), the expectations of
the read-out observables as dense diagonal operators, the mixture and the linear read-out."""

import itertools

import numpy as np
import pytest

from hqml.datasets import load_benchmark
from hqml.nn import zoo

I2, PZ = np.eye(2), np.diag([1.0, -1.0])


def shift(side, k):
    s = np.zeros((side, side))
    for i in range(side):
        s[i, (i + k) % side] = 1.0
    return s


def z_on(n, wires):
    m = np.ones((1, 1))
    for q in range(n):
        m = np.kron(m, PZ if q in wires else I2)
    return m


def dense_weinet(image, s, weights, diagonal):
    h = image.shape[0]
    m = int(np.ceil(np.log2(h)))
    n, side = 2 * m, 2**m
    padded = np.zeros((side, side))
    padded[:h, :h] = image
    psi = padded.reshape(-1) / np.linalg.norm(padded)
    kept = [w for w in range(n - 1) if w != m - 1]
    ops = []
    for a, i in enumerate(kept):
        ops.append(z_on(n, {i}))
        ops += [z_on(n, {i, j}) for j in kept[a + 1 :]]
    ops.append(np.eye(2**n))
    mix = np.exp(s) / np.exp(s).sum()
    ev = np.zeros(len(ops))
    for w, (a, b) in zip(mix, list(itertools.product((-1, 0, 1), repeat=2)), strict=True):
        u = np.kron(shift(side, a), shift(side, a if diagonal else b))
        phi = u @ psi
        ev += w * np.array([phi @ o @ phi for o in ops])
    return ev @ weights


@pytest.mark.parametrize("h, n_qubits, diagonal", [(3, 4, False), (4, 4, True), (5, 6, False)])
def test_output_matches_the_dense_circuit(h, n_qubits, diagonal):
    rng = np.random.default_rng(h)
    x = rng.normal(size=(20, h * h))
    y = np.arange(20) % 2
    m = zoo.WeiNet(diagonal_shifts=diagonal, max_steps=3, convergence_interval=None).fit(x, y)
    assert m.n_qubits_ == n_qubits
    s, w = (m.params_[k].numpy() for k in ("s", "weights"))
    assert len(w) == n_qubits - 1 + (n_qubits - 2) * (n_qubits - 3) // 2
    ref = [dense_weinet(v.reshape(h, h), s, w, diagonal) for v in x[:4]]
    np.testing.assert_allclose(m.decision_function(x[:4]), ref, atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(x[:4])[:, 1], 1 / (1 + np.exp(-np.array(ref))))


def test_filter_name_has_no_effect_as_in_the_study():
    ds = load_benchmark("bars_and_stripes", 4)
    x, y = ds.x_train[:64].reshape(64, -1), ds.y_train[:64]
    outs = [
        zoo.WeiNet(filter_name=f, max_steps=20, convergence_interval=None)
        .fit(x, y)
        .decision_function(x[:5])
        for f in ("edge_detect", "smooth", "sharpen")
    ]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


def test_learns_where_the_image_is_bright():
    # amplitude encoding keeps |x|^2: the label is whether the top or the bottom half is bright
    # (bars and stripes of +-1 pixels look alike to it: every |x_rc|^2 is about 1)
    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    img = 0.3 * rng.normal(size=(200, 4, 4))
    img[y == 1, :2] *= 4
    img[y == 0, 2:] *= 4
    x = img.reshape(200, 16)
    m = zoo.WeiNet(learning_rate=0.1, max_steps=150, convergence_interval=None)
    m.fit(x[:150], y[:150])
    assert m.loss_history_[-20:].mean() < 0.7 * m.loss_history_[:20].mean()
    assert m.score(x[150:], y[150:]) >= 0.9


@pytest.mark.parametrize(
    "n_features, kwargs, message",
    [(10, {}, "square images"), (4, {}, "at least 3x3"), (9, {"filter_name": "blur"}, "one of")],
)
def test_bad_inputs_are_refused_in_one_line(n_features, kwargs, message):
    x = np.random.default_rng(0).normal(size=(10, n_features))
    with pytest.raises(ValueError, match=message) as err:
        zoo.WeiNet(**kwargs, max_steps=1, convergence_interval=None).fit(x, np.arange(10) % 2)
    assert len(str(err.value).splitlines()) == 1
