"""W6's noisy W1 ansatz in the peer frameworks (:mod:`hqml.bench.w6_noise` has the workload).

The noise: after every gate, on each wire it acts on, a depolarising channel (probability
``P_DEPOL`` of one of X, Y, Z, each ``P_DEPOL / 3``: PennyLane's, Cirq's, Qulacs' and hqml's
convention; Qiskit's ``depolarizing_error`` takes ``4/3`` of it) and then amplitude damping
``GAMMA``. Every builder returns a :class:`~hqml.bench.registry.Prepared` whose values are
``expval`` (``(B, n)``) and ``loss`` (batch mean of sum_i <Z_i>^2), and ``grad_w`` where the
framework differentiates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench import peers
from hqml.bench.registry import Case, Prepared

P_DEPOL = 0.01
GAMMA = 0.02


def forward_values(e: Any) -> dict[str, np.ndarray]:
    """``expval`` ``(B, n)`` and ``loss`` (batch mean of sum_i <Z_i>^2) from the expectations."""
    e = np.asarray(e, dtype=np.float64)
    return {"expval": e, "loss": np.asarray((e**2).sum(-1).mean())}


def _gates(n: int, layers: int, x: np.ndarray, w: np.ndarray) -> list[tuple[str, Any, tuple]]:
    """The W1 ansatz of one sample as ``(name, angle, wires)``."""
    out: list[tuple[str, Any, tuple]] = [("ry", x[i], (i,)) for i in range(n)]
    for layer in range(layers):
        for i in range(n):
            out += [("ry", w[layer, i, 0], (i,)), ("rz", w[layer, i, 1], (i,))]
        out += [("cx", None, (i, (i + 1) % n)) for i in range(n)]
    return out


def aer(case: Case, data: dict[str, Any]) -> Prepared:
    """Qiskit Aer: ``density_matrix``, or ``statevector`` with ``trajectories`` shots (one
    trajectory per shot, the saved expectation values averaged over them); single precision;
    the batch as one job of bound circuits."""
    from qiskit import QuantumCircuit, transpile
    from qiskit.quantum_info import Pauli
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, amplitude_damping_error, depolarizing_error

    n, trajectories = case["n"], case.get("trajectories")
    error = depolarizing_error(4 * P_DEPOL / 3, 1).compose(amplitude_damping_error(GAMMA))
    model = NoiseModel()
    model.add_all_qubit_quantum_error(error, ["ry", "rz"])
    model.add_all_qubit_quantum_error(error.tensor(error), ["cx"])
    method = "statevector" if trajectories else "density_matrix"
    sim = AerSimulator(
        method=method, noise_model=model, precision="single", max_parallel_threads=peers.threads()
    )
    circuits = []
    for x in data["x"]:
        qc = QuantumCircuit(n)
        for name, angle, wires in _gates(n, case["layers"], x, data["w"]):
            getattr(qc, name)(*(() if angle is None else (float(angle),)), *wires)
        for i in range(n):
            qc.save_expectation_value(Pauli("Z"), [i], label=f"z{i}")
        circuits.append(qc)
    tqc = transpile(circuits, sim, optimization_level=0)
    shots = trajectories or 1

    def step() -> Any:
        result = sim.run(tqc, shots=shots, seed_simulator=7).result()
        return [[float(result.data(k)[f"z{i}"]) for i in range(n)] for k in range(len(tqc))]

    return Prepared(
        step, forward_values, f"{method}, {shots} shots, single precision, forward only"
    )


def pennylane_mixed(case: Case, data: dict[str, Any]) -> Prepared:
    """PennyLane ``default.mixed``: torch interface, backprop, the batch broadcast."""
    import pennylane as qml
    import torch

    n = case["n"]
    ops = {"ry": qml.RY, "rz": qml.RZ}

    @qml.qnode(qml.device("default.mixed", wires=n), interface="torch", diff_method="backprop")
    def circuit(x: Any, w: Any) -> Any:
        for name, angle, wires in _gates(n, case["layers"], x.T, w):
            if name == "cx":
                qml.CNOT(wires=list(wires))
            else:
                ops[name](angle, wires=wires[0])
            for q in wires:
                qml.DepolarizingChannel(P_DEPOL, wires=q)
                qml.AmplitudeDamping(GAMMA, wires=q)
        return [qml.expval(qml.Z(i)) for i in range(n)]

    xt = torch.tensor(data["x"], dtype=torch.float64)
    wt = torch.tensor(data["w"], dtype=torch.float64, requires_grad=True)

    def step() -> Any:
        wt.grad = None
        e = torch.stack(list(circuit(xt, wt)), dim=-1).reshape(len(xt), n)
        loss = (e**2).sum(-1).mean()
        loss.backward()
        return e.detach(), loss.detach(), wt.grad

    def values(out: Any) -> dict[str, np.ndarray]:
        return {**forward_values(out[0].numpy()), "grad_w": out[2].numpy()}

    return Prepared(step, values, "default.mixed, backprop, complex128")


def _cirq_circuits(case: Case, data: dict[str, Any]) -> tuple[list, list]:
    import cirq

    n = case["n"]
    q = peers.cirq_qubits(n)
    make = {"ry": cirq.ry, "rz": cirq.rz}
    circuits = []
    for x in data["x"]:
        c = cirq.Circuit()
        for name, angle, wires in _gates(n, case["layers"], x, data["w"]):
            on = [q[i] for i in wires]
            c.append(cirq.CNOT(*on) if name == "cx" else make[name](float(angle))(*on))
            c.append(cirq.depolarize(P_DEPOL).on_each(*on))
            c.append(cirq.amplitude_damp(GAMMA).on_each(*on))
        circuits.append(c)
    return circuits, q


def cirq_density_matrix(case: Case, data: dict[str, Any]) -> Prepared:
    """Cirq ``DensityMatrixSimulator`` (complex64), one sample after another."""
    import cirq

    circuits, q = _cirq_circuits(case, data)
    sim = cirq.DensityMatrixSimulator(dtype=np.complex64)
    n = case["n"]

    def step() -> Any:
        out = []
        for c in circuits:
            rho = sim.simulate(c, qubit_order=q).final_density_matrix
            p = np.real(np.diag(rho)).reshape((2,) * n)
            out.append([p.take(0, i).sum() - p.take(1, i).sum() for i in range(n)])
        return out

    return Prepared(step, forward_values, "DensityMatrixSimulator, complex64, forward only")


def qsim_trajectories(case: Case, data: dict[str, Any]) -> Prepared:
    """qsim's quantum trajectories (``ev_noisy_repetitions``), the fastest fused gate size."""
    import cirq

    circuits, q = _cirq_circuits(case, data)
    observables = [cirq.Z(qi) for qi in q]

    def run(sim: Any) -> Any:
        return [
            np.real(sim.simulate_expectation_values(c, observables, qubit_order=q))
            for c in circuits
        ]

    sim, size, times = peers.qsim_best(run, ev_noisy_repetitions=case["trajectories"])
    info = f"{case['trajectories']} trajectories, {peers.fused_note(size, times)}"
    return Prepared(lambda: run(sim), forward_values, info)


def qulacs_density_matrix(case: Case, data: dict[str, Any]) -> Prepared:
    """Qulacs ``DensityMatrix`` (complex128), one sample after another (its rotations have the
    opposite sign: RY(a) = exp(+i a Y / 2))."""
    from qulacs import DensityMatrix, Observable, QuantumCircuit
    from qulacs.gate import AmplitudeDampingNoise, DepolarizingNoise

    n = case["n"]
    circuits = []
    for x in data["x"]:
        c = QuantumCircuit(n)
        for name, angle, wires in _gates(n, case["layers"], x, data["w"]):
            if name == "cx":
                c.add_CNOT_gate(*wires)
            else:
                getattr(c, f"add_{name.upper()}_gate")(wires[0], -float(angle))
            for i in wires:
                c.add_gate(DepolarizingNoise(i, P_DEPOL))
                c.add_gate(AmplitudeDampingNoise(i, GAMMA))
        circuits.append(c)
    zs = []
    for i in range(n):
        z = Observable(n)
        z.add_operator(1.0, f"Z {i}")
        zs.append(z)
    state = DensityMatrix(n)

    def step() -> Any:
        out = []
        for c in circuits:
            state.set_zero_state()
            c.update_quantum_state(state)
            out.append([z.get_expectation_value(state).real for z in zs])
        return out

    return Prepared(step, forward_values, "DensityMatrix, complex128, forward only")


def tensorcircuit_dm(case: Case, data: dict[str, Any]) -> Prepared:
    """TensorCircuit-NG ``DMCircuit`` on JAX, complex64, ``jit(value_and_grad)`` with ``vmap``
    over the batch."""
    import tensorcircuit as tc

    K = tc.set_backend("jax")
    tc.set_dtype("complex64")
    n = case["n"]

    def expz(x: Any, w: Any) -> Any:
        c = tc.DMCircuit(n)
        for name, angle, wires in _gates(n, case["layers"], x, w):
            if name == "cx":
                c.cnot(*wires)
            else:
                getattr(c, name)(wires[0], theta=angle)
            for i in wires:
                c.depolarizing(i, px=P_DEPOL / 3, py=P_DEPOL / 3, pz=P_DEPOL / 3)
                c.amplitudedamping(i, gamma=GAMMA, p=1.0)
        return K.stack([K.real(c.expectation_ps(z=[i])) for i in range(n)])

    vexpz = K.vmap(expz, vectorized_argnums=0)

    def objective(w: Any, x: Any) -> Any:
        e = vexpz(x, w)
        return K.mean(K.sum(e**2, axis=1)), e

    vg = K.jit(K.value_and_grad(objective, has_aux=True))
    xj, wj = (K.convert_to_tensor(data[k].astype(np.float32)) for k in ("x", "w"))

    def step() -> Any:
        (loss, e), grad = vg(wj, xj)
        grad.block_until_ready()
        return e, loss, grad

    def values(out: Any) -> dict[str, np.ndarray]:
        return {**forward_values(np.asarray(out[0])), "grad_w": np.asarray(out[2], np.float64)}

    return Prepared(step, values, "DMCircuit, jax, jit + vmap, complex64")
