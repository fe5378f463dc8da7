"""W9: the quantum kernel at scale: the ZZ feature map's fidelity Gram matrix of N = 2,000
samples at n = 8 and 16 qubits (complex128), the W4 computation at the size users train SVMs on.

Frameworks (the implementations are W4's, :mod:`hqml.bench.w4_kernel`): hqml's
``FidelityKernel`` (the N states as one batch, the Gram matrix from their inner products),
Qiskit Machine Learning's ``FidelityStatevectorKernel`` (one ``Statevector`` per sample), and
PennyLane's kernels module (``square_kernel_matrix`` over a compute-uncompute QNode on
``lightning.qubit``), which evaluates one circuit per pair: 1,999,000 circuits at N = 2,000, so
the suite skips it above 5,000 pairs with that reason (``python -m hqml.bench.w4_kernel``
times a subset of pairs and scales). Memory: hqml holds the N states (2 GiB at n = 16).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench import w4_kernel
from hqml.bench.registry import Case, Impl, Workload

SEED = 909


def make_data(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + case["n"])
    return {"X": rng.uniform(0, 2 * np.pi, (case["N"], case["n"]))}


WORKLOAD = Workload(
    name="W9",
    title="kernel at scale: ZZ feature map fidelity Gram matrix, N = 2000, complex128",
    cases=[{"n": n, "N": 2000} for n in (8, 16)],
    quick_cases=[{"n": 3, "N": 12}],
    make_data=make_data,
    label=lambda case: f"n={case['n']} N={case['N']}",
    impls=[
        Impl(
            "hqml",
            w4_kernel.hqml_gram,
            modules=("torch", "hqml"),
            no_gpu="hqml.kernels.FidelityKernel takes no device",
        ),
        Impl("qiskit-ml", w4_kernel.qiskit_gram, modules=("qiskit", "qiskit_machine_learning")),
        Impl(
            "pennylane",
            w4_kernel.pennylane_gram,
            modules=("pennylane", "pennylane_lightning"),
            supports=w4_kernel.per_pair_supports,
        ),
    ],
    notes=["PennyLane's kernels module evaluates one circuit per pair: skipped at N = 2000"],
)
