"""A quantum-kernel Gram matrix on an IBM fake device with shots: what each framework submits.

The fidelity kernel ``|<phi(x_i)|phi(x_j)>|^2`` of the ZZ feature map (reps 2, full
entanglement) over N samples, estimated from the all-zeros frequency of the compute-uncompute
circuit of every pair (``N (N - 1) / 2`` pairs), on the same fake device (its noise simulated
by Aer), the same preset pass manager (optimisation level 1, ``seed_transpiler`` 7) and the same
initial layout:

- hqml: ``FidelityKernel(zz_feature_map(n), backend=qiskit:<device>, shots=...)``: one
  parametrised compute-uncompute circuit, transpiled once, every pair a row of its parameter
  values (one PUB);
- Qiskit ML: ``FidelityQuantumKernel`` with ``ComputeUncompute`` on ``qiskit_ibm_runtime``'s
  ``SamplerV2`` in local mode on the same fake device (one PUB per pair); with
  ``--peer-samplers runtime,backend,aer`` also on Qiskit's ``BackendSamplerV2`` and Aer's
  ``SamplerV2``.

Counted: provider jobs (primitive ``run`` calls), PUBs, circuits (parameter sets) and shots;
timed: the whole Gram matrix. Run ``python -m hqml.bench.hardware_kernel [--quick]`` (writes
``hardware_kernel.json`` under :func:`hqml.bench.report.results_dir`).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from ..accounting import track
from ..backends.providers.qiskit import fake_device, transpile_cache_info
from ..backends.registry import get_backend
from ..circuit.templates import zz_feature_map
from ..kernels import FidelityKernel
from ..provenance import environment
from .report import results_dir


def data(n: int, samples: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (samples, n))


def exact_gram(X: np.ndarray) -> np.ndarray:
    """The noiseless, shot-free Gram matrix (hqml's statevector kernel)."""
    return FidelityKernel(zz_feature_map(X.shape[1], reps=2, entanglement="full")).evaluate(X)


def hqml_gram(
    X: np.ndarray, device: str, shots: int, layout: list[int], seed: int = 3
) -> dict[str, Any]:
    be = get_backend(f"qiskit:{device}", shots=shots, seed=seed, initial_layout=layout)
    kernel = FidelityKernel(
        zz_feature_map(X.shape[1], reps=2, entanglement="full"), backend=be, shots=shots, seed=seed
    )
    misses = transpile_cache_info()["misses"]
    t0 = time.perf_counter()
    with track() as run:
        K = kernel.evaluate(X)
    seconds = time.perf_counter() - t0
    t = run.totals()
    return {
        "framework": "hqml",
        "jobs": t["jobs"],
        "circuits": t["circuits"],
        "shots": t["shots"],
        "seconds": seconds,
        "transpilations": transpile_cache_info()["misses"] - misses,
        "K": K,
    }


class SamplerCounter:
    """Wraps a V2 sampler's ``run``: jobs, PUBs, circuits (parameter sets) and shots."""

    def __init__(self, sampler: Any, shots: int):
        self.jobs = self.pubs = self.circuits = self.shots = 0
        self._run, self._default = sampler.run, shots
        sampler.run = self.run

    def run(self, pubs: Any, *args: Any, **kwargs: Any) -> Any:
        from qiskit.primitives.containers.sampler_pub import SamplerPub

        pubs = [SamplerPub.coerce(p, kwargs.get("shots") or self._default) for p in pubs]
        self.jobs += 1
        self.pubs += len(pubs)
        for p in pubs:
            sets = int(np.prod(p.parameter_values.shape or (1,)))
            self.circuits += sets
            self.shots += sets * int(p.shots)
        return self._run(pubs, *args, **kwargs)


def _peer_sampler(kind: str, backend: Any, shots: int, seed: int) -> Any:
    """Qiskit ML's sampler: IBM Runtime's ``SamplerV2`` in local mode (``"runtime"``), Qiskit's
    ``BackendSamplerV2`` (``"backend"``) or Aer's ``SamplerV2`` (``"aer"``: the device's noise
    model through ``AerSimulator.from_backend``, parameters bound by Aer)."""
    if kind == "aer":
        from qiskit_aer.primitives import SamplerV2 as AerSampler

        return AerSampler.from_backend(backend, default_shots=shots, seed=seed)
    if kind == "backend":
        from qiskit.primitives import BackendSamplerV2

        return BackendSamplerV2(
            backend=backend, options={"default_shots": shots, "seed_simulator": seed}
        )
    if kind != "runtime":
        raise ValueError(f"sampler must be 'runtime', 'backend' or 'aer', got {kind!r}")
    from qiskit_ibm_runtime import SamplerV2

    sampler = SamplerV2(mode=backend)
    sampler.options.default_shots = shots
    sampler.options.simulator.seed_simulator = seed
    return sampler


def qiskit_ml_gram(
    X: np.ndarray,
    device: str,
    shots: int,
    layout: list[int],
    seed: int = 5,
    sampler: str = "runtime",
) -> dict[str, Any]:
    from qiskit.circuit.library import zz_feature_map as qiskit_zz
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_machine_learning.kernels import FidelityQuantumKernel
    from qiskit_machine_learning.state_fidelities import ComputeUncompute

    backend = fake_device(device)
    pm = generate_preset_pass_manager(
        optimization_level=1, backend=backend, seed_transpiler=7, initial_layout=layout
    )
    prim = _peer_sampler(sampler, backend, shots, seed)
    counter = SamplerCounter(prim, shots)
    kernel = FidelityQuantumKernel(
        feature_map=qiskit_zz(X.shape[1], reps=2, entanglement="full"),
        fidelity=ComputeUncompute(sampler=prim, pass_manager=pm),
    )
    t0 = time.perf_counter()
    K = kernel.evaluate(X)
    return {
        "framework": "qiskit-ml" if sampler == "runtime" else f"qiskit-ml ({sampler} sampler)",
        "jobs": counter.jobs,
        "pubs": counter.pubs,
        "circuits": counter.circuits,
        "shots": counter.shots,
        "seconds": time.perf_counter() - t0,
        "K": K,
    }


def agreement(K1: np.ndarray, K2: np.ndarray, shots: int) -> dict[str, float]:
    """Largest off-diagonal difference of two shot estimates, and that difference in standard
    errors (each entry a binomial frequency of ``shots``; independent estimates)."""
    off = ~np.eye(len(K1), dtype=bool)
    p = np.clip((K1 + K2) / 2, 1.0 / shots, 1 - 1.0 / shots)
    se = np.sqrt(2 * p * (1 - p) / shots)
    z = np.abs(K1 - K2) / se
    return {"max_abs_diff": float(np.abs(K1 - K2)[off].max()), "max_z": float(z[off].max())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 samples")
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--qubits", type=int, default=2)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--device", default="fake_manila")
    ap.add_argument(
        "--peer-samplers",
        default="runtime",
        help="Qiskit ML's samplers, comma-separated: runtime (IBM Runtime's SamplerV2, local"
        " mode), backend (Qiskit's BackendSamplerV2), aer (Aer's SamplerV2)",
    )
    ap.add_argument("--out", default=str(results_dir() / "hardware_kernel.json"))
    args = ap.parse_args()
    samples = 10 if args.quick else args.samples
    layout = list(range(args.qubits))
    X = data(args.qubits, samples)
    exact = exact_gram(X)
    rows = [hqml_gram(X, args.device, args.shots, layout)] + [
        qiskit_ml_gram(X, args.device, args.shots, layout, sampler=k)
        for k in args.peer_samplers.split(",")
    ]
    grams = [r.pop("K") for r in rows]
    for r, K in zip(rows, grams, strict=True):
        r["max_abs_error_vs_exact"] = float(np.abs(K - exact).max())
        print(
            f"{r['framework']}: {r['jobs']} jobs, {r.get('pubs', 1)} PUBs, {r['circuits']}"
            f" circuits, {r['shots']} shots, {r['seconds']:.2f} s,"
            f" max |K - exact| {r['max_abs_error_vs_exact']:.3f}"
        )
    out = {
        "settings": {**vars(args), "samples": samples, "layout": layout},
        "agreement": agreement(grams[0], grams[1], args.shots),
        "rows": rows,
        "provenance": environment(),
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"agreement: {out['agreement']}; written to {args.out}")


if __name__ == "__main__":
    main()
