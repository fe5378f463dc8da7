"""The compiled small-register interpreter: states against dense matrix algebra, gradients
against torch autograd on the reference torch path (``diff_method="backprop"``, which never uses
the interpreter) and against central differences; the engine choice and its fallbacks."""

import numpy as np
import pytest
import torch
from helpers import check_w1_gradient, random_circuit

import hqml
from hqml.backends.statevector import choose, interpreter, interpreter_program
from hqml.backends.statevector import numpy_engine as small
from hqml.circuit.gates import Gate
from hqml.circuit.observables import PauliSum
from hqml.sim import native
from hqml.testing import reference_state

pytestmark = pytest.mark.skipif(not native.available(), reason="native kernels not built")


def _supported_circuit(rng, n, n_ops):
    """A random circuit the interpreter compiles, with gates that read the inputs and weights
    (redrawn until one does)."""
    while True:
        c = random_circuit(rng, n, n_ops)
        kinds = {s.kind for e in c.parameter_exprs() for s in e.symbols()}
        if interpreter_program.compile_program(c) is not None and kinds == {"input", "weight"}:
            return c


def _dense_expval(psi, obs, n):
    return float(np.real(psi.conj() @ obs.to_matrix(n) @ psi))


@pytest.mark.parametrize("seed", range(10))
def test_states_values_and_probs_match_dense_algebra(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    c = _supported_circuit(rng, n, int(rng.integers(1, 24)))
    batch = int(rng.choice([1, 5, 16, 37]))
    x = rng.uniform(-2, 2, (batch, 3))
    w = rng.uniform(-2, 2, 4)
    dtype = torch.complex128 if seed % 2 else torch.complex64
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    tol = 1e-10 if dtype == torch.complex128 else 2e-5
    kw = {
        "inputs": {"x": torch.tensor(x, dtype=real)},
        "weights": {"w": torch.tensor(w, dtype=real)},
        "dtype": dtype,
    }
    diag_obs = [hqml.Z(0), hqml.Z(0) @ hqml.Z(n - 1) * 0.5 + hqml.Z(n - 1) if n > 1 else hqml.Z(0)]
    dense_obs = [PauliSum.from_list([("".join(rng.choice(list("IXYZ"), n)), 0.7)]) + hqml.X(0)]
    states = hqml.state(c, **kw).numpy()
    values = hqml.expval(c, diag_obs, **kw).numpy()  # measured by the kernels
    dense = hqml.expval(c, dense_obs, **kw).numpy()  # measured in NumPy from the states
    probs = hqml.probs(c, wires=[n - 1], **kw).numpy()
    for b in range(batch):
        ref = reference_state(c, {"x": x[b]}, {"w": w})
        np.testing.assert_allclose(states[b], ref, atol=tol)
        for k, o in enumerate(diag_obs):
            assert values[b, k] == pytest.approx(_dense_expval(ref, o, n), abs=10 * tol)
        assert dense[b, 0] == pytest.approx(_dense_expval(ref, dense_obs[0], n), abs=10 * tol)
        p1 = float(np.sum(np.abs(ref.reshape(-1, 2)[:, 1]) ** 2))
        np.testing.assert_allclose(probs[b], [1 - p1, p1], atol=10 * tol)


def _grads(c, obs, x, w, method, x_grad=True):
    x = x.clone().requires_grad_(x_grad)
    w = w.clone().requires_grad_(True)
    v = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, diff_method=method)
    (v * torch.linspace(-1, 2, v.numel(), dtype=v.dtype).reshape(v.shape)).sum().backward()
    return v.detach(), x.grad, w.grad


@pytest.mark.parametrize("seed", range(10))
def test_gradients_match_torch_autograd(seed):
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(1, 8))
    c = _supported_circuit(rng, n, int(rng.integers(2, 24)))
    obs = [hqml.Z(n - 1), PauliSum.from_list([("".join(rng.choice(list("IXYZ"), n)), 0.4)])]
    if seed % 2:
        obs = obs[:1]  # diagonal only: the kernels build the cotangent state themselves
    batch = int(rng.choice([1, 4, 19]))
    x = torch.tensor(rng.uniform(-2, 2, (batch, 3)), dtype=torch.float64)
    w = torch.tensor(rng.uniform(-2, 2, 4), dtype=torch.float64)
    ref = _grads(c, obs, x, w, "backprop")
    got = _grads(c, obs, x, w, "adjoint")
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-9)
    _, gx, gw = _grads(c, obs, x, w, "adjoint", x_grad=False)  # the sweep stops early
    assert gx is None
    np.testing.assert_allclose(gw.numpy(), ref[2].numpy(), atol=1e-9)


def test_w1_model_gradient_against_central_differences_in_both_dtypes():
    c = check_w1_gradient(batch=21, seed=11)  # 21 samples: a partly filled second lane block
    assert interpreter_program.compile_program(c) is not None


def test_gradients_reach_reordered_repeated_and_batched_values():
    """Columns that repeat and reorder values (re-uploading), constants, and a per-sample
    weight: the binding's chain rule is a gather, done without autograd."""
    rng = np.random.default_rng(5)
    c = hqml.Circuit(3)
    x, w = c.input("x", 3), c.weight("w", (2, 3))
    for layer in range(2):
        for i in range(3):
            c.ry(x[2 - i], i).rz(w[layer, i], i).rx(0.3, i)
        c.cx(0, 1).cx(1, 2).crz(w[1, 0], 2, 0)
    obs = [hqml.Z(0), hqml.Z(2)]
    for w_shape in ((2, 3), (6, 2, 3)):
        xt = torch.tensor(rng.uniform(-1, 1, (6, 3)), requires_grad=True)
        wt = torch.tensor(rng.uniform(-1, 1, w_shape), requires_grad=True)
        grads = []
        for method in ("adjoint", "backprop"):
            xt.grad = wt.grad = None
            v = hqml.expval(c, obs, inputs={"x": xt}, weights={"w": wt}, diff_method=method)
            (v[:, 0] * 2 - v[:, 1]).sum().backward()
            grads.append((xt.grad.clone(), wt.grad.clone()))
        for a, b in zip(*grads, strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)


def test_many_samples_run_on_threads_and_agree():
    rng = np.random.default_rng(8)
    c = _supported_circuit(rng, 5, 30)
    x = torch.tensor(rng.uniform(-2, 2, (300, 3)))
    w = torch.tensor(rng.uniform(-2, 2, 4), requires_grad=True)
    torch_threads = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            w.grad = None
            v = hqml.expval(c, hqml.Z(3), inputs={"x": x}, weights={"w": w})
            v.sum().backward()
            results.append((v.detach(), w.grad.clone()))
    finally:
        torch.set_num_threads(torch_threads)
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-9)
    ref = [reference_state(c, {"x": x[b].numpy()}, {"w": w.detach().numpy()}) for b in (0, 299)]
    for b, psi in zip((0, 299), ref, strict=True):
        assert float(results[0][0][b]) == pytest.approx(_dense_expval(psi, hqml.Z(3), 5), 1e-9)


def test_engine_choice_and_fallbacks(monkeypatch):
    calls = {"native": 0, "numpy": 0}
    real_forward, real_run = interpreter.kernel_forward, small.run

    def count(name, fn):
        def inner(*a, **k):
            calls[name] += 1
            return fn(*a, **k)

        return inner

    monkeypatch.setattr(interpreter, "kernel_forward", count("native", real_forward))
    monkeypatch.setattr(small, "run", count("numpy", real_run))
    c = hqml.Circuit(2).ry(0.3, 0).cx(0, 1)
    want = np.cos(0.3)
    assert float(hqml.expval(c, hqml.Z(1))) == pytest.approx(want, abs=1e-6)
    assert calls == {"native": 1, "numpy": 0}
    # a four-wire gate is beyond the interpreter: the NumPy engine runs the circuit
    big = Gate("x4", 4, matrix=np.eye(16)[::-1])  # X on every wire
    c4 = hqml.Circuit(4).ry(0.3, 0).append(big, [0, 1, 2, 3])
    assert interpreter_program.compile_program(c4) is None
    assert float(hqml.expval(c4, hqml.Z(0))) == pytest.approx(-np.cos(0.3), abs=1e-6)
    assert calls == {"native": 1, "numpy": 1}
    monkeypatch.setenv("HQML_NATIVE", "0")
    assert float(hqml.expval(c, hqml.Z(1))) == pytest.approx(want, abs=1e-6)
    assert calls == {"native": 1, "numpy": 2}
    monkeypatch.setenv("HQML_SMALL", "0")
    assert float(hqml.expval(c, hqml.Z(1))) == pytest.approx(want, abs=1e-6)
    assert calls == {"native": 1, "numpy": 2}


def test_permutations_merge_into_one_op():
    c = hqml.Circuit(3).h(0)
    for i in range(3):
        c.cx(i, (i + 1) % 3)
    c.swap(0, 2).x(1).ry(0.2, 1).cz(0, 1)
    prog = interpreter_program.compile_program(c)
    kinds = [int(k) for k in prog.code[:, 0]]
    assert kinds == [
        interpreter_program.OP_FIXED,
        interpreter_program.OP_PERM,
        interpreter_program.OP_PARAM,
        interpreter_program.OP_FIXED,
    ]
    np.testing.assert_allclose(
        hqml.state(c, dtype=torch.complex128).numpy(), reference_state(c), atol=1e-12
    )


def test_larger_registers_match_the_layer_kernels(monkeypatch):
    """From 11 qubits the interpreter runs batches only; values and gradients equal the torch /
    layer-kernel path's."""
    rng = np.random.default_rng(21)
    n = 11
    c = _supported_circuit(rng, n, 40)
    x = torch.tensor(rng.uniform(-2, 2, (5, 3)))
    w = torch.tensor(rng.uniform(-2, 2, 4))
    obs = [hqml.Z(0) @ hqml.Z(n - 1), hqml.Z(1) + 0.5 * hqml.Z(n // 2)]
    assert choose.interpreter_suits(n, 5) and not choose.interpreter_suits(n, 1)
    assert not choose.interpreter_suits(choose.limits.LIMITS.interpreter_max_qubits + 1, 64)
    got = _grads(c, obs, x, w, "adjoint")
    monkeypatch.setenv("HQML_SMALL", "0")
    want = _grads(c, obs, x, w, "adjoint")
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)


def _rotation_chain_gate(k):
    """A one-qubit ``matrix_fn`` gate of ``k`` parameters: ``RZ(p0) RY(p1) RZ(p2) ...`` applied
    right to left, with derivatives by the product rule."""
    paulis = [torch.tensor([[1, 0], [0, -1]]), torch.tensor([[0, -1j], [1j, 0]])]

    def factors(p):
        eye = torch.eye(2, dtype=torch.complex128)
        out = []
        for j in range(k):
            g = paulis[j % 2].to(torch.complex128) / 2
            t = p[..., j, None, None].to(torch.complex128)
            out.append((torch.cos(t / 2) * eye - 1j * torch.sin(t / 2) * 2 * g, g))
        return out

    def prod(mats):
        out = mats[0]
        for m in mats[1:]:
            out = m @ out  # factor j acts after factor j - 1
        return out

    def matrix(p):
        return prod([m for m, _ in factors(p)])

    def derivatives(p):
        fs = factors(p)
        ds = []
        for j in range(k):
            mats = [m for m, _ in fs]
            mats[j] = -1j * fs[j][1] @ mats[j]
            ds.append(prod(mats))
        return torch.stack(ds, dim=-3)

    return Gate(f"chain{k}", 1, matrix_fn=matrix, derivative_fn=derivatives, num_params=k,
                spectra=[(-0.5, 0.5)] * k)  # fmt: skip


@pytest.mark.parametrize("k", [4, 5])
def test_matrix_fn_gates_up_to_four_parameters_run_compiled(k):
    """Four parameters is the interpreter's limit; a fifth sends the circuit to the NumPy
    engine. Either way states match dense algebra and gradients central differences."""
    gate = _rotation_chain_gate(k)
    c = hqml.Circuit(3)
    x, w = c.input("x", 2), c.weight("w", k)
    c.ry(x[0], 0).ry(x[1], 2).cx(0, 1)
    c.append(gate, [1], [w[i] * (1 + 0.5 * i) + (x[0] if i == 0 else 0) for i in range(k)])
    c.cx(1, 2).rz(w[0], 2)
    compiled = interpreter_program.compile_program(c) is not None
    assert compiled == (k <= interpreter_program.MAX_GATE_PARAMS)
    rng = np.random.default_rng(k)
    xs = torch.tensor(rng.uniform(-2, 2, (6, 2)))
    ws = torch.tensor(rng.uniform(-2, 2, k))
    states = hqml.state(c, inputs={"x": xs}, weights={"w": ws}, dtype=torch.complex128)
    for b in range(6):
        ref = reference_state(c, {"x": xs[b].numpy()}, {"w": ws.numpy()})
        np.testing.assert_allclose(states[b].numpy(), ref, atol=1e-12)
    obs = [hqml.Z(1), hqml.Z(0) @ hqml.Z(2)]

    def loss(wv):
        v = hqml.expval(c, obs, inputs={"x": xs}, weights={"w": wv}, dtype=torch.complex128)
        return (v[:, 0] - 0.3 * v[:, 1]).sum()

    wg = ws.clone().requires_grad_(True)
    loss(wg).backward()
    eps = 1e-6
    for i in range(k):
        d = torch.zeros(k, dtype=torch.float64)
        d[i] = eps
        fd = (loss(ws + d) - loss(ws - d)) / (2 * eps)
        assert float(wg.grad[i]) == pytest.approx(float(fd), abs=1e-7)


def test_near_identity_and_near_permutation_gates_are_kept():
    """A phase of 1e-6 rad is no identity and no pure permutation: the compiler must keep it."""
    eps = 1e-6
    phase = Gate("tiny_phase", 1, matrix=np.diag([1, np.exp(1j * eps)]))
    flip = Gate("tiny_flip", 1, matrix=np.array([[0, 1], [np.exp(1j * eps), 0]]))
    c = hqml.Circuit(2).h(0).h(1).append(phase, [0]).append(flip, [1]).cx(0, 1)
    prog = interpreter_program.compile_program(c)
    assert prog is not None
    got = hqml.state(c, dtype=torch.complex128).numpy()
    ref = reference_state(c)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)
    # the phases are really there: the state differs from the one without them
    plain = reference_state(hqml.Circuit(2).h(0).h(1).x(1).cx(0, 1))
    assert np.abs(got - plain).max() > eps / 4


def test_dense_observables_beyond_five_qubits_take_the_layer_kernels(monkeypatch):
    """On 6-12 qubits the interpreter measures only diagonal observables itself: a dense
    observable (X, Y) or wide probabilities go to the layer kernels, not to NumPy matrices."""
    calls = {"native": 0}
    real_forward = interpreter.kernel_forward

    def counted(*a, **k):
        calls["native"] += 1
        return real_forward(*a, **k)

    monkeypatch.setattr(interpreter, "kernel_forward", counted)
    rng = np.random.default_rng(8)
    n = 7
    c = _supported_circuit(rng, n, 30)
    x, w = rng.uniform(-2, 2, (4, 3)), rng.uniform(-2, 2, 4)
    kw = {"inputs": {"x": torch.tensor(x)}, "weights": {"w": torch.tensor(w)}}
    kw["dtype"] = torch.complex128
    refs = [reference_state(c, {"x": x[b]}, {"w": w}) for b in range(4)]
    hqml.expval(c, [hqml.Z(0), hqml.Z(1) @ hqml.Z(n - 1)], **kw)
    assert calls["native"] == 1  # diagonal: compiled
    dense = hqml.X(0) + 0.5 * hqml.Y(3) @ hqml.Z(5)
    got = hqml.expval(c, dense, **kw).numpy()
    probs = hqml.probs(c, wires=list(range(n)), **kw).numpy()  # 128 columns
    assert calls["native"] == 1
    for b in range(4):
        assert got[b] == pytest.approx(_dense_expval(refs[b], dense, n), abs=1e-10)
        np.testing.assert_allclose(probs[b], np.abs(refs[b]) ** 2, atol=1e-12)


def test_an_observable_edited_in_place_is_routed_again():
    """The engine choice is kept per task, but an observable edited from Z to X on 7 qubits must
    leave the interpreter (it would otherwise measure a dense 128 x 128 matrix)."""
    from hqml.backends.base import Expval, Task
    from hqml.circuit.params import bind_parameters

    n = 7
    c = hqml.Circuit(n)
    for q in range(n):
        c.ry(0.1 * (q + 1), q)
    c.cx(0, 1)
    theta = bind_parameters(c, None, None, torch.float64, None).theta.expand(4, -1).contiguous()
    obs = 1.0 * hqml.Z(0)
    task = Task(c, theta, Expval((obs,)), torch.complex128)
    assert not choose.choose_engine(task).autograd
    obs.terms = {((0, "X"),): 1.0}
    assert choose.choose_engine(task).autograd
    assert choose.choose_engine(task.with_theta(theta.clone())).autograd
