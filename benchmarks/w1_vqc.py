"""W1: one VQC training step (forward + backward), B = 64 samples, L = 4 layers.

RY(x_i) angle encoding, L layers of [RY, RZ on every qubit; CNOT ring i -> i+1 mod n],
loss = batch mean of sum_i <Z_i>^2, gradient for all 2nL weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks import vqc
from benchmarks.registry import Case, Impl, Workload

SEED = 1234


def make_data(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + case["n"])
    return {"x": rng.uniform(0, np.pi, (case["batch"], case["n"])),
            "w": rng.uniform(0, 2 * np.pi, (case["layers"], case["n"], 2))}


def _at_most(framework: str, limit: int, why: str) -> Any:
    def supports(case: Case) -> str | None:
        if case["n"] > limit:
            return f"{framework} skipped above {limit} qubits ({why})"
        return None

    return supports


def _impl(framework: str, fn: Any, modules: tuple[str, ...], **kw: Any) -> Impl:
    extra = {k: kw.pop(k) for k in ("supports", "venv") if k in kw}
    return Impl(framework, lambda case, data: fn(data["x"], data["w"], loss="vqc", **kw),
                modules=modules, **extra)


WORKLOAD = Workload(
    name="W1",
    title="VQC training step: B=64, L=4, RY encoding, [RY RZ; CNOT ring], loss mean sum <Z>^2",
    cases=[{"n": n, "batch": 64, "layers": 4} for n in (4, 8, 12, 16)],
    quick_cases=[{"n": 3, "batch": 4, "layers": 2}],
    make_data=make_data,
    label=lambda case: f"n={case['n']}",
    impls=[
        _impl("hqml", vqc.hqml_vqc, ("torch", "hqml")),
        _impl("torch", vqc.torch_vqc, ("torch",)),
        _impl("pennylane", vqc.pennylane_vqc, ("torch", "pennylane"),
              supports=_at_most("pennylane", 12, "about a minute per step at 16")),
        _impl("lightning", vqc.pennylane_vqc, ("torch", "pennylane", "pennylane_lightning"),
              device="lightning.qubit", diff_method="adjoint",
              supports=_at_most("lightning", 12, "about 20 s per step at 16")),
        _impl("qiskit-ml", vqc.qiskit_ml_vqc,
              ("torch", "qiskit", "qiskit_aer", "qiskit_machine_learning"),
              supports=_at_most("qiskit-ml", 4, "parameter shift: a minute or more per step at 4")),
        _impl("tensorcircuit", vqc.tensorcircuit_vqc, ("jax", "tensorcircuit"),
              supports=_at_most("tensorcircuit", 12, "minutes of jit compilation and per step")),
        _impl("torchquantum", vqc.torchquantum_vqc, ("torch", "torchquantum"),
              venv="torchquantum"),
    ],
)
