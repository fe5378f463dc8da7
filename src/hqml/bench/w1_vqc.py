"""W1: one VQC training step (forward + backward), B = 64 samples, L = 4 layers.

RY(x_i) angle encoding, L layers of [RY, RZ on every qubit; CNOT ring i -> i+1 mod n],
loss = batch mean of sum_i <Z_i>^2, gradient for all 2nL weights.

On ``cuda`` every W1 framework has a GPU variant (``Gpu``), used when installed: hqml, torch,
PennyLane default.qubit and TorchQuantum with torch CUDA tensors, Lightning as
``lightning.gpu``, Qiskit ML on Aer's GPU device, TensorCircuit-NG on JAX's GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench import cudaq_peer, devices, peers, vqc
from hqml.bench.registry import Case, Gpu, Impl, Workload

SEED = 1234


def make_data(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + case["n"])
    return {
        "x": rng.uniform(0, np.pi, (case["batch"], case["n"])),
        "w": rng.uniform(0, 2 * np.pi, (case["layers"], case["n"], 2)),
    }


def _at_most(framework: str, limit: int, why: str) -> Any:
    def supports(case: Case) -> str | None:
        if case["n"] > limit:
            return f"{framework} skipped above {limit} qubits ({why})"
        return None

    return supports


def _impl(framework: str, fn: Any, modules: tuple[str, ...], **kw: Any) -> Impl:
    """An ``Impl`` calling ``fn(x, w, loss="vqc", device=..., **kw)``; ``supports``, ``venv``
    and ``gpu`` in ``kw`` go to the ``Impl``."""
    extra = {k: kw.pop(k) for k in ("supports", "venv", "gpu") if k in kw}
    if kw.get("pl_device") == "lightning.kokkos":
        extra.update(install=peers.KOKKOS_INSTALL, no_gpu=peers.KOKKOS_NO_GPU)
    if "gpu" not in extra:  # CPU only: setup(case, data)
        return Impl(
            framework,
            lambda case, data: fn(data["x"], data["w"], loss="vqc", **kw),
            modules=modules,
            **extra,
        )
    return Impl(
        framework,
        lambda case, data, device: fn(data["x"], data["w"], loss="vqc", device=device, **kw),
        modules=modules,
        **extra,
    )


TORCH_CUDA = Gpu("torch CUDA tensors", devices.torch_cuda)


WORKLOAD = Workload(
    name="W1",
    title="VQC training step: B=64, L=4, RY encoding, [RY RZ; CNOT ring], loss mean sum <Z>^2",
    cases=[{"n": n, "batch": 64, "layers": 4} for n in (4, 8, 12, 16)],
    quick_cases=[{"n": 3, "batch": 4, "layers": 2}],
    make_data=make_data,
    label=lambda case: f"n={case['n']}",
    impls=[
        _impl("hqml", vqc.hqml_vqc, ("torch", "hqml"), gpu=TORCH_CUDA),
        _impl("torch", vqc.torch_vqc, ("torch",), gpu=TORCH_CUDA),
        _impl(
            "pennylane",
            vqc.pennylane_vqc,
            ("torch", "pennylane"),
            supports=_at_most("pennylane", 12, "about a minute per step at 16"),
            gpu=Gpu("default.qubit with torch CUDA tensors", devices.torch_cuda),
        ),
        _impl(
            "lightning",
            vqc.pennylane_vqc,
            ("torch", "pennylane", "pennylane_lightning"),
            pl_device="lightning.qubit",
            diff_method="adjoint",
            supports=_at_most("lightning", 12, "about 20 s per step at 16"),
            gpu=Gpu("lightning.gpu", devices.lightning_gpu, torch_memory=False),
        ),
        _impl(
            "lightning.kokkos",
            vqc.pennylane_vqc,
            ("torch", "pennylane", "pennylane_lightning.lightning_kokkos"),
            pl_device="lightning.kokkos",
            diff_method="adjoint",
            supports=_at_most("lightning.kokkos", 12, "Lightning's step at 16 is about 20 s"),
        ),
        Impl(
            "catalyst",
            lambda case, d: peers.catalyst_vqc(d["x"], d["w"], loss="vqc"),
            modules=("pennylane", "catalyst"),
            venv="catalyst",
            supports=_at_most("catalyst", 12, "Lightning's adjoint step at 16 is about 20 s"),
            no_gpu="Catalyst here compiles for lightning.qubit",
        ),
        cudaq_peer.impl(
            lambda case, d: cudaq_peer.vqc(d["x"], d["w"], loss="vqc"),
            cudaq_peer.at_most(8, "parameter shift: 4nL broadcast observes of 64 samples"),
        ),
        _impl(
            "qiskit-ml",
            vqc.qiskit_ml_vqc,
            ("torch", "qiskit", "qiskit_aer", "qiskit_machine_learning"),
            supports=_at_most("qiskit-ml", 4, "parameter shift: a minute or more per step at 4"),
            gpu=Gpu("Aer GPU", devices.aer_gpu, torch_memory=False),
        ),
        _impl(
            "tensorcircuit",
            vqc.tensorcircuit_vqc,
            ("jax", "tensorcircuit"),
            supports=_at_most("tensorcircuit", 12, "minutes of jit compilation and per step"),
            gpu=Gpu("JAX on the GPU", devices.jax_gpu, torch_memory=False),
        ),
        _impl(
            "torchquantum",
            vqc.torchquantum_vqc,
            ("torch", "torchquantum"),
            venv="torchquantum",
            gpu=TORCH_CUDA,
        ),
    ],
)
