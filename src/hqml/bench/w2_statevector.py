"""W2: raw statevector simulation of one state, no gradient.

n qubits, 10 layers of [RX(theta[l, i]) on every qubit; CNOT chain i -> i+1], in complex128 and
complex64. Every framework returns (or holds) the full final state. The agreement check compares
4096 amplitudes at seeded random indices (in hqml's order, wire 0 = most significant bit).

Peers: Qulacs, Lightning (``lightning.qubit``, and ``lightning.kokkos`` when installed), qsim
(complex64 only, the fastest of fused gate sizes 2-4), Qiskit Aer.

On ``cuda``: hqml's state on the GPU, Lightning as ``lightning.gpu``, Aer with ``device="GPU"``
(when its build lists one); Qulacs', qsim's and lightning.kokkos' PyPI builds have no GPU
variant and are skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench import cudaq_peer, devices, peers
from hqml.bench.registry import Case, Gpu, Impl, Prepared, Workload
from hqml.circuit import Circuit
from hqml.execute import state

SEED = 2024
N_CHECK = 4096


def make_data(case: Case) -> dict[str, Any]:
    n = case["n"]
    rng = np.random.default_rng(SEED + n)
    k = min(N_CHECK, 2**n)
    return {
        "theta": rng.uniform(0, 2 * np.pi, (case["layers"], n)),
        "index": np.sort(rng.choice(2**n, size=k, replace=False)),
    }


def _bit_reverse(index: np.ndarray, n: int) -> np.ndarray:
    """hqml index (wire 0 = MSB) -> little-endian index (qubit 0 = LSB), as Qiskit and Qulacs."""
    out = np.zeros_like(index)
    for b in range(n):
        out |= ((index >> b) & 1) << (n - 1 - b)
    return out


def _values(index: np.ndarray) -> Any:
    return lambda psi: {"amplitudes": np.asarray(psi)[index]}


def _hqml(case: Case, data: dict[str, Any], device: str) -> Prepared:
    import torch

    n, theta = case["n"], data["theta"]
    c = Circuit(n)
    for layer in range(case["layers"]):
        for i in range(n):
            c.rx(float(theta[layer, i]), i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    dtype = getattr(torch, case["dtype"])
    dev = torch.device(device)
    index = torch.as_tensor(data["index"], device=dev)
    return Prepared(
        lambda: state(c, dtype=dtype, device=dev),
        lambda psi: {"amplitudes": psi[index].cpu().numpy()},
        f"{case['dtype']}, {device}",
    )


def _qulacs(case: Case, data: dict[str, Any]) -> Prepared:
    from qulacs import QuantumCircuit, QuantumState

    n, theta = case["n"], data["theta"]
    circuit = QuantumCircuit(n)
    for layer in range(case["layers"]):
        for i in range(n):
            circuit.add_RX_gate(i, -float(theta[layer, i]))  # Qulacs: RX(a) = exp(+i a X / 2)
        for i in range(n - 1):
            circuit.add_CNOT_gate(i, i + 1)
    state = QuantumState(n)
    index = _bit_reverse(data["index"], n)

    def step() -> Any:
        state.set_zero_state()
        circuit.update_quantum_state(state)
        return state

    return Prepared(step, lambda s: {"amplitudes": s.get_vector()[index]}, "complex128")


def _lightning(case: Case, data: dict[str, Any], device: str) -> Prepared:
    import pennylane as qml

    n, theta = case["n"], data["theta"]
    name = {"cuda": "lightning.gpu", "kokkos": "lightning.kokkos"}.get(device, "lightning.qubit")
    dev = qml.device(name, wires=n, c_dtype=getattr(np, case["dtype"]))

    @qml.qnode(dev, diff_method=None)
    def circuit() -> Any:
        for layer in range(case["layers"]):
            for i in range(n):
                qml.RX(float(theta[layer, i]), wires=i)
            for i in range(n - 1):
                qml.CNOT(wires=[i, i + 1])
        return qml.state()

    return Prepared(circuit, _values(data["index"]), f"{case['dtype']}, {name}")


def _aer(case: Case, data: dict[str, Any], device: str) -> Prepared:
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    n, theta = case["n"], data["theta"]
    qc = QuantumCircuit(n)
    for layer in range(case["layers"]):
        for i in range(n):
            qc.rx(float(theta[layer, i]), i)
        for i in range(n - 1):
            qc.cx(i, i + 1)
    qc.save_statevector()
    precision = "double" if case["dtype"] == "complex128" else "single"
    aer_device = "GPU" if device == "cuda" else "CPU"
    sim = AerSimulator(
        method="statevector",
        device=aer_device,
        precision=precision,
        fusion_enable=True,
        enable_truncation=False,
        max_parallel_threads=2,
    )
    tqc = transpile(qc, sim, optimization_level=0)
    index = _bit_reverse(data["index"], n)

    def step() -> Any:
        return sim.run(tqc).result().get_statevector()

    return Prepared(
        step,
        lambda sv: {"amplitudes": np.asarray(sv.data)[index]},
        f"{case['dtype']}, {aer_device}, fusion on, truncation off",
    )


def _qsim(case: Case, data: dict[str, Any]) -> Prepared:
    import cirq

    n, theta = case["n"], data["theta"]
    q = peers.cirq_qubits(n)
    circuit = cirq.Circuit()
    for layer in range(case["layers"]):
        circuit.append(cirq.rx(float(theta[layer, i]))(q[i]) for i in range(n))
        circuit.append(cirq.CNOT(q[i], q[i + 1]) for i in range(n - 1))

    def run(sim: Any) -> np.ndarray:
        return sim.simulate_into_1d_array(circuit, qubit_order=q)[1]

    sim, size, times = peers.qsim_best(run)
    return Prepared(
        lambda: run(sim), _values(data["index"]), f"complex64, {peers.fused_note(size, times)}"
    )


def _c64_only(case: Case) -> str | None:
    return None if case["dtype"] == "complex64" else "qsim simulates in complex64 only"


def _c128_only(case: Case) -> str | None:
    return None if case["dtype"] == "complex128" else "Qulacs' standard build is complex128 only"


WORKLOAD = Workload(
    name="W2",
    title="raw statevector: one state, 10 layers of [RX on every qubit; CNOT chain]",
    cases=[
        {"n": n, "layers": 10, "dtype": dt}
        for dt in ("complex128", "complex64")
        for n in (20, 22, 24)
    ],
    quick_cases=[{"n": 4, "layers": 10, "dtype": dt} for dt in ("complex128", "complex64")],
    make_data=make_data,
    label=lambda case: f"n={case['n']} {case['dtype'].replace('complex', 'c')}",
    impls=[
        Impl(
            "hqml",
            _hqml,
            modules=("torch", "hqml"),
            gpu=Gpu("torch CUDA tensors", devices.torch_cuda),
        ),
        Impl(
            "qulacs",
            _qulacs,
            modules=("qulacs",),
            supports=_c128_only,
            no_gpu="the standard Qulacs build is CPU only",
        ),
        Impl(
            "lightning",
            _lightning,
            modules=("pennylane", "pennylane_lightning"),
            gpu=Gpu("lightning.gpu", devices.lightning_gpu, torch_memory=False),
        ),
        Impl(
            "lightning.kokkos",
            lambda case, data: _lightning(case, data, "kokkos"),
            modules=("pennylane", "pennylane_lightning.lightning_kokkos"),
            no_gpu=peers.KOKKOS_NO_GPU,
            install=peers.KOKKOS_INSTALL,
        ),
        Impl(
            "qsim",
            _qsim,
            modules=("cirq", "qsimcirq"),
            supports=_c64_only,
            no_gpu=peers.QSIM_NO_GPU,
            install=peers.QSIM_INSTALL,
        ),
        cudaq_peer.impl(
            lambda case, d: cudaq_peer.statevector(case["n"], d["theta"], d["index"]),
            cudaq_peer.complex128_only,
        ),
        Impl(
            "qiskit-aer",
            _aer,
            modules=("qiskit", "qiskit_aer"),
            gpu=Gpu('AerSimulator(device="GPU")', devices.aer_gpu, torch_memory=False),
        ),
    ],
)
