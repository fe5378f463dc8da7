"""W3: adjoint gradient of one sample: n = 20, the W1 ansatz with L = 6 layers, gradient of
sum_i <Z_i> for all 2nL weights. hqml also runs L = 24 to show its adjoint's peak memory does
not grow with depth.

On ``cuda``: hqml with its tensors on the GPU and Lightning as ``lightning.gpu`` (adjoint);
PennyLane default.qubit's adjoint method computes in NumPy on the CPU, so it is skipped there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench import cudaq_peer, devices, peers, vqc
from hqml.bench.registry import Case, Gpu, Impl, Workload

SEED = 99
DEEP = {24, 8}  # the memory-only depths (full and quick suites): hqml alone


def make_data(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + case["n"])
    return {
        "x": rng.uniform(0, np.pi, case["n"]),
        "w": rng.uniform(0, 2 * np.pi, (case["layers"], case["n"], 2)),
    }


def _peer(case: Case) -> str | None:
    return "memory case: hqml only" if case["layers"] in DEEP else None


WORKLOAD = Workload(
    name="W3",
    title="adjoint gradient: one sample, W1 ansatz, d/dw sum_i <Z_i>",
    cases=[{"n": 20, "layers": 6}, {"n": 20, "layers": 24}],
    quick_cases=[{"n": 4, "layers": 2}, {"n": 4, "layers": 8}],
    make_data=make_data,
    size_key="layers",
    label=lambda case: f"n={case['n']} L={case['layers']}",
    impls=[
        Impl(
            "hqml",
            lambda case, d, device: vqc.hqml_vqc(
                d["x"], d["w"], loss="sum", diff_method="adjoint", device=device
            ),
            modules=("torch", "hqml"),
            gpu=Gpu("torch CUDA tensors", devices.torch_cuda),
        ),
        Impl(
            "lightning",
            lambda case, d, device: vqc.pennylane_vqc(
                d["x"],
                d["w"],
                loss="sum",
                pl_device="lightning.qubit",
                diff_method="adjoint",
                device=device,
            ),
            modules=("torch", "pennylane", "pennylane_lightning"),
            supports=_peer,
            gpu=Gpu("lightning.gpu", devices.lightning_gpu, torch_memory=False),
        ),
        Impl(
            "lightning.kokkos",
            lambda case, d: vqc.pennylane_vqc(
                d["x"], d["w"], loss="sum", pl_device="lightning.kokkos", diff_method="adjoint"
            ),
            modules=("torch", "pennylane", "pennylane_lightning.lightning_kokkos"),
            supports=_peer,
            no_gpu=peers.KOKKOS_NO_GPU,
            install=peers.KOKKOS_INSTALL,
        ),
        Impl(
            "catalyst",
            lambda case, d: peers.catalyst_vqc(d["x"], d["w"], loss="sum"),
            modules=("pennylane", "catalyst"),
            venv="catalyst",
            supports=_peer,
            no_gpu="Catalyst here compiles for lightning.qubit",
        ),
        cudaq_peer.impl(lambda case, d: cudaq_peer.vqc(d["x"], d["w"], loss="sum"), _peer),
        Impl(
            "pennylane",
            lambda case, d: vqc.pennylane_vqc(
                d["x"], d["w"], loss="sum", pl_device="default.qubit", diff_method="adjoint"
            ),
            modules=("torch", "pennylane"),
            supports=_peer,
            no_gpu="default.qubit's adjoint method computes in NumPy on the CPU",
        ),
    ],
)
