"""The zoo's models against dense matrix algebra written here (wire 0 = most significant bit),
and the study's training rule."""

import warnings
from functools import reduce

import numpy as np
import pytest
import torch
from scipy.linalg import expm
from sklearn.exceptions import ConvergenceWarning

from hqml.datasets import load_benchmark
from hqml.kernels import zoo as kz
from hqml.nn import zoo

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)
H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


def rx(t):
    return expm(-0.5j * t * X)


def ry(t):
    return expm(-0.5j * t * Y)


def rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def rot(phi, theta, omega):  # PennyLane's Rot
    return rz(omega) @ ry(theta) @ rz(phi)


def on(n, wire, m):
    return reduce(np.kron, [m if w == wire else I2 for w in range(n)])


def two(n, a, b, pauli_a, pauli_b):
    return on(n, a, pauli_a) @ on(n, b, pauli_b)


def cz(n, a, b):
    d = np.ones(2**n)
    for i in range(2**n):
        if (i >> (n - 1 - a)) & 1 and (i >> (n - 1 - b)) & 1:
            d[i] = -1
    return np.diag(d)


def cx(n, a, b):
    return on(n, b, H) @ cz(n, a, b) @ on(n, b, H)


def zero(n):
    v = np.zeros(2**n, dtype=complex)
    v[0] = 1
    return v


def iqp_state(x, reps):
    n = len(x)
    psi = zero(n)
    for _ in range(reps):
        psi = reduce(np.kron, [H] * n) @ psi
        for i in range(n):
            psi = on(n, i, rz(x[i])) @ psi
        for i in range(n):
            for j in range(i + 1, n):
                psi = expm(-0.5j * x[i] * x[j] * two(n, i, j, Z, Z)) @ psi
    return psi


@pytest.fixture(scope="module")
def data():
    ds = load_benchmark("linearly_separable", 3)
    return ds.x_train[:40], ds.y_train[:40], ds.x_test[:6]


def test_iqp_kernel_matches_dense_states(data):
    x, y, xt = data
    m = kz.IQPKernelClassifier(repeats=2).fit(x, y)
    a, b = m._scaled(xt), m.X_fit_[:5]
    ref = np.abs(np.array([[iqp_state(u, 2).conj() @ iqp_state(v, 2) for v in b] for u in a]))
    np.testing.assert_allclose(m._gram(a, b), ref**2, atol=1e-10)
    assert m.score(x, y) > 0.8


def test_separable_kernel_matches_the_dense_product_state(data):
    x, y, xt = data
    m = kz.SeparableKernelClassifier(encoding_layers=2).fit(x, y)
    a, b = m._scaled(xt), m.X_fit_[:4]

    def psi(v):
        one = [np.linalg.matrix_power(ry(-t) @ rx(-np.pi / 4), 2) @ zero(1) for t in v]
        return reduce(np.kron, one)

    ref = np.abs(np.array([[psi(u).conj() @ psi(v) for v in b] for u in a])) ** 2
    np.testing.assert_allclose(m._gram(a, b), ref, atol=1e-10)


def test_projected_kernel_hamiltonian_embedding_matches_dense(data):
    x, y, xt = data
    m = kz.ProjectedQuantumKernel(trotter_steps=2, gamma_factor=0.7).fit(x, y)
    ang, d = m.rotation_angles_, x.shape[1]
    n = d + 1
    tau = (1 / 3) / 2 * (n - 1)

    def bloch(v):
        psi = reduce(np.kron, [rot(*ang[i]) for i in range(n)]) @ zero(n)
        for _ in range(2):
            for j in range(n - 1):
                for P in (X, Y, Z):
                    psi = expm(-0.5j * v[j] * tau * two(n, j, j + 1, P, P)) @ psi
        return np.array(
            [[np.real(psi.conj() @ on(n, q, P) @ psi) for P in (X, Y, Z)] for q in range(n)]
        )

    train = np.array([bloch(v) for v in m.X_fit_])
    gamma = 0.7 / (train.var() * d)
    assert m.gamma_ == pytest.approx(gamma, rel=1e-9)
    a, b = m._scaled(xt[:3]), m.X_fit_[:4]
    ba, bb = np.array([bloch(v) for v in a]), train[:4]
    ref = np.exp(-gamma * ((ba[:, None] - bb[None]) ** 2).sum(axis=(2, 3)))
    np.testing.assert_allclose(m._gram(a, b), ref, atol=1e-10)


def test_projected_kernel_iqp_embedding_matches_pennylane(data):
    qml = pytest.importorskip("pennylane")
    x, y, xt = data
    m = kz.ProjectedQuantumKernel(embedding="IQP", gamma_factor=0.5).fit(x, y)
    d = x.shape[1]
    dev = qml.device("default.qubit", wires=d)
    paulis = (qml.PauliX, qml.PauliY, qml.PauliZ)

    @qml.qnode(dev)
    def bloch(v):
        qml.IQPEmbedding(v, wires=range(d), n_repeats=2)
        return [qml.expval(P(q)) for q in range(d) for P in paulis]

    train = np.array([bloch(v) for v in m.X_fit_])
    gamma = 0.5 / (train.var() * d)
    assert m.gamma_ == pytest.approx(gamma, rel=1e-9)
    a = m._scaled(xt[:3])
    ba = np.array([bloch(v) for v in a])
    ref = np.exp(-gamma * ((ba[:, None] - train[None, :4]) ** 2).sum(axis=2))
    np.testing.assert_allclose(m._gram(a, m.X_fit_[:4]), ref, atol=1e-10)


def _dense_reuploading(v, thetas, omegas, layers, variant):
    n = thetas.shape[0]
    psi = zero(n)

    def enc(layer, q):
        return v[3 * q : 3 * q + 3] * (
            omegas[layer, 3 * q : 3 * q + 3] if omegas is not None else 1
        )

    if variant == "no_trainable_embedding":  # all encodings first, then theta + CZ layers
        for layer in range(layers + 1):
            for q in range(n):
                psi = on(n, q, rot(*enc(layer, q))) @ psi
        for layer in range(layers + 1):
            for q in range(n):
                psi = on(n, q, rot(*thetas[q, layer])) @ psi
            if layer < layers:
                start = 0 if layer % 2 == 0 else 1
                for a in range(start, n - 1, 2):
                    psi = cz(n, a, a + 1) @ psi
        return np.array([np.real(psi.conj() @ on(n, q, Z) @ psi) for q in range(n)])
    for layer in range(layers + 1):
        for q in range(n):
            if variant == "full" and layer < layers:
                psi = on(n, q, rot(*thetas[q, layer]) @ rot(*enc(layer, q))) @ psi
            else:
                psi = on(n, q, rot(*(enc(layer, q) + thetas[q, layer]))) @ psi
        if layer < layers and variant != "separable":
            start = 0 if layer % 2 == 0 else 1
            for a in range(start, n - 1, 2):
                psi = cz(n, a, a + 1) @ psi
    return np.array([np.real(psi.conj() @ on(n, q, Z) @ psi) for q in range(n)])


@pytest.mark.parametrize(
    "cls, variant",
    [
        (zoo.DataReuploadingClassifier, "full"),
        (zoo.DataReuploadingClassifierNoScaling, "no_scaling"),
        (zoo.DataReuploadingClassifierSeparable, "separable"),
        (zoo.DataReuploadingClassifierNoTrainableEmbedding, "no_trainable_embedding"),
        (zoo.DataReuploadingClassifierNoCost, "full"),
    ],
)
def test_data_reuploading_circuit_matches_dense(cls, variant):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 7))
    y = (x[:, 0] > 0).astype(int)
    m = cls(n_layers=3, max_steps=3, convergence_interval=None).fit(x, y)
    assert m.n_qubits_ == 3
    p = {k: v.numpy() for k, v in m.params_.items()}
    xs = np.pad(m.scaler_.transform(x[:4]), ((0, 0), (0, 2)))
    got = m._expvals(m.params_, torch.as_tensor(xs[:, :7])).numpy()
    ref = [_dense_reuploading(v, p["thetas"], p.get("omegas"), 3, variant) for v in xs]
    np.testing.assert_allclose(got, ref, atol=1e-10)
    assert ("omegas" in p) == (variant != "no_scaling")


def test_data_reuploading_losses_are_the_studys():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 7))
    y = (x[:, 0] > 0).astype(int)
    z = torch.as_tensor(rng.uniform(-1, 1, size=(5, 3)))
    t = torch.tensor([1.0, -1, -1, 1, 1])
    half = zoo.DataReuploadingClassifier(n_layers=1, observable_type="half", max_steps=1)
    half.set_params(convergence_interval=None).fit(x, y)
    p = half.params_
    a = p["alphas"].numpy()
    zn, tn = z.numpy()[:, :1], t.numpy()[:, None]  # "half" of 3 qubits: the first one
    eq23 = (a[0] * (1 - zn) / 2 - (1 - tn) / 2) ** 2 + (a[1] * (1 + zn) / 2 - (1 + tn) / 2) ** 2
    assert half._loss(z, t, p).item() == pytest.approx(0.5 * eq23.sum(1).mean(), abs=1e-12)
    nocost = zoo.DataReuploadingClassifierNoCost(n_layers=1, max_steps=1)
    nocost.set_params(convergence_interval=None).fit(x, y)
    linear = ((1 - z.numpy().sum(1) * t.numpy()) / 2).mean()  # summed over every qubit
    assert nocost._loss(z, t, nocost.params_).item() == pytest.approx(linear, abs=1e-12)


def test_iqp_variational_output_matches_dense(data):
    x, y, _ = data
    m = zoo.IQPVariationalClassifier(n_layers=2, max_steps=2, convergence_interval=None)
    m.fit(x, y)
    w, n = m.params_["weights"].numpy(), 3
    xs = m.scaler_.transform(x[:3])
    for v, f in zip(xs, m.decision_function(x[:3]), strict=True):
        psi = iqp_state(v, 1)
        for layer in range(2):
            for q in range(n):
                psi = on(n, q, rot(*w[layer, q])) @ psi
            r = layer % (n - 1) + 1
            for q in range(n):
                psi = cz(n, q, (q + r) % n) @ psi
        assert f == pytest.approx(np.real(psi.conj() @ two(n, 0, 1, Z, Z) @ psi), abs=1e-10)


def test_circuit_centric_output_matches_dense():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    y = (x[:, 1] > 0).astype(int)
    m = zoo.CircuitCentricClassifier(n_layers=2, max_steps=2, convergence_interval=None)
    m.fit(x, y)
    w, b = m.params_["weights"].numpy(), float(m.params_["b"])
    for v, f in zip(x[:3], m.decision_function(x[:3]), strict=True):
        u = np.r_[v, 0.25]
        u = u / np.linalg.norm(u)
        psi = np.kron(u, u).astype(complex)
        n = 4
        for layer in range(2):
            for q in range(n):
                psi = on(n, q, rot(*w[layer, q])) @ psi
            r = layer % (n - 1) + 1
            for q in range(n):
                psi = cx(n, q, (q + r) % n) @ psi
        assert f == pytest.approx(np.real(psi.conj() @ on(n, 0, Z) @ psi) + b, abs=1e-9)


def _dense_tree(u, w):
    n = int(np.log2(len(u)))
    psi = u.astype(complex)
    count = 0
    for level in range(int(np.log2(n)) if n > 1 else 0):
        for q in range(0, n, 2**level):
            psi = on(n, q, ry(w[count])) @ psi
            count += 1
        for i in range(0, n, 2 ** (level + 1)):
            psi = cx(n, i + 2**level, i) @ psi
    psi = on(n, 0, ry(w[count])) @ psi
    return np.real(psi.conj() @ on(n, 0, Z) @ psi)


@pytest.mark.parametrize("d, n", [(2, 1), (3, 2), (5, 4)])
def test_tree_tensor_output_matches_dense(d, n):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(12, d))
    y = (x[:, 0] > 0).astype(int)
    m = zoo.TreeTensorClassifier(max_steps=2, convergence_interval=None).fit(x, y)
    assert m.n_qubits_ == n and m.params_["weights"].shape == (2 * n - 1,)
    w, b = m.params_["weights"].numpy(), float(m.params_["bias"])
    dim = 2**n
    for v, f in zip(x[:3], m.decision_function(x[:3]), strict=True):
        u = np.r_[v, np.full(dim - d, 1 / dim)]
        assert f == pytest.approx(_dense_tree(u / np.linalg.norm(u), w) + b, abs=1e-9)


def test_separable_variational_and_dressed_match_dense(data):
    x, y, _ = data
    m = zoo.SeparableVariationalClassifier(
        encoding_layers=2, max_steps=2, convergence_interval=None
    )
    m.fit(x, y)
    w = m.params_["weights"].numpy()
    for v, f in zip(m.scaler_.transform(x[:3]), m.decision_function(x[:3]), strict=True):
        zs = []
        for i, t in enumerate(v):
            u = rot(*w[i, 2]) @ ry(t) @ rot(*w[i, 1]) @ ry(t) @ rot(*w[i, 0])
            psi = u @ zero(1)
            zs.append(np.real(psi.conj() @ Z @ psi))
        assert f == pytest.approx(np.mean(zs), abs=1e-10)
    d = zoo.DressedQuantumCircuitClassifier(n_layers=2, max_steps=2, convergence_interval=None)
    d.fit(x, y)
    p = {k: v.numpy() for k, v in d.params_.items()}
    for v, f in zip(d.scaler_.transform(x[:2]), d.decision_function(x[:2]), strict=True):
        a = np.tanh(p["input_weights"] @ v) * np.pi / 2
        psi = reduce(np.kron, [ry(t) @ H for t in a]) @ zero(3)
        for layer in range(2):
            psi = reduce(np.kron, [ry(t) for t in p["circuit_weights"][layer]]) @ psi
            for q in range(3):
                psi = cx(3, q, (q + 1) % 3) @ psi
        z = np.array([np.real(psi.conj() @ on(3, q, Z) @ psi) for q in range(3)])
        logits = p["output_weights"] @ z
        assert f == pytest.approx(logits[1] - logits[0], abs=1e-10)


def test_training_rule_stops_on_a_flat_loss_and_warns_otherwise():
    flat = [0.0, 1.0] * 201  # the last 200 and the 200 before have the same mean
    assert zoo.loss_is_flat(flat, 200)
    assert not zoo.loss_is_flat(flat[:401], 200)  # tested only after step 2k + 1
    falling = list(np.linspace(10, 0, 500))
    assert not zoo.loss_is_flat(falling, 200)
    x = torch.randn(50, 2, dtype=torch.float64)
    p = {"w": torch.zeros(2, dtype=torch.float64, requires_grad=True)}
    gen = torch.Generator().manual_seed(0)
    r = zoo.train_until_flat(
        lambda q, xb, yb: ((xb @ q["w"] - yb) ** 2).mean(),
        p,
        x,
        x[:, 0] * 2,
        learning_rate=0.05,
        max_steps=3000,
        convergence_interval=50,
        generator=gen,
    )
    assert r.converged and r.steps < 3000 and p["w"][0].item() == pytest.approx(2, abs=1e-2)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        zoo.train_until_flat(
            lambda q, xb, yb: ((xb @ q["w"] - yb) ** 2).mean(),
            p,
            x,
            x[:, 0],
            learning_rate=0.05,
            max_steps=10,
            convergence_interval=50,
            generator=gen,
        )


def test_a_non_finite_loss_is_refused_not_trained_on():
    x = torch.randn(50, 2, dtype=torch.float64)
    p = {"w": torch.ones(2, dtype=torch.float64, requires_grad=True)}
    calls = []

    def loss(q, xb, yb):  # finite for three steps, then NaN
        calls.append(1)
        bad = torch.tensor(float("nan") if len(calls) > 3 else 0.0, dtype=torch.float64)
        return ((xb @ q["w"] - yb) ** 2).mean() + bad

    with pytest.raises(FloatingPointError, match="loss became nan at step 3"):
        zoo.train_until_flat(
            loss, p, x, x[:, 0], learning_rate=0.01, max_steps=100, generator=torch.Generator()
        )
    assert torch.isfinite(p["w"]).all()  # the NaN step was not applied


def test_non_finite_outputs_are_refused_at_prediction(data):
    x, y, _ = data
    m = zoo.IQPVariationalClassifier(n_layers=1, max_steps=2, convergence_interval=None)
    m.fit(x, y)
    m.params_ = {k: torch.full_like(v, float("nan")) for k, v in m.params_.items()}
    for method in (m.predict, m.predict_proba, m.decision_function):
        with pytest.raises(FloatingPointError, match="not finite"):
            method(x[:3])


def test_circuit_evaluations_count_the_training_circuits(data):
    x, y, _ = data
    m = zoo.IQPVariationalClassifier(n_layers=1, max_steps=3, batch_size=8)
    m.set_params(convergence_interval=None).fit(x, y)
    assert m.circuit_evaluations_ == 3 * 8  # one circuit per batch row and step
    m.predict(x)
    assert m.circuit_evaluations_ == 24  # predictions leave the fitted model unchanged
    sep = zoo.SeparableVariationalClassifier(max_steps=2, batch_size=4)
    sep.set_params(convergence_interval=None).fit(x, y)
    assert sep.circuit_evaluations_ == 2 * 4 * x.shape[1]  # one one-qubit circuit per feature
    k = kz.IQPKernelClassifier(repeats=1).fit(x, y)
    assert k.circuit_evaluations_ == len(x)  # one feature state per training sample
    s = kz.SeparableKernelClassifier().fit(x, y)
    assert s.circuit_evaluations_ == len(x) * x.shape[1]


def test_kitchen_sinks_features_are_bits_of_the_circuit_and_batch_independent(data):
    x, y, xt = data
    m = zoo.QuantumKitchenSinks(n_episodes=400, n_qfeatures=2).fit(x, y)
    f_all = m.quantum_features(xt)
    np.testing.assert_array_equal(m.quantum_features(xt[2:3]), f_all[2:3])
    assert set(np.unique(f_all)) <= {0.0, 1.0}
    # 400 single shots of one sample: the mean of bit 0 is P(q0 = 1) of each episode's circuit
    xs = m.scaler_.transform(xt[:1])[0]
    angles = m.omegas_ @ xs + m.betas_  # (E, 2): RX on each wire, then CNOT(0, 1)
    p1 = np.sin(angles[:, 0] / 2) ** 2
    bits = f_all[0].reshape(400, 2)[:, 0]
    assert abs(bits.mean() - p1.mean()) < 4 * np.sqrt(0.25 / 400)


def test_binary_only_and_qubit_price_are_refused_in_one_line():
    x = np.random.default_rng(0).normal(size=(12, 2))
    with pytest.raises(ValueError, match="Only binary classification"):
        zoo.IQPVariationalClassifier(max_steps=1).fit(x, np.arange(12) % 3)
    with pytest.raises(ValueError, match="qubits"):
        zoo.IQPVariationalClassifier(max_steps=1).fit(np.zeros((4, 21)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="21 qubits"):
        kz.ProjectedQuantumKernel().fit(np.random.default_rng(1).normal(size=(6, 20)), [0, 1] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zoo.IQPVariationalClassifier(max_steps=1, convergence_interval=None).fit(
            x, np.arange(12) % 2
        )


def _zoo_estimators():
    from sklearn.base import ClassifierMixin

    for mod in (zoo, kz):
        for name in mod.__all__:
            c = getattr(mod, name)
            if isinstance(c, type) and issubclass(c, ClassifierMixin) and name != "ZooClassifier":
                yield c


@pytest.mark.parametrize("cls", list(_zoo_estimators()), ids=lambda c: c.__name__)
def test_every_zoo_docstring_names_its_paper_and_its_departures(cls):
    # the rule: each model's own docstring names its paper and states its departures
    # (or says there are none); an inherited docstring does not count
    doc = cls.__dict__.get("__doc__") or ""
    assert "arXiv:" in doc, f"{cls.__name__}: no paper (arXiv number) in its docstring"
    assert "depart" in doc.lower(), f"{cls.__name__}: its docstring states no departures"
