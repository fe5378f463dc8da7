"""Quantum metric learning of the zoo against PennyLane (a test extra): its QAOAEmbedding and
the study's overlap circuit ``U(x2)^dagger U(x1)`` give the fidelities, from which the loss and
the predictions are recomputed here with NumPy."""

import numpy as np
import pytest
import torch

from hqml.datasets import load_benchmark
from hqml.nn import zoo

qml = pytest.importorskip("pennylane")


def pl_states(x, weights, n_wires):
    dev = qml.device("default.qubit", wires=n_wires)

    @qml.qnode(dev)
    def circuit(v):
        qml.QAOAEmbedding(features=v, weights=weights, wires=range(n_wires))
        return qml.state()

    return np.array([circuit(v) for v in x])


def pl_overlap(x1, x2, weights, n_wires):
    dev = qml.device("default.qubit", wires=n_wires)

    @qml.qnode(dev)
    def circuit():
        qml.QAOAEmbedding(features=x1, weights=weights, wires=range(n_wires))
        qml.adjoint(qml.QAOAEmbedding(features=x2, weights=weights, wires=range(n_wires)))
        return qml.probs()

    return circuit()[0]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_embedding_and_predictions_match_pennylane(d):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(30, d))
    y = (x.sum(1) > 0).astype(int)
    m = zoo.QuantumMetricLearner(n_layers=2, n_examples_predict=4, max_steps=3)
    m.set_params(convergence_interval=None).fit(x, y)
    assert m.n_qubits_ == d + 1
    w = m.params_["weights"].numpy()
    assert w.shape == qml.QAOAEmbedding.shape(n_layers=2, n_wires=d + 1)
    xs = m._prepare(x[:3]).numpy()
    ours = m._states(m.params_, torch.as_tensor(xs)).numpy()
    np.testing.assert_allclose(ours, pl_states(xs, w, d + 1), atol=1e-10)
    # predictions: mean overlaps (the study's circuit) with the stored examples of each class
    ex = [e.numpy() for e in m.examples_]
    f = np.array([[np.mean([pl_overlap(e, v, w, d + 1) for e in c]) for c in ex] for v in xs])
    np.testing.assert_allclose(m.predict_proba(x[:3])[:, 1], f[:, 1] / f.sum(1), atol=1e-10)
    np.testing.assert_allclose(m.decision_function(x[:3]), f[:, 1] / f.sum(1) - 0.5, atol=1e-10)


def test_loss_is_one_minus_the_hilbert_schmidt_distance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 2))
    y = np.arange(20) % 2
    m = zoo.QuantumMetricLearner(n_layers=1, max_steps=1, convergence_interval=None)
    m.fit(x, y)
    xs = m._prepare(x[:7])
    t = torch.tensor([-1.0, 1, 1, -1, 1, -1, -1])
    psi = pl_states(xs.numpy(), m.params_["weights"].numpy(), 3)
    a, b = psi[t.numpy() < 0], psi[t.numpy() > 0]
    fid = lambda u, v: np.abs(u.conj() @ v.T) ** 2  # noqa: E731
    d_hs = 0.5 * (fid(a, a).mean() + fid(b, b).mean()) - fid(a, b).mean()
    got = m._loss(m._training_output(m.params_, xs), t, m.params_)
    assert got.item() == pytest.approx(1 - d_hs, abs=1e-10)


@pytest.mark.parametrize("n_minus, n_plus", [(5, 8), (8, 5)])
def test_matched_batches_pair_equal_indices_of_the_two_classes_as_the_study(n_minus, n_plus):
    """The study's code (qml-benchmarks ``train``/``get_batch``): indices drawn from class -1's
    samples A index both A and class +1's samples B (JAX clamps past B's end); the loss is
    1 - D_hs over the matched pairs, i.e. the mean overlap |<a_i|b_i>|^2 (PennyLane's circuit)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n_minus + n_plus, 2))
    y = np.r_[np.zeros(n_minus, int), np.ones(n_plus, int)]
    perm = rng.permutation(len(y))
    x, y = x[perm], y[perm]
    m = zoo.QuantumMetricLearner(n_layers=1, pairs="matched", max_steps=1)
    m.set_params(convergence_interval=None).fit(x, y)
    xs = m._prepare(x)
    t = torch.as_tensor(np.where(y == 1, 1.0, -1.0))
    rows, _ = m._training_rows(xs, t)
    A, B = xs.numpy()[y == 0], xs.numpy()[y == 1]
    expected = np.array([np.r_[A[i], B[min(i, n_plus - 1)]] for i in range(n_minus)])
    np.testing.assert_array_equal(rows.numpy(), expected)
    w = m.params_["weights"].numpy()
    batch = rows[[0, 3, 3, 4]]
    want = np.mean([pl_overlap(r[:2], r[2:], w, 3) for r in batch.numpy()])
    got = m._loss(m._training_output(m.params_, batch), torch.ones(4), m.params_)
    assert got.item() == pytest.approx(want, abs=1e-10)


def test_learns_linearly_separable_data():
    ds = load_benchmark("linearly_separable", 2)
    m = zoo.QuantumMetricLearner(
        n_layers=2, learning_rate=0.1, max_steps=120, convergence_interval=None
    ).fit(ds.x_train, ds.y_train)
    assert m.loss_history_[-20:].mean() < m.loss_history_[:20].mean() - 0.1
    assert m.score(ds.x_test, ds.y_test) >= 0.85


def test_bad_pairs_is_refused_in_one_line():
    x = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="pairs must be") as err:
        zoo.QuantumMetricLearner(pairs="some", max_steps=1).fit(x, np.arange(10) % 2)
    assert len(str(err.value).splitlines()) == 1
