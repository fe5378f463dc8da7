"""``qiskit:<device>`` offline: Aer (exact values equal hqml's statevector for every translated
gate), IBM fake devices (values equal hqml's density matrix under the device's own noise model
within 4 standard errors), packing (one job for a mini-batch's values, one for its whole
parameter-shift gradient), the transpile cache, and the IBM path up to the missing account."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml import accounting
from hqml.backends.base import Backend, Expval, Task
from hqml.backends.providers import CredentialsMissing, UnsupportedRequest
from hqml.circuit.gates import Gate
from hqml.circuit.params import bind_parameters

pytest.importorskip("qiskit_ibm_runtime", reason="needs the hardware extra")
pytest.importorskip("qiskit_aer", reason="needs the hardware extra")
from qiskit import qasm2  # noqa: E402

from hqml.backends.providers.qiskit import (  # noqa: E402
    QiskitBackend,
    has_saved_ibm_account,
    transpile_cache_info,
)

F64 = torch.float64


def every_gate_circuit() -> hqml.Circuit:
    rng = np.random.default_rng(3)
    c = hqml.Circuit(4)
    w = c.weight("w", (16,))
    for name in ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg"]:
        c.append(name, [int(rng.integers(4))])
    c.rx(w[0], 0).ry(w[1], 1).rz(w[2] * 0.5 + 0.1, 2).p(w[3], 3).u(w[4], w[5], w[6], 0)
    c.swap(0, 2).iswap(1, 3).rxx(w[7], 0, 1).ryy(w[8], 2, 3).rzz(w[9], 1, 2)
    c.cx(3, 0).cy(0, 1).cz(1, 2).append("ch", [2, 3]).append("csx", [3, 1])
    c.crx(w[10], 0, 3).cry(w[11], 1, 0).crz(w[12], 2, 1).cp(w[13], 3, 2)
    c.append("cu", [1, 3], [w[14], 0.2, -0.4]).ccx(0, 1, 2).cswap(3, 0, 1)
    c.controlled("ry", [0, 1], 3, w[15])  # two controls on a named gate
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    c.unitary(q, [2, 0])  # no Qiskit name: its matrix, wire order reversed once
    c.ry(0.3, 1)  # a constant parameter
    return c


OBS = [hqml.Z(0), hqml.X(1) @ hqml.Y(3), 0.5 * hqml.Z(2) @ hqml.Z(3) - hqml.Y(0) + hqml.X(2)]


def test_aer_exact_values_equal_hqmls_statevector_for_every_translated_gate():
    c = every_gate_circuit()
    w = torch.tensor(np.random.default_rng(4).uniform(-3, 3, (5, 16)))  # 5 weight settings
    ref = torch.stack([hqml.expval(c, OBS, weights={"w": row}) for row in w])
    be = QiskitBackend("aer_simulator")
    got = torch.stack([hqml.expval(c, OBS, weights={"w": row}, backend=be) for row in w])
    torch.testing.assert_close(got, ref, atol=1e-9, rtol=0)


def test_wire_zero_is_qiskit_qubit_zero_in_values_and_samples():
    c = hqml.Circuit(3).x(0)
    be = QiskitBackend("aer_simulator", seed=3)
    vals = hqml.expval(c, [hqml.Z(0), hqml.Z(1), hqml.Z(2)], backend=be)
    assert vals.tolist() == [-1.0, 1.0, 1.0]
    bits = hqml.sample(c, 5, wires=[2, 0], backend=be)
    assert bits.tolist() == [[0, 1]] * 5  # bit j is wires[j]


def test_samples_follow_hqmls_probabilities():
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    c.ry(x[0], 0).cnot(0, 1).ry(x[1], 1)
    xs = torch.tensor([[0.4, 1.3], [2.0, -0.7]], dtype=F64)
    shots = 4000
    bits = hqml.sample(c, shots, inputs={"x": xs}, backend="qiskit:fake_manila", seed=9)
    p = hqml.probs(c, inputs={"x": xs})  # ideal: the fake device's noise is a few percent
    freq = torch.nn.functional.one_hot(bits[..., 0] * 2 + bits[..., 1], 4).double().mean(1)
    assert bits.shape == (2, shots, 2)
    assert (freq - p).abs().max() < 0.08


def layer_circuit(n: int) -> hqml.Circuit:
    c = hqml.Circuit(n)
    x, w = c.input("x", n), c.weight("w", (2, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(n):
            c.rz(w[layer, i], i).ry(w[layer, i] * 0.5, i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    return c


def _device_and_density_matrix(be, shots):
    """A 3-qubit layer circuit's values on ``be`` and hqml's density-matrix reference (the
    transpiled circuit on its physical qubits, under ``be``'s own noise model, converted)."""
    c = layer_circuit(3)
    x = torch.tensor([[0.4, 1.2, -0.7]], dtype=F64)
    w = torch.tensor(np.random.default_rng(5).uniform(-2, 2, (2, 3)))
    obs = [hqml.Z(0), hqml.Z(1), hqml.Z(2), hqml.Z(0) @ hqml.Z(2)]
    got = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend=be)[0].numpy()
    isa, cols = be._isa(Task(c, torch.zeros(1, 1), Expval(tuple(obs))))
    theta = bind_parameters(c, {"x": x}, {"w": w}).theta[0].numpy()
    hc = hqml.qasm.loads(qasm2.dumps(isa.assign_parameters(theta[cols])))
    q = isa.layout.final_index_layout()
    pobs = [hqml.Z(q[0]), hqml.Z(q[1]), hqml.Z(q[2]), hqml.Z(q[0]) @ hqml.Z(q[2])]
    nm = hqml.noise.NoiseModel.from_qiskit(be.noise_model())
    ref = hqml.expval(
        hc, pobs, backend="density_matrix", noise_model=nm, dtype=torch.complex128
    ).numpy()
    se = np.sqrt((1 - ref**2) / shots)  # +-1 outcomes
    ideal = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w})[0].numpy()
    return got, ref, se, ideal


def test_fake_device_equals_density_matrix_under_the_device_noise_model():
    be = QiskitBackend("fake_manila", shots=20_000, seed=11)
    got, ref, se, ideal = _device_and_density_matrix(be, 20_000)
    assert np.all(np.abs(got - ref) < 4 * se), (got, ref)
    assert np.abs(ideal - ref).max() > 8 * se.max()  # the noise is visible at these shots


def test_mps_trajectories_equal_the_density_matrix_and_are_chosen_for_wide_noisy_jobs():
    # hqml runs a fake device's noisy per-shot trajectories on Aer's MPS method from
    # MPS_FROM_QUBITS active qubits (W10 at n = 8): forced here on 5 qubits, against hqml's own
    # density matrix under the device's noise model
    from qiskit import QuantumCircuit

    from hqml.backends.providers.qiskit import fake_device
    from hqml.backends.providers.qiskit_devices import MPS_FROM_QUBITS, trajectory_device

    be = QiskitBackend(
        "fake_manila", shots=6000, seed=12, simulator_options={"method": "matrix_product_state"}
    )
    shared = fake_device("fake_manila")
    assert be.run_backend.options.method == "matrix_product_state"
    assert be.run_backend is not shared and shared.options.method == "automatic"
    got, ref, se, ideal = _device_and_density_matrix(be, 6000)
    assert np.all(np.abs(got - ref) < 4 * se), (got, ref)
    assert np.abs(ideal - ref).max() > 5 * se.max()
    # the choice: Aer's automatic method would run one statevector per shot (shots <= 2^active)
    wide = QuantumCircuit(16)
    for q in range(MPS_FROM_QUBITS):
        wide.sx(q)
    mps = trajectory_device("fake_guadalupe", {}, [wide], 2**MPS_FROM_QUBITS)
    assert mps.options.method == "matrix_product_state"
    assert trajectory_device("fake_guadalupe", {}, [wide], 2**MPS_FROM_QUBITS + 1) is None  # dm
    assert trajectory_device("fake_guadalupe", {}, [QuantumCircuit(16)], 100) is None
    assert trajectory_device("fake_guadalupe", {"method": "statevector"}, [wide], 100) is None
    assert trajectory_device("fake_guadalupe", {}, [wide], None) is None  # exact values
    with pytest.raises(ValueError, match="nope=1 is not an option of fake_manila's simulator"):
        QiskitBackend("fake_manila", simulator_options={"nope": 1})
    with pytest.raises(ValueError, match="must be a bool, number or string"):
        QiskitBackend("fake_manila", simulator_options={"noise_model": object()})


def test_a_wide_noisy_job_on_mps_gives_aers_statevector_trajectories():
    # 10 active qubits, 300 shots: hqml picks the MPS method; Aer's statevector method (the
    # automatic choice) is the reference, within shot noise
    c = hqml.Circuit(10)
    w = c.weight("w", (10,))
    for q in range(10):
        c.ry(w[q], q)
    for q in range(9):
        c.cnot(q, q + 1)
    obs = [hqml.Z(q) for q in range(10)] + [hqml.Z(0) @ hqml.Z(9)]
    wv = torch.tensor(np.random.default_rng(2).uniform(-2, 2, 10))
    layout = [0, 1, 2, 3, 5, 8, 11, 14, 13, 12]  # a path on fake_guadalupe
    vals = []
    for opts in (None, {"method": "statevector"}):
        be = QiskitBackend(
            "fake_guadalupe", shots=300, seed=7, initial_layout=layout, simulator_options=opts
        )
        vals.append(hqml.expval(c, obs, weights={"w": wv}, backend=be).numpy())
    se = np.sqrt((1 - vals[1] ** 2 + 1 / 300) / 300)
    assert np.all(np.abs(vals[0] - vals[1]) < 4 * np.sqrt(2) * se), vals


def test_a_batch_and_its_whole_gradient_take_one_job_each_and_one_transpilation():
    n, batch, shots = 2, 4, 100
    c = layer_circuit(n).rz(0.123, 0)  # a structure no other test transpiled
    be = QiskitBackend("fake_manila", shots=shots, seed=2)
    layer = hqml.nn.QuantumLayer(
        c, [hqml.Z(i) for i in range(n)], backend=be, diff_method="parameter-shift"
    )
    x = torch.rand(batch, n, generator=torch.Generator().manual_seed(0))
    misses = transpile_cache_info()["misses"]
    with accounting.track() as run:
        for _ in range(2):  # two training steps
            layer(x).sum().backward()
    # two shifts for every gate parameter a weight feeds (4 n); none for the inputs' (no grad)
    live = 2 * (2 * 2 * n)
    t = run.totals()
    assert t["jobs"] == 4  # per step: one for the values, one for the gradient
    assert t["circuits"] == 2 * (batch + live * batch)  # one measurement basis (Z's)
    assert t["shots"] == t["circuits"] * shots
    assert transpile_cache_info()["misses"] == misses + 1  # one structure, transpiled once
    assert all(p.grad is not None for p in layer.parameters())
    # a device that takes at most 50 circuits per job: the gradient is split, nothing more
    small = QiskitBackend("fake_manila", shots=shots, seed=2, max_circuits_per_job=50)
    with accounting.track() as run2:
        hqml.nn.QuantumLayer(
            c, [hqml.Z(i) for i in range(n)], backend=small, diff_method="parameter-shift"
        )(x).sum().backward()
    assert run2.totals()["jobs"] == 1 + -(-live * batch // 50)
    # a row whose observables need more bases than a job takes is refused before sending
    tiny = QiskitBackend("fake_manila", shots=shots, max_circuits_per_job=1)
    with accounting.track() as run3, pytest.raises(UnsupportedRequest, match="2 measurement"):
        hqml.expval(c, [hqml.Z(0), hqml.X(0)], inputs={"x": x}, weights={"w": torch.zeros(2, 2)},
                    backend=tiny)  # fmt: skip
    assert run3.calls == []


def test_gradients_on_a_noiseless_device_match_the_exact_ones():
    c = layer_circuit(2)
    x = torch.tensor([[0.3, -0.8], [1.1, 0.4]], dtype=F64)
    w0 = torch.tensor(np.random.default_rng(8).uniform(-2, 2, (2, 2)))
    grads = []
    for backend, shots in (
        ("statevector", None),
        (QiskitBackend("aer_simulator"), None),
        (QiskitBackend("aer_simulator", seed=4), 40_000),
    ):
        w = w0.clone().requires_grad_(True)
        hqml.expval(
            c,
            hqml.Z(1),
            inputs={"x": x},
            weights={"w": w},
            backend=backend,
            shots=shots,
            diff_method="parameter-shift",
        ).sum().backward()
        grads.append(w.grad)
    torch.testing.assert_close(grads[1], grads[0], atol=1e-9, rtol=0)
    # each entry: 2 rows x up to 2 columns x (f+ - f-)/2 of +-1 outcomes -> SE <= 2/sqrt(shots)
    assert (grads[2] - grads[0]).abs().max() < 4 * 2 / np.sqrt(40_000)


class _SeedDrawingStatevector(Backend):
    """hqml's statevector, drawing a call seed from the task's generator as a provider does,
    so that SPSA draws the same directions from the same seed on both."""

    name = "statevector"

    def __init__(self):
        self.sv = hqml.get_backend("statevector")

    def execute(self, tasks):
        for t in tasks:
            if t.generator is not None:
                torch.randint(1, 2**31 - 1, (1,), generator=t.generator)
        return self.sv.execute(tasks)


def test_spsa_and_wide_gradients_are_one_job(monkeypatch):
    """SPSA's plus and minus copies go in one job, and a gradient's shifted copies are not cut
    into a simulator's memory-sized chunks on a device: the provider packs them (here the bound
    is lowered to one row per call, as for a 25-qubit circuit). Gradients equal the statevector's
    (the same SPSA directions from the same seed; exact parameter shifts)."""
    import hqml.backends.base as base

    c = layer_circuit(2)
    x = torch.tensor([[0.3, -0.8], [1.1, 0.4], [-0.5, 0.9]], dtype=F64)
    w0 = torch.tensor(np.random.default_rng(9).uniform(-2, 2, (2, 2)))
    options = {"num_directions": 3, "h": 0.05}

    def grad(backend, method):
        w = w0.clone().requires_grad_(True)
        hqml.expval(c, [hqml.Z(0), hqml.Z(1)], inputs={"x": x}, weights={"w": w},
                    backend=backend, diff_method=method, seed=11,
                    diff_options=options if method == "spsa" else None,
                    ).sum().backward()  # fmt: skip
        return w.grad

    aer = QiskitBackend("aer_simulator")
    for method in ("spsa", "parameter-shift"):
        with accounting.track() as run:
            got = grad(aer, method)
        assert run.totals()["jobs"] == 2  # the values, then the whole gradient
        ref = _SeedDrawingStatevector() if method == "spsa" else "statevector"
        torch.testing.assert_close(got, grad(ref, method), atol=1e-9, rtol=0)
        circuits = run.totals()["circuits"]
    monkeypatch.setattr(base, "MAX_STACKED_AMPLITUDES", 4)  # one 2-qubit row per call
    sv = hqml.get_backend("statevector")
    assert sv.rows_per_call(Task(c, torch.zeros(1, 4), Expval((hqml.Z(0),)))) == 1
    with accounting.track() as run:
        got = grad(aer, "parameter-shift")
    assert run.totals()["jobs"] == 2 and run.totals()["circuits"] == circuits  # as unbounded
    torch.testing.assert_close(got, grad(sv, "parameter-shift"), atol=1e-9, rtol=0)


def test_refusals_before_sending():
    be = QiskitBackend("fake_manila")
    c = hqml.Circuit(2).h(0)
    with pytest.raises(UnsupportedRequest, match="shots only.*pass shots=N"):
        hqml.expval(c, hqml.Z(0), backend=be)
    with pytest.raises(ValueError, match="at most 5 qubits; the circuit has 6"):
        hqml.expval(hqml.Circuit(6), hqml.Z(0), backend=be, shots=10)
    custom = Gate("myrot", 1, generator=np.diag([0.5, -0.25]))
    c2 = hqml.Circuit(1)
    c2.append(custom, [0], [c2.weight("w", (1,))[0]])
    with pytest.raises(UnsupportedRequest, match="gate 'myrot' with symbolic parameters"):
        hqml.expval(c2, hqml.Z(0), weights={"w": torch.ones(1)}, backend=be, shots=10)
    with pytest.raises(UnsupportedRequest, match="cannot return probs"):
        hqml.probs(c, backend="qiskit:aer_simulator")
    assert be.ledger.calls == []
    with pytest.raises(
        ValueError, match="unknown IBM fake device 'fake_nowhere'; known: .*fake_manila"
    ):
        QiskitBackend("fake_nowhere")


def test_ibm_devices_need_a_saved_account(monkeypatch, tmp_path):
    from qiskit_ibm_runtime.accounts import management

    monkeypatch.setattr(
        management, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", str(tmp_path / "qiskit-ibm.json")
    )
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    assert not has_saved_ibm_account()
    with pytest.raises(CredentialsMissing) as info:
        hqml.get_backend("qiskit:ibm_brisbane", shots=100)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("qiskit:ibm_brisbane: no credentials")
    assert "save_account" in msg and "fake_manila" in msg
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "not-a-real-token")
    assert has_saved_ibm_account()  # the service would now be asked (not in tests: offline)


class _Service:
    """A stand-in for a ``QiskitRuntimeService`` with an account: its device is the fake
    Manila, which the runtime's primitives run in local mode (the same code path as IBM's)."""

    def backend(self, name):
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        return FakeManilaV2()


def test_the_ibm_path_sends_raw_estimator_jobs_past_the_account():
    """With an account (here a service passed in), an IBM device takes the fake devices' path
    but asks the runtime estimator for raw values (resilience_level=0: IBM's default readout
    mitigation would otherwise be applied under hqml's own); the runtime's local mode reports
    that the job carries the option, the values match the fake device's, the call is priced
    as IBM's."""
    c = hqml.Circuit(2)
    w = c.weight("w", (2,))
    c.ry(w[0], 0).ry(w[1], 1).cnot(0, 1)
    x = {"w": torch.tensor([0.7, -0.4], dtype=F64)}
    be = hqml.get_backend("qiskit:ibm_manila", service=_Service(), shots=4000)
    assert not be.local and be.capabilities.shots_only
    with (
        accounting.track() as run,
        pytest.warns(UserWarning, match="resilience_level option has no effect in local"),
    ):
        got = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], weights=x, backend=be)
    fake = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], weights=x, backend="qiskit:fake_manila",
                       shots=4000, seed=5)  # fmt: skip
    se = torch.sqrt(2 * (1 - fake.double() ** 2).clamp_min(0.05) / 4000)
    assert ((got.double() - fake.double()).abs() <= 4 * se).all()
    (call,) = run.calls
    assert call.backend == "qiskit:ibm_manila" and (call.jobs, call.shots) == (1, 4000)
    assert call.cost == pytest.approx(accounting.PriceTable().estimate(call.backend, 1, 4000))
    assert call.cost > 0  # IBM's time price, not a simulator's
    assert be._primitive((False, False), None).options.resilience_level == 0
    asked = hqml.get_backend("qiskit:ibm_manila", service=_Service(), resilience_level=1)
    assert asked._primitive((False, False), None).options.resilience_level == 1
    with pytest.raises(ValueError, match="resilience_level=1 is IBM Runtime's mitigation"):
        hqml.get_backend("qiskit:fake_manila", resilience_level=1)


@pytest.mark.parametrize("mode", ["batch", "session"])
def test_a_runtime_batch_or_session_opened_by_name_serves_every_call_until_closed(mode):
    """``mode="batch"|"session"`` opens one runtime Batch/Session on first use (the runtime's
    local mode runs it for a fake device) that every later call runs in, closed by ``close()``,
    which the job service calls when an hqml session ends; values equal those of the same
    device and seed without it."""
    from qiskit_ibm_runtime import Batch, Session

    from hqml.runtime.backend_cache import close_backend

    c = layer_circuit(2)
    x = {"x": torch.tensor([[0.3, -0.8], [1.1, 0.4]], dtype=F64)}
    w = {"w": torch.tensor(np.random.default_rng(5).uniform(-2, 2, (2, 2)))}
    plain = QiskitBackend("fake_manila", shots=500, seed=4)
    be = QiskitBackend("fake_manila", shots=500, seed=4, mode=mode)
    assert be.runtime_mode.opened is None  # nothing opened before a call
    opened = []
    for _ in range(2):
        got = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], inputs=x, weights=w, backend=be)
        opened.append(be.runtime_mode.opened)
        want = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], inputs=x, weights=w, backend=plain)
        torch.testing.assert_close(got, want, atol=0, rtol=0)
    assert opened[0] is opened[1] and isinstance(opened[0], Batch if mode == "batch" else Session)
    close_backend(be)
    assert be.runtime_mode.opened is None
    with pytest.raises(ValueError, match="mode must be 'session', 'batch'"):
        QiskitBackend("fake_manila", mode="dedicated")


def test_names_resolve_through_the_registry():
    names = hqml.available_backends()
    assert {"qiskit:aer_simulator", "qiskit:fake_manila"} <= set(names)
    be = hqml.get_backend("qiskit:fake_jakarta", shots=10)
    assert be.capabilities.max_qubits == 7 and be.capabilities.shots_only
    assert {"cx", "rz", "sx"} <= be.capabilities.native_gates
    assert hqml.get_backend("qiskit:aer_simulator").capabilities.exact
    with pytest.raises(ValueError, match="names no device"):
        hqml.get_backend("qiskit:")


def test_a_kernel_gram_matrix_is_one_job():
    from hqml.kernels import FidelityKernel

    c = hqml.Circuit(2)
    x = c.input("x", 2)
    c.ry(x[0], 0).ry(x[1], 1).cnot(0, 1).rz(x[0] * x[1], 1)
    X = np.random.default_rng(0).uniform(0, 2, (12, 2))
    exact = FidelityKernel(c)(X)
    with accounting.track() as run:
        K = FidelityKernel(c, shots=2000, seed=3, backend="qiskit:aer_simulator")(X)
    assert (run.totals()["jobs"], run.totals()["circuits"]) == (1, 12 * 11 // 2)
    se = np.sqrt(exact * (1 - exact) / 2000) + 1e-3
    assert np.all(np.abs(K - exact) < 4 * se)


def test_zne_folds_survive_the_transpiler_and_all_scales_are_one_job():
    from hqml.mitigation import ZNE, fold_global

    c = hqml.Circuit(2).h(0).cnot(0, 1).ry(0.3, 1).cnot(1, 0)
    be = QiskitBackend("fake_manila", shots=2000, seed=3)

    def two_qubit_gates(circuit, keep: bool) -> int:
        task = Task(
            circuit,
            torch.zeros(1, 1),
            Expval((hqml.Z(0),)),
            options={"keep_gates": True} if keep else {},
        )
        return be._isa(task)[0].count_ops().get("cx", 0)

    base = two_qubit_gates(c, keep=True)
    assert two_qubit_gates(fold_global(c, 3), keep=True) == 3 * base  # G G^-1 G kept
    assert two_qubit_gates(fold_global(c, 3), keep=False) < 3 * base  # level 1 cancels folds
    with accounting.track() as run:
        v = hqml.expval(c, hqml.Z(0) @ hqml.Z(1), backend=ZNE(scale_factors=(1, 3, 5)).backend(be))
    assert (run.totals()["jobs"], run.totals()["circuits"]) == (1, 3)  # three scales, one job
    assert torch.isfinite(v).all()


def test_readout_calibration_runs_on_the_device_and_corrects_its_readout():
    from hqml.mitigation import ReadoutMitigatedBackend, ReadoutMitigator

    # pinned qubits: calibration and circuits read the same physical qubits
    be = QiskitBackend("fake_manila", shots=20_000, seed=4, initial_layout=[0, 1])
    with accounting.track() as run:
        mitigator = ReadoutMitigator.calibrate(2, backend=be, shots=20_000, seed=1)
    assert run.totals()["jobs"] == 2  # |00> and |11>, on the device
    c = hqml.Circuit(2).x(0)
    raw = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], backend=be)
    fixed = hqml.expval(
        c,
        [hqml.Z(0), hqml.Z(1)],
        backend=ReadoutMitigatedBackend(be, mitigator),
        shots=20_000,
        seed=2,
    )
    ideal = torch.tensor([-1.0, 1.0])
    assert (raw - ideal).abs().max() > 0.05  # the device misreads a few percent
    assert (fixed.float() - ideal).abs().max() < 0.03  # standard errors here: about 0.005


def test_transpile_cache_keeps_a_gate_keyed_by_identity_alive():
    """A user gate given by ``matrix_fn`` is keyed by ``id()`` in the transpile cache: the
    entry holds the gate, so no later gate can reuse that id and hit another gate's circuit."""
    import gc
    import weakref

    def ry_like(t):
        c, s = torch.cos(t / 2), torch.sin(t / 2)
        return torch.stack([torch.stack([c, -s]), torch.stack([s, c])]).to(torch.complex128)

    def ry_like_derivative(t):
        c, s = torch.cos(t / 2), torch.sin(t / 2)
        return 0.5 * torch.stack([torch.stack([-s, -c]), torch.stack([c, -s])]).to(torch.complex128)

    gate = Gate("myry", 1, matrix_fn=ry_like, derivative_fn=ry_like_derivative,
                num_params=1, spectra=[[-0.5, 0.5]])  # fmt: skip
    assert gate._key()[-1] == id(gate)  # the case the cache has to guard
    c = hqml.Circuit(1).append(gate, 0, [0.3])
    got = hqml.expval(c, [hqml.Z(0)], backend="qiskit:aer_simulator")
    assert abs(float(got.reshape(-1)[0]) - np.cos(0.3)) < 1e-6
    alive = weakref.ref(gate)
    del gate, c
    gc.collect()
    assert alive() is not None


def test_transpiled_circuits_carry_no_symbolic_global_phase():
    """The transpiler's global phase (half of every rotation angle) would be a parameter
    expression the primitive binds again for every row; it is unobservable, so it is dropped,
    and the values stay exact."""
    c = every_gate_circuit()
    isa, cols = QiskitBackend("fake_manila")._isa(Task(c, torch.zeros(1, 1), Expval(tuple(OBS))))
    assert isinstance(isa.global_phase, float)
    gate_params = {p for ins in isa.data for v in ins.operation.params for p in _params(v)}
    assert set(isa.parameters) == gate_params and len(cols) == len(gate_params) > 0
    w = torch.tensor(np.random.default_rng(8).uniform(-2, 2, (2, 16)))
    got = hqml.expval(c, OBS, weights={"w": w}, backend="qiskit:aer_simulator")
    ref = hqml.expval(c, OBS, weights={"w": w}, dtype=torch.complex128)
    assert torch.allclose(got, ref, atol=1e-6)


def _params(value):
    return getattr(value, "parameters", ())


def test_tasks_on_one_circuit_with_different_observables_keep_their_own_values():
    # qiskit-ibm-runtime's local EstimatorV2 was seen returning 0.99 for <Z_q> = 0 when one
    # circuit went as several PUBs with different one-qubit observables (8 qubits, 16-qubit
    # fake device): hqml's tasks on one circuit must each get their own observables' values
    c = hqml.Circuit(8)
    for q in range(8):
        c.h(q)
    c.x(3).h(3)  # H X H = Z: qubit 3 stays |0>, <Z_3> = 1; the others 0
    be = QiskitBackend(
        "fake_guadalupe", shots=4000, seed=3, initial_layout=[0, 1, 2, 3, 5, 8, 11, 14]
    )
    theta = torch.zeros(1, 0, dtype=F64)
    tasks = [Task(c, theta, Expval((hqml.Z(q),))) for q in range(8)]
    alone = torch.cat([v.reshape(-1) for v in be.execute(tasks)]).numpy()
    together = be.execute([Task(c, theta, Expval(tuple(hqml.Z(q) for q in range(8))))])
    exact = np.array([0, 0, 0, 1, 0, 0, 0, 0], dtype=float)
    # device noise (readout, gates) moves them by a few hundredths; the defect by ~1
    assert np.abs(alone - exact).max() < 0.15, alone
    assert np.abs(together[0].reshape(-1).numpy() - exact).max() < 0.15, together
