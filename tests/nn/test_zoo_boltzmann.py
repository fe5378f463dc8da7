"""The quantum Boltzmann machine of the zoo against dense Gibbs states built here with NumPy
Kronecker products and SciPy's matrix exponential (the study's definition, written out)."""

import itertools

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from hqml.datasets import load_benchmark
from hqml.nn import zoo

I2 = np.eye(2)
PX = np.array([[0.0, 1.0], [1.0, 0.0]])
PZ = np.diag([1.0, -1.0])


def on(n, ops):
    """Kronecker product with ``ops[q]`` on qubit ``q`` (qubit 0 leftmost), identity elsewhere."""
    m = np.ones((1, 1))
    for q in range(n):
        m = np.kron(m, ops.get(q, I2))
    return m


def dense_f(thetas, x, n, visible, observable, temperature, shared):
    h = np.zeros((2**n, 2**n))
    for i in range(n):
        h += on(n, {i: PZ}) * (thetas[2 * i] @ x) + on(n, {i: PX}) * (thetas[2 * i + 1] @ x)
    for k, (i, j) in enumerate(itertools.combinations(range(n), 2)):
        row = 2 * n if shared else 2 * n + k
        h += on(n, {i: PZ, j: PZ}) * (thetas[row] @ x)
    rho = expm(-h / temperature)
    rho /= np.trace(rho)
    if observable == "sum":
        obs = sum(on(n, {i: PZ}) for i in range(visible)) / visible
    else:
        obs = on(n, {i: PZ for i in range(visible)})
    return np.trace(rho @ obs)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 4))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int)


@pytest.mark.parametrize(
    "visible, n_visible, observable, temperature, shared",
    [
        ("single", 1, "sum", 1.0, True),
        ("half", 2, "sum", 10.0, False),
        ("half", 2, "product", 1.0, True),
        ("full", 4, "sum", 1.0, False),
        ("all", 4, "product", 100.0, False),
    ],
)
def test_gibbs_expectation_matches_dense(data, visible, n_visible, observable, temperature, shared):
    x, y = data
    m = zoo.QuantumBoltzmannMachine(
        visible_qubits=visible,
        observable_type=observable,
        temperature=temperature,
        shared_coupling=shared,
        max_steps=2,
        convergence_interval=None,
    ).fit(x, y)
    assert m.n_qubits_ == 4 and m.n_visible_ == n_visible
    th = m.params_["thetas"].numpy()
    assert th.shape == (2 * 4 + 6, 4)
    xs = m._prepare(x[:5]).numpy()
    ref = [dense_f(th, v, 4, n_visible, observable, temperature, shared) for v in xs]
    np.testing.assert_allclose(m.decision_function(x[:5]), ref, atol=1e-10)
    np.testing.assert_allclose(m.predict_proba(x[:5])[:, 1], (1 + np.array(ref)) / 2, atol=1e-10)


def test_large_hamiltonians_do_not_overflow(data):
    x, y = data
    m = zoo.QuantumBoltzmannMachine(max_steps=1, convergence_interval=None).fit(x, y)
    m.params_ = {"thetas": m.params_["thetas"] * 400}  # exp(-H) alone would overflow
    f = m.decision_function(x[:4])
    assert np.all(np.isfinite(f)) and np.all(np.abs(f) <= 1 + 1e-12)


def test_separable_matches_dense_single_qubit_gibbs_states(data):
    x, y = data
    for visible, k in (("single", 1), ("full", 4)):
        for observable in ("sum", "product"):
            m = zoo.QuantumBoltzmannMachineSeparable(
                visible_qubits=visible,
                observable_type=observable,
                temperature=2.0,
                max_steps=2,
                convergence_interval=None,
            ).fit(x, y)
            th = m.params_["thetas"].numpy()
            assert th.shape == (8, 4)
            ref = []
            for v in m._prepare(x[:5]).numpy():
                zs = []
                for i in range(k):
                    rho = expm(-(PZ * (th[2 * i] @ v) + PX * (th[2 * i + 1] @ v)) / 2.0)
                    zs.append(np.trace(rho @ PZ) / np.trace(rho))
                ref.append(np.mean(zs) if observable == "sum" else np.prod(zs))
            np.testing.assert_allclose(m.decision_function(x[:5]), ref, atol=1e-12)


def test_separable_at_zero_field_and_its_gradient_are_finite():
    m = zoo.QuantumBoltzmannMachineSeparable(visible_qubits="full")
    m._check_settings(2)
    th = torch.zeros(4, 2, dtype=torch.float64, requires_grad=True)
    f = m._forward({"thetas": th}, torch.tensor([[0.3, -0.2]], dtype=torch.float64))
    f.sum().backward()
    assert f.item() == 0.0 and torch.isfinite(th.grad).all()
    # d<Z>/da at a = b = 0 is -1/T (T = 1): the gradient of the mean over two qubits
    np.testing.assert_allclose(th.grad[0].numpy(), -np.array([0.3, -0.2]) / 2, atol=1e-12)


def test_gradient_matches_finite_differences(data):
    x, y = data
    m = zoo.QuantumBoltzmannMachine(
        visible_qubits="half", max_steps=1, convergence_interval=None
    ).fit(x[:, :3], y)
    xs = m._prepare(x[:4, :3])
    th = m.params_["thetas"].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: m._forward({"thetas": t}, xs), (th,))


def test_trains_on_linearly_separable_data():
    ds = load_benchmark("linearly_separable", 2)
    for cls in (zoo.QuantumBoltzmannMachine, zoo.QuantumBoltzmannMachineSeparable):
        m = cls(learning_rate=0.1, max_steps=200, convergence_interval=None, random_state=1)
        m.fit(ds.x_train, ds.y_train)
        assert m.loss_history_[-20:].mean() < 0.5 * m.loss_history_[:20].mean()
        assert m.score(ds.x_test, ds.y_test) >= 0.9


@pytest.mark.parametrize(
    "kwargs, n_features, message",
    [
        ({"visible_qubits": "most"}, 2, "visible_qubits must be"),
        ({"observable_type": "mean"}, 2, "observable_type must be"),
        ({"temperature": 0}, 2, "temperature must be"),
        ({}, 11, "2048 x 2048"),
    ],
)
def test_bad_settings_are_refused_in_one_line(kwargs, n_features, message):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, n_features))
    with pytest.raises(ValueError, match=message) as err:
        zoo.QuantumBoltzmannMachine(**kwargs, max_steps=1, convergence_interval=None).fit(
            x, np.arange(12) % 2
        )
    assert len(str(err.value).splitlines()) == 1


def test_gibbs_gradient_at_degenerate_spectra_matches_matrix_exp():
    """The eigendecomposition's gradient (divided differences, their limit where eigenvalues
    coincide or nearly do) against autograd through torch's matrix exponential."""
    from hqml.nn.zoo.boltzmann import _GibbsDiagonal

    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4))
    hs = [
        np.zeros((4, 4)),  # H(0) = 0: all four eigenvalues equal
        np.diag([1.0, 1.0, 2.0, 2.0]),  # two degenerate pairs
        np.kron(PZ, I2) + 1e-5 * (a + a.T),  # two pairs split by 1e-5 (the Taylor branch)
        a + a.T,  # generic
    ]
    h = torch.tensor(np.array(hs), requires_grad=True)
    g = torch.tensor(rng.normal(size=(4, 4)))
    (_GibbsDiagonal.apply(h) * g).sum().backward()
    ref_h = h.detach().clone().requires_grad_()
    low = torch.linalg.eigvalsh(ref_h.detach())[:, :1, None] * torch.eye(4, dtype=torch.float64)
    e = torch.linalg.matrix_exp(-(ref_h - low))
    np.testing.assert_allclose(
        torch.diagonal(e, dim1=1, dim2=2).detach().numpy(),
        _GibbsDiagonal.apply(h.detach()).numpy(),
        atol=1e-12,
    )
    (torch.diagonal(e, dim1=1, dim2=2) * g).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), ref_h.grad.numpy(), atol=1e-10)
