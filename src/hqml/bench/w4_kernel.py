"""W4: fidelity-kernel Gram matrix, N = 200, ZZ feature map (reps 2, all pairs), 4-10 qubits.

Every framework computes the same ``N x N`` matrix ``|<psi(x_i)|psi(x_j)>|^2`` of the same data
in complex128:

- hqml: ``FidelityKernel(zz_feature_map(n))`` (N states simulated as one batch, Gram from their
  inner products, upper triangle);
- qiskit-ml: Qiskit Machine Learning's ``FidelityStatevectorKernel`` (its fastest setting: one
  ``Statevector`` per sample, then inner products);
- qiskit-ml-fqk: its ``FidelityQuantumKernel`` with the default exact (statevector-based)
  reference ``Sampler``: one compute-uncompute circuit per pair;
- pennylane: ``qml.kernels.square_kernel_matrix`` over a compute-uncompute QNode on
  ``lightning.qubit`` (its fastest CPU device here), one circuit per pair.

Runs in the suite (``WORKLOAD``) or alone: ``python -m hqml.bench.w4_kernel`` prints a
table of times and ratios and writes JSON under ``benchmarks/results/`` (``./bench-results``
outside a checkout). PennyLane and
``FidelityQuantumKernel`` need ``N (N - 1) / 2 = 19,900`` circuits for one matrix (minutes to an
hour), so the standalone run times them on the first ``--pair-samples`` samples and scales by the
number of pairs (their cost is one independent circuit per pair, so it is linear in pairs); the
table marks those values.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hqml.bench.registry import Case, Impl, Prepared, Workload
from hqml.bench.report import results_dir
from hqml.bench.timing import pin_threads
from hqml.circuit.templates import zz_feature_map
from hqml.kernels import FidelityKernel

SEED = 404
PER_PAIR_MAX = 5000  # the suite skips one-circuit-per-pair kernels above this many pairs


def make_data(case: Case) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + case["n"])
    return {"X": rng.uniform(0, 2 * np.pi, (case["N"], case["n"]))}


def _gram(out: Any) -> dict[str, np.ndarray]:
    return {"gram": np.asarray(out, dtype=np.float64)}


def hqml_gram(case: Case, data: dict[str, Any]) -> Prepared:

    kernel = FidelityKernel(zz_feature_map(case["n"], reps=2, entanglement="full"))
    return Prepared(lambda: kernel.evaluate(data["X"]), _gram, "complex128")


def qiskit_gram(case: Case, data: dict[str, Any]) -> Prepared:
    from qiskit.circuit.library import zz_feature_map
    from qiskit_machine_learning.kernels import FidelityStatevectorKernel

    fm = zz_feature_map(case["n"], reps=2, entanglement="full")

    def step() -> np.ndarray:  # a fresh kernel each call: its statevector cache starts empty
        return FidelityStatevectorKernel(feature_map=fm).evaluate(data["X"])

    return Prepared(step, _gram, "FidelityStatevectorKernel")


def _qiskit_fqk(case: Case, data: dict[str, Any]) -> Prepared:
    import warnings

    from qiskit.circuit.library import zz_feature_map
    from qiskit_machine_learning.kernels import FidelityQuantumKernel

    fm = zz_feature_map(case["n"], reps=2, entanglement="full")

    def step() -> np.ndarray:
        with warnings.catch_warnings():  # the reference Sampler is deprecated in Qiskit 2
            warnings.simplefilter("ignore")
            return FidelityQuantumKernel(feature_map=fm).evaluate(data["X"])

    return Prepared(step, _gram, "FidelityQuantumKernel, reference Sampler (exact)")


def pennylane_kernel(n: int) -> Any:
    """A ``k(x1, x2)`` for ``square_kernel_matrix``: the compute-uncompute QNode, P(|0...0>)."""
    import pennylane as qml

    dev = qml.device("lightning.qubit", wires=n)

    def feature_map(x: Any) -> None:
        for _ in range(2):
            for i in range(n):
                qml.Hadamard(i)
            for i in range(n):
                qml.PhaseShift(2 * x[i], wires=i)
            for i in range(n):
                for j in range(i + 1, n):
                    qml.CNOT([i, j])
                    qml.PhaseShift(2 * (np.pi - x[i]) * (np.pi - x[j]), wires=j)
                    qml.CNOT([i, j])

    @qml.qnode(dev)
    def circuit(x1: Any, x2: Any) -> Any:
        feature_map(x1)
        qml.adjoint(feature_map)(x2)
        return qml.probs(wires=range(n))

    return lambda x1, x2: circuit(x1, x2)[0]


def pennylane_gram(case: Case, data: dict[str, Any]) -> Prepared:
    import pennylane as qml

    k = pennylane_kernel(case["n"])
    return Prepared(
        lambda: qml.kernels.square_kernel_matrix(data["X"], k, assume_normalized_kernel=True),
        _gram,
        "square_kernel_matrix, lightning.qubit",
    )


def per_pair_supports(case: Case) -> str | None:
    pairs = case["N"] * (case["N"] - 1) // 2
    if pairs > PER_PAIR_MAX:
        return (
            f"skipped: {pairs} circuits per matrix; the standalone script"
            " (hqml.bench.w4_kernel) times a subset of pairs and scales"
        )
    return None


WORKLOAD = Workload(
    name="W4",
    title="fidelity-kernel Gram matrix of N samples, ZZ feature map (reps 2, full), complex128",
    cases=[{"n": n, "N": 200} for n in range(4, 11)],
    quick_cases=[{"n": 3, "N": 8}],  # 28 pairs: each peer agrees with hqml in a second
    make_data=make_data,
    label=lambda case: f"n={case['n']} N={case['N']}",
    impls=[
        Impl(
            "hqml",
            hqml_gram,
            modules=("torch", "hqml"),
            no_gpu="hqml.kernels.FidelityKernel takes no device",
        ),
        Impl("qiskit-ml", qiskit_gram, modules=("qiskit", "qiskit_machine_learning")),
        Impl(
            "qiskit-ml-fqk",
            _qiskit_fqk,
            modules=("qiskit", "qiskit_machine_learning"),
            supports=per_pair_supports,
        ),
        Impl(
            "pennylane",
            pennylane_gram,
            modules=("pennylane", "pennylane_lightning"),
            supports=per_pair_supports,
        ),
    ],
    notes=[
        "FidelityQuantumKernel and PennyLane evaluate one circuit per pair (N(N-1)/2); the"
        " standalone script scales a timed subset of pairs"
    ],
)


# --- standalone run ----------------------------------------------------------------------------
def _best_of(step: Any, repeats: int) -> tuple[float, Any]:
    out = step()  # warm-up (imports, plan caches)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = step()
        best = min(best, time.perf_counter() - t0)
    return best, out


# name in the record -> (setup, timed on a subset of pairs?)
PEERS = {
    "qiskit_ml": (qiskit_gram, False),
    "qiskit_ml_fqk": (_qiskit_fqk, True),
    "pennylane": (pennylane_gram, True),
}


def run(
    qubits: list[int], n_samples: int, pair_samples: int, repeats: int, threads: int
) -> dict[str, Any]:
    """Time every framework on each qubit count; return the JSON-ready record."""
    try:
        pin_threads(threads)
    except ImportError:
        import torch

        torch.set_num_threads(threads)
    rows = []
    pairs_full = n_samples * (n_samples - 1) / 2
    pairs_sub = pair_samples * (pair_samples - 1) / 2
    for n in qubits:
        case = {"n": n, "N": n_samples}
        data = make_data(case)
        row: dict[str, Any] = {"n_qubits": n, "n_samples": n_samples}
        row["hqml_s"], K = _best_of(hqml_gram(case, data).step, repeats)
        for name, (setup, per_pair) in PEERS.items():
            if per_pair and pair_samples < n_samples:
                sub = {"X": data["X"][:pair_samples]}
                t_sub, Kp = _best_of(setup({"n": n, "N": pair_samples}, sub).step, 1)
                row[f"{name}_subset_s"] = t_sub
                row[f"{name}_s"] = t_sub * pairs_full / pairs_sub
                row[f"{name}_extrapolated"] = True
                ref = K[:pair_samples, :pair_samples]
            else:
                row[f"{name}_s"], Kp = _best_of(setup(case, data).step, max(1, repeats // 3))
                row[f"{name}_extrapolated"] = False
                ref = K
            row[f"{name}_max_abs_diff"] = float(np.abs(np.asarray(Kp) - ref).max())
            row[f"ratio_{name}"] = row[f"{name}_s"] / row["hqml_s"]
        row["pair_subset_samples"] = pair_samples
        rows.append(row)
        times = ", ".join(f"{k} {row[f'{k}_s']:.3g} s" for k in PEERS)
        print(f"  n={n}: hqml {row['hqml_s']:.4f} s, {times}", flush=True)
    return {
        "workload": "W4 fidelity-kernel Gram matrix (ZZ feature map, reps 2, full)",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "threads": threads,
        },
        "settings": {
            "repeats": repeats,
            "timing": "best of repeats after one warm-up",
            "dtype": "complex128",
            "qiskit_ml": "FidelityStatevectorKernel",
            "qiskit_ml_fqk": "FidelityQuantumKernel (ComputeUncompute, reference Sampler, exact)",
            "pennylane": "qml.kernels.square_kernel_matrix on lightning.qubit",
        },
        "rows": rows,
    }


def table(record: dict[str, Any]) -> str:
    cols = [
        ("qiskit_ml", "qiskit-ml"),
        ("qiskit_ml_fqk", "qiskit-ml fqk"),
        ("pennylane", "pennylane"),
    ]
    head = f"{'qubits':>6} {'hqml s':>8}" + "".join(f" {label + ' s':>16}" for _, label in cols)
    head += "".join(f" {label + '/hqml':>18}" for _, label in cols)
    lines = [head]
    for r in record["rows"]:
        line = f"{r['n_qubits']:>6} {r['hqml_s']:>8.4f}"
        for key, _ in cols:
            mark = "*" if r[f"{key}_extrapolated"] else " "
            line += f" {r[f'{key}_s']:>15.3f}{mark}"
        line += "".join(f" {r[f'ratio_{key}']:>17.0f}x" for key, _ in cols)
        lines.append(line)
    if any(r[f"{k}_extrapolated"] for r in record["rows"] for k, _ in cols):
        lines.append(
            f"* timed on the first {record['rows'][0]['pair_subset_samples']} samples and scaled"
            " by the number of pairs (one circuit per pair)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qubits", type=int, nargs="+", default=list(range(4, 11)))
    p.add_argument("--samples", type=int, default=200)
    p.add_argument(
        "--pair-samples",
        type=int,
        default=16,
        help="samples the one-circuit-per-pair kernels (FidelityQuantumKernel, PennyLane) are"
        " timed on",
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON path (default: benchmarks/results/ of a checkout, else bench-results/)",
    )
    args = p.parse_args(argv)
    record = run(
        args.qubits, args.samples, min(args.pair_samples, args.samples), args.repeats, args.threads
    )
    print(table(record))
    out = args.out or results_dir() / f"w4_kernel-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
