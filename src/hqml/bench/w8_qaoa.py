"""W8: the QAOA inner loop: one energy and its full gradient, MaxCut on a random 3-regular
graph, p = 3 layers, n = 20, 24, 26 qubits, complex64.

Circuit: H on every wire; per layer l: RZZ(w[l, 0]) on every edge (``exp(-i w/2 Z_a Z_b)``),
then RX(w[l, 1]) on every wire. Energy ``E = <sum_edges Z_a Z_b / 2>`` (so the expected cut is
``|E| / 2 - E``, as in :func:`hqml.algorithms.qaoa_angles.maxcut_hamiltonian`); the gradient is
``dE/dw`` for the 2p angles.

Frameworks, each at its fastest documented setting for an energy and gradient:

- hqml: complex64, ``diff_method="adjoint"``;
- Lightning (``lightning.qubit``, and ``lightning.kokkos`` when installed): complex64, adjoint;
- Qiskit Aer: ``EstimatorV2`` (exact), the gradient by central finite differences (what Qiskit
  offers), all ``4p + 1`` parameter sets in one PUB, step ``1e-4``, in double precision (in
  single precision the finite-difference rounding, about 1e-7 |E| / 1e-4, exceeds the 1e-4
  gradient tolerance);
- TensorCircuit-NG: JAX, complex64, ``jit(value_and_grad)``;
- CUDA-Q (``qpp-cpu``, complex128, from its side venv): ``CentralDifference`` on the energy
  (:mod:`hqml.bench.cudaq_peer`);
- qsim: the energy only (``simulate_expectation_values``; it has no gradient), complex64, the
  fastest of fused gate sizes 2-4;
- ``hqml-forward``: hqml's energy alone (no gradient recorded), the like-for-like reference of
  qsim's ratio (:func:`hqml.bench.report.summary_rows`).

Agreement: the energy is a sum of ``|E| = 3n/2`` terms ``<Z_a Z_b> / 2``; each term is held to
the suite's forward tolerance (1e-5), so the energy to ``1e-5 |E| / 2`` and the gradient to
``1e-4 |E| / 2`` (:func:`tolerances`): at 20 qubits in complex64 the frameworks' rounding
already differs by 2e-5 to 5e-5 on energies of order 10.

"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.algorithms.qaoa_angles import Graph, maxcut_hamiltonian, random_regular_graph
from hqml.bench import cudaq_peer, devices, peers
from hqml.bench.registry import (
    FORWARD_TOL,
    GRAD_TOL,
    HQML_FORWARD,
    Case,
    Gpu,
    Impl,
    Prepared,
    Workload,
)
from hqml.circuit import Circuit
from hqml.execute import expval

SEED = 808
FD_STEP = 1e-4


def make_data(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + case["n"])
    graph = random_regular_graph(case["n"], 3, rng)
    return {
        "edges": [tuple(int(v) for v in e) for e in graph.edges],
        "w": rng.uniform(0, np.pi, (case["p"], 2)),
    }


def tolerances(case: Case) -> dict[str, float]:
    """Term-wise tolerances summed over the cost's ``3n/2`` terms of weight 1/2."""
    weight = 0.5 * 3 * case["n"] / 2
    return {"energy": FORWARD_TOL * weight, "grad": GRAD_TOL * weight}


def _values(out: Any) -> dict[str, np.ndarray]:
    energy, grad = out
    as_np = [v.detach().cpu().numpy() if hasattr(v, "detach") else v for v in (energy, grad)]
    return {"energy": np.asarray(as_np[0], np.float64), "grad_w": np.asarray(as_np[1], np.float64)}


def _circuit(case: Case, data: dict[str, Any]) -> tuple[Circuit, Any]:
    n, p = case["n"], case["p"]
    c = Circuit(n)
    ws = c.weight("w", (p, 2))
    for i in range(n):
        c.h(i)
    for layer in range(p):
        for a, b in data["edges"]:
            c.rzz(ws[layer, 0], a, b)
        for i in range(n):
            c.rx(ws[layer, 1], i)
    return c, maxcut_hamiltonian(Graph(n, tuple(data["edges"])))


def _hqml(case: Case, data: dict[str, Any], device: str) -> Prepared:
    import torch

    c, cost = _circuit(case, data)
    dev = torch.device(device)
    wt = torch.tensor(data["w"], dtype=torch.float32, device=dev, requires_grad=True)

    def step() -> Any:
        wt.grad = None
        e = expval(c, cost, weights={"w": wt}, diff_method="adjoint", device=dev)
        e.backward()
        return e.detach(), wt.grad

    return Prepared(step, _values, f"complex64, adjoint, {device}")


def _hqml_forward(case: Case, data: dict[str, Any], device: str) -> Prepared:
    """The energy alone (what qsim computes), with no gradient recorded."""
    import torch

    c, cost = _circuit(case, data)
    dev = torch.device(device)
    wt = torch.tensor(data["w"], dtype=torch.float32, device=dev)
    return Prepared(
        lambda: expval(c, cost, weights={"w": wt}, device=dev),
        lambda out: {"energy": np.asarray(out.detach().cpu().numpy(), np.float64)},
        f"energy only, complex64, {device}",
    )


def _lightning(pl_device: str) -> Any:
    def setup(case: Case, data: dict[str, Any]) -> Prepared:
        import pennylane as qml
        import torch

        n, p = case["n"], case["p"]
        dev = qml.device(pl_device, wires=n, c_dtype=np.complex64)
        cost = qml.Hamiltonian(
            [0.5] * len(data["edges"]), [qml.Z(a) @ qml.Z(b) for a, b in data["edges"]]
        )

        @qml.qnode(dev, interface="torch", diff_method="adjoint")
        def energy(w: Any) -> Any:
            for i in range(n):
                qml.Hadamard(i)
            for layer in range(p):
                for a, b in data["edges"]:
                    qml.IsingZZ(w[layer, 0], wires=[a, b])
                for i in range(n):
                    qml.RX(w[layer, 1], wires=i)
            return qml.expval(cost)

        wt = torch.tensor(data["w"], dtype=torch.float32, requires_grad=True)

        def step() -> Any:
            wt.grad = None
            e = energy(wt)
            e.backward()
            return e.detach(), wt.grad

        return Prepared(step, _values, f"{pl_device}, adjoint, complex64")

    return setup


def _aer(case: Case, data: dict[str, Any]) -> Prepared:
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer.primitives import EstimatorV2

    n, p = case["n"], case["p"]
    wp = ParameterVector("w", 2 * p)
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for layer in range(p):
        for a, b in data["edges"]:
            qc.rzz(wp[2 * layer], a, b)
        qc.rx(wp[2 * layer + 1], range(n))
    cost = SparsePauliOp.from_sparse_list([("ZZ", [a, b], 0.5) for a, b in data["edges"]], n)
    w = data["w"].reshape(-1)
    shifts = np.concatenate([np.eye(2 * p) * FD_STEP, -np.eye(2 * p) * FD_STEP])
    values = np.vstack([w, w + shifts])  # E(w), E(w + h e_j), E(w - h e_j)
    opts = {"max_parallel_threads": peers.threads(), "precision": "double"}
    estimator = EstimatorV2(options={"backend_options": opts, "default_precision": 0.0})

    def step() -> Any:
        ev = np.asarray(estimator.run([(qc, cost, values)]).result()[0].data.evs)
        grad = (ev[1 : 2 * p + 1] - ev[2 * p + 1 :]) / (2 * FD_STEP)
        return ev[0], grad.reshape(p, 2)

    return Prepared(step, _values, "Aer EstimatorV2 (exact), central differences, complex128")


def _tensorcircuit(case: Case, data: dict[str, Any]) -> Prepared:
    import tensorcircuit as tc

    K = tc.set_backend("jax")
    tc.set_dtype("complex64")
    n, p = case["n"], case["p"]

    def energy(w: Any) -> Any:
        c = tc.Circuit(n)
        for i in range(n):
            c.h(i)
        for layer in range(p):
            for a, b in data["edges"]:
                c.rzz(a, b, theta=w[layer, 0])
            for i in range(n):
                c.rx(i, theta=w[layer, 1])
        return sum(0.5 * K.real(c.expectation_ps(z=[a, b])) for a, b in data["edges"])

    vg = K.jit(K.value_and_grad(energy))
    wj = K.convert_to_tensor(data["w"].astype(np.float32))

    def step() -> Any:
        e, grad = vg(wj)
        grad.block_until_ready()
        return e, grad

    return Prepared(step, _values, "jax, jit(value_and_grad), complex64")


def _tc_fits(case: Case) -> str | None:
    """TensorCircuit-NG's reverse-mode gradient keeps about one state per gate (H, 3n/2 RZZ and n
    RX per layer): skipped when that exceeds 8 GiB (above 22 qubits)."""
    need = (1 + 2.5 * case["p"]) * case["n"] * 2 ** case["n"] * 8
    if need <= 8 * 2**30:
        return None
    return f"reverse-mode AD would keep about {need / 2**30:.0f} GiB of states (over 8 GiB)"


def _qsim(case: Case, data: dict[str, Any]) -> Prepared:
    import cirq

    n, p = case["n"], case["p"]
    q = peers.cirq_qubits(n)
    w = data["w"]
    circuit = cirq.Circuit(cirq.H.on_each(*q))
    for layer in range(p):
        rzz = cirq.ZZPowGate(exponent=w[layer, 0] / np.pi, global_shift=-0.5)  # exp(-i w/2 ZZ)
        circuit.append(rzz(q[a], q[b]) for a, b in data["edges"])
        circuit.append(cirq.rx(w[layer, 1])(qi) for qi in q)
    cost = sum(0.5 * cirq.Z(q[a]) * cirq.Z(q[b]) for a, b in data["edges"])

    def run(sim: Any) -> Any:
        return sim.simulate_expectation_values(circuit, observables=[cost], qubit_order=q)[0]

    sim, size, times = peers.qsim_best(run)
    return Prepared(
        lambda: (run(sim).real, np.zeros((p, 2))),
        lambda out: {"energy": np.asarray(out[0], np.float64)},
        f"energy only, complex64, {peers.fused_note(size, times)}",
    )


WORKLOAD = Workload(
    name="W8",
    title="QAOA inner loop: MaxCut energy + gradient, random 3-regular graph, p = 3, complex64",
    cases=[{"n": n, "p": 3} for n in (20, 24, 26)],
    quick_cases=[{"n": 6, "p": 3}],
    make_data=make_data,
    label=lambda case: f"n={case['n']}",
    impls=[
        Impl(
            "hqml",
            _hqml,
            modules=("torch", "hqml"),
            gpu=Gpu("torch CUDA tensors", devices.torch_cuda),
        ),
        Impl(
            HQML_FORWARD,
            _hqml_forward,
            modules=("torch", "hqml"),
            gpu=Gpu("torch CUDA tensors", devices.torch_cuda),
            outputs=("energy",),
        ),
        Impl("lightning", _lightning("lightning.qubit"), modules=("torch", "pennylane_lightning")),
        Impl(
            "lightning.kokkos",
            _lightning("lightning.kokkos"),
            modules=("torch", "pennylane", "pennylane_lightning.lightning_kokkos"),
            no_gpu=peers.KOKKOS_NO_GPU,
            install=peers.KOKKOS_INSTALL,
        ),
        Impl("qiskit-aer", _aer, modules=("qiskit", "qiskit_aer")),
        cudaq_peer.impl(lambda case, d: cudaq_peer.qaoa(case["n"], case["p"], d["edges"], d["w"])),
        Impl("tensorcircuit", _tensorcircuit, modules=("jax", "tensorcircuit"), supports=_tc_fits),
        Impl(
            "qsim",
            _qsim,
            modules=("cirq", "qsimcirq"),
            no_gpu=peers.QSIM_NO_GPU,
            install=peers.QSIM_INSTALL,
            outputs=("energy",),
        ),
    ],
    tolerances=tolerances,
    notes=[
        "qsim: energy only (no gradient), set against hqml-forward (hqml's energy only);"
        " Qiskit Aer: finite differences in double precision"
    ],
)
