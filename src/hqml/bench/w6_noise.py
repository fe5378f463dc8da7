"""W6: noisy simulation: the W1 ansatz (L = 4) with a depolarising channel (p = 0.01) and
amplitude damping (gamma = 0.02) after every gate on each of its wires; loss = batch mean of
sum_i <Z_i>^2, forward and gradient where the framework has one.

- Density matrices: n = 8, 10, 12, one sample (B = 1) and B = 16. hqml's ``density_matrix``
  backend (complex64; gradient by its adjoint sweep); Qiskit Aer's ``density_matrix`` method;
  PennyLane ``default.mixed`` (backprop); Cirq's ``DensityMatrixSimulator``; Qulacs'
  ``DensityMatrix``; TensorCircuit-NG's ``DMCircuit`` (jit, value_and_grad).
- Quantum trajectories: n = 16, 20, one sample, 1,000 trajectories, forward only (the peers
  have no gradient there). hqml's statevector backend with ``trajectories``, in chunks of at
  most 2^23 amplitudes (128 at a time at 16 qubits, 8 at 20), each with its own seed, averaged;
  on the CPU its compiled trajectory kernel runs each trajectory through the whole circuit while
  the state is in cache and, the observables being one-wire Z's, keeps no state (one row per
  thread; the torch path would hold about 16 state copies, 1 GiB);
  Qiskit Aer's ``statevector`` method with the noise model and 1,000 shots (a trajectory per
  shot); qsim's trajectories (``ev_noisy_repetitions=1000``). The estimates agree within their
  standard errors (:func:`tolerances`: each ``<Z_i>`` is a mean of 1,000 values in [-1, 1],
  so two estimates differ by at most ``6 sqrt(2/T)`` at six standard deviations; the loss, a
  sum of n squares, by ``6 sqrt(2/T) * 2n``).

The peers' code is in :mod:`hqml.bench.noisy_peers`. Peers without a gradient (Aer, Cirq,
Qulacs, qsim) are compared on the forward values (``Impl.outputs``). In the density-matrix cases
hqml's step computes the gradient too, so hqml also runs forward only (``hqml-forward``): the
report sets those peers against it (like for like) and keeps the whole step's ratio beside it
(:func:`hqml.bench.report.summary_rows`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.backends.registry import get_backend
from hqml.bench import noisy_peers, peers, vqc
from hqml.bench.registry import HQML_FORWARD, Case, Impl, Prepared, Workload
from hqml.circuit import Z
from hqml.execute import expval
from hqml.noise import NoiseModel, amplitude_damping, depolarizing

SEED = 606
TRAJECTORY_AMPLITUDES = 2**23  # per chunk: 64 MiB per complex64 state copy (about 16 live: 1 GiB)
FORWARD = ("expval", "loss")
# Backprop through a density-matrix simulation keeps the intermediate density matrices (hqml's
# old autograd path grew by about 800 complex64 copies: 5.2 GB at n = 8, B = 16). The suite skips
# the peers' differentiable density-matrix runs whose estimate (800 copies at the framework's
# precision) exceeds MEMORY_BUDGET rather than exhaust the machine. hqml's adjoint sweep keeps its
# checkpoints within hqml.sim.density_adjoint.STATE_BUDGET per chunk of rows and runs every case.
BACKPROP_COPIES = 800
MEMORY_BUDGET = 8 * 2**30


def make_data(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + case["n"] + case["batch"])
    return {
        "x": rng.uniform(0, np.pi, (case["batch"], case["n"])),
        "w": rng.uniform(0, 2 * np.pi, (case["layers"], case["n"], 2)),
    }


def noise_model() -> NoiseModel:
    """hqml's model of W6's noise: after every gate, on each of its wires."""
    model = NoiseModel()
    model.add_channel(depolarizing(noisy_peers.P_DEPOL), each_wire=True)
    return model.add_channel(amplitude_damping(noisy_peers.GAMMA), each_wire=True)


def _hqml(case: Case, data: dict[str, Any]) -> Prepared:
    if case.get("trajectories"):
        return _hqml_trajectories(case, data)
    prepared = vqc.hqml_vqc(
        data["x"], data["w"], loss="vqc", diff_method="backprop", backend="density_matrix",
        noise_model=noise_model(),
    )  # fmt: skip
    prepared.info = "density_matrix, complex64, fused Pauli transfer blocks, adjoint sweep"
    return prepared


def _hqml_forward(case: Case, data: dict[str, Any]) -> Prepared:
    """hqml's density-matrix forward values only (no gradient): what Aer, Cirq and Qulacs
    compute, so their ratios are also reported against it (``HQML_FORWARD``)."""
    import torch

    c, model = vqc.hqml_circuit(case["n"], case["layers"]), noise_model()
    obs = [Z(i) for i in range(case["n"])]
    x, w = (torch.tensor(data[k], dtype=torch.float32) for k in ("x", "w"))

    def step() -> Any:
        with torch.no_grad():
            e = expval(c, obs, inputs={"x": x}, weights={"w": w}, backend="density_matrix",
                       noise_model=model, seed=7)  # fmt: skip
        return e.numpy()

    info = "density_matrix, complex64, fused Pauli transfer blocks, forward only"
    return Prepared(step, noisy_peers.forward_values, info)


def _hqml_trajectories(case: Case, data: dict[str, Any]) -> Prepared:
    """Forward only (the trajectory peers have no gradient; hqml's backprop through 1,000
    trajectories keeps every gate's states: 7.8 GB at 10 qubits), in chunks of at most
    ``TRAJECTORY_AMPLITUDES / 2^n`` trajectories with their own seeds, averaged: hqml runs all
    of a call's trajectories at once, which at 20 qubits would be 8 GiB per state copy."""
    import torch

    n, total = case["n"], case["trajectories"]
    chunk = max(1, min(total, TRAJECTORY_AMPLITUDES // 2**n))
    sizes = [min(chunk, total - start) for start in range(0, total, chunk)]
    c, model = vqc.hqml_circuit(n, case["layers"]), noise_model()
    obs = [Z(i) for i in range(n)]
    x, w = (torch.tensor(data[k], dtype=torch.float32) for k in ("x", "w"))

    def step() -> Any:
        e = torch.zeros(x.shape)
        with torch.no_grad():
            for k, size in enumerate(sizes):
                backend = get_backend("statevector", trajectories=size)
                part = expval(c, obs, inputs={"x": x}, weights={"w": w}, backend=backend,
                              noise_model=model, seed=7 + k)  # fmt: skip
                e += size / total * part
        return e.numpy()

    info = f"statevector, {total} trajectories in chunks of {chunk}, complex64, forward only"
    return Prepared(step, noisy_peers.forward_values, info)


def tolerances(case: Case) -> dict[str, float]:
    """Agreement tolerances of the trajectory cases (the density-matrix cases are exact)."""
    if not case.get("trajectories"):
        return {}
    per_value = 6 * np.sqrt(2 / case["trajectories"])
    return {"expval": per_value, "loss": per_value * 2 * case["n"], "grad": per_value * case["n"]}


def _only(kind: str, why: str = "density matrices only (4^n entries at 16-20 qubits)") -> Any:
    def supports(case: Case) -> str | None:
        traj = bool(case.get("trajectories"))
        if kind == "dm" and traj:
            return why
        if kind == "traj" and not traj:
            return "quantum trajectories only"
        return None

    return supports


def _backprop_fits(amplitude_bytes: int) -> Any:
    def supports(case: Case) -> str | None:
        if case.get("trajectories"):
            return None
        need = BACKPROP_COPIES * amplitude_bytes * case["batch"] * 4 ** case["n"]
        if need <= MEMORY_BUDGET:
            return None
        return (
            f"backprop through the density matrices would keep about {need / 2**30:.0f} GiB"
            f" (over the suite's {MEMORY_BUDGET / 2**30:.0f} GiB; see w6_noise.py)"
        )

    return supports


def _both(*checks: Any) -> Any:
    return lambda case: next((r for r in (c(case) for c in checks) if r), None)


def _label(case: Case) -> str:
    traj = case.get("trajectories")
    return f"n={case['n']} " + (f"traj={traj}" if traj else f"dm B={case['batch']}")


CASES = [{"n": n, "batch": b, "layers": 4} for n in (8, 10, 12) for b in (1, 16)] + [
    {"n": n, "batch": 1, "layers": 4, "trajectories": 1000} for n in (16, 20)
]
QUICK = [
    {"n": 3, "batch": 2, "layers": 1},
    {"n": 3, "batch": 1, "layers": 1, "trajectories": 1000},
]

WORKLOAD = Workload(
    name="W6",
    title="noisy W1 ansatz: depolarising + amplitude damping after every gate, loss + gradient",
    cases=CASES,
    quick_cases=QUICK,
    make_data=make_data,
    label=_label,
    impls=[
        Impl("hqml", _hqml, modules=("torch", "hqml")),
        Impl(
            HQML_FORWARD,
            _hqml_forward,
            modules=("torch", "hqml"),
            supports=_only("dm", "hqml's trajectories are forward only: the hqml column is that"),
            outputs=FORWARD,
        ),
        Impl("qiskit-aer", noisy_peers.aer, modules=("qiskit", "qiskit_aer"), outputs=FORWARD),
        Impl(
            "pennylane",
            noisy_peers.pennylane_mixed,
            modules=("torch", "pennylane"),
            supports=_both(_only("dm"), _backprop_fits(16)),
        ),
        Impl(
            "cirq",
            noisy_peers.cirq_density_matrix,
            modules=("cirq",),
            supports=_only("dm"),
            outputs=FORWARD,
        ),
        Impl(
            "qsim",
            noisy_peers.qsim_trajectories,
            modules=("cirq", "qsimcirq"),
            supports=_only("traj"),
            outputs=FORWARD,
            install=peers.QSIM_INSTALL,
        ),
        Impl(
            "qulacs",
            noisy_peers.qulacs_density_matrix,
            modules=("qulacs",),
            supports=_only("dm"),
            outputs=FORWARD,
        ),
        Impl(
            "tensorcircuit",
            noisy_peers.tensorcircuit_dm,
            modules=("jax", "tensorcircuit"),
            supports=_both(_only("dm"), _backprop_fits(8)),
        ),
    ],
    tolerances=tolerances,
    notes=["trajectory cases agree within 6 standard errors (see w6_noise.py)"],
)
