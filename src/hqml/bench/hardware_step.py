"""One W1 training step on an IBM fake device with shots: what each framework submits.

The W1 model (RY(x_i) encoding, L layers of [RY, RZ; CNOT ring], loss = batch mean of
sum_i <Z_i>^2), parameter-shift gradients for all 2nL weights, on the same fake device
(``fake_manila`` for 4 qubits, ``fake_guadalupe`` for 8), shots per circuit:

- hqml: ``QuantumLayer`` on ``qiskit:<fake device>``;
- Qiskit ML: ``EstimatorQNN`` + ``TorchConnector`` with ``qiskit_ibm_runtime``'s ``EstimatorV2``
  on the same fake device (local mode), its circuit transpiled once by the same preset pass
  manager, ``ParamShiftEstimatorGradient``.

Counted per step: provider jobs (primitive ``run`` calls), PUBs, circuits (parameter sets x
measurement bases) and shots; timed: the first step (which transpiles) and the next one.
Run: ``python -m hqml.bench.hardware_step [--quick]`` (writes ``hardware_step.json`` under
:func:`hqml.bench.report.results_dir`).
PennyLane + pennylane-qiskit is not measured: pennylane-qiskit 0.45 requires qiskit <= 2.3.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..accounting import track
from ..backends.providers.qiskit import fake_device, transpile_cache_info
from ..backends.registry import get_backend
from ..circuit.circuit import Circuit
from ..circuit.observables import Z
from ..nn import QuantumLayer
from .report import results_dir

DEVICES = {4: "fake_manila", 8: "fake_guadalupe"}


def _data(n: int, batch: int, layers: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1234 + n)
    return rng.uniform(0, np.pi, (batch, n)), rng.uniform(0, 2 * np.pi, (layers, n, 2))


class Counter:
    """Wraps a V2 primitive's ``run``: jobs, PUBs, circuits (parameter sets x bases), shots."""

    def __init__(self, primitive: Any, shots: int):
        self.primitive, self.shots = primitive, shots
        self.jobs = self.pubs = self.circuits = 0
        self._run = primitive.run
        primitive.run = self.run

    def run(self, pubs: Any, *args: Any, **kwargs: Any) -> Any:
        from qiskit.primitives.containers.estimator_pub import EstimatorPub

        pubs = [
            EstimatorPub.coerce(p, kwargs.get("precision") or 1 / np.sqrt(self.shots)) for p in pubs
        ]
        self.jobs += 1
        self.pubs += len(pubs)
        for p in pubs:
            words = {lbl for obs in np.ravel(p.observables.tolist()) for lbl in obs}
            bases = len(_qwc_groups(words, p.circuit.num_qubits))
            self.circuits += int(np.prod(p.parameter_values.shape or (1,))) * bases
        return self._run(pubs, *args, **kwargs)

    def totals(self) -> dict[str, int]:
        return {
            "jobs": self.jobs,
            "pubs": self.pubs,
            "circuits": self.circuits,
            "shots": self.circuits * self.shots,
        }


def _qwc_groups(labels: set[str], n: int) -> list[dict[int, str]]:
    groups: list[dict[int, str]] = []
    for label in sorted(labels):
        word = {n - 1 - i: p for i, p in enumerate(label) if p != "I"}
        for g in groups:
            if all(g.get(q, p) == p for q, p in word.items()):
                g.update(word)
                break
        else:
            groups.append(dict(word))
    return groups or [{}]


def hqml_step(n: int, batch: int, layers: int, shots: int, steps: int) -> dict[str, Any]:
    x, w = _data(n, batch, layers)
    c = Circuit(n)
    xs, ws = c.input("x", n), c.weight("w", (layers, n, 2))
    for i in range(n):
        c.ry(xs[i], i)
    for layer in range(layers):
        for i in range(n):
            c.ry(ws[layer, i, 0], i).rz(ws[layer, i, 1], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    be = get_backend(f"qiskit:{DEVICES[n]}", shots=shots, seed=5)
    layer = QuantumLayer(c, [Z(i) for i in range(n)], backend=be, diff_method="parameter-shift")
    with torch.no_grad():
        layer.w.copy_(torch.tensor(w))
    xt = torch.tensor(x, dtype=torch.float64)
    times, misses0 = [], transpile_cache_info()["misses"]
    with track() as run:
        for _ in range(steps):
            t0 = time.perf_counter()
            layer.zero_grad()
            e = layer(xt)
            (e**2).sum(-1).mean().backward()
            times.append(time.perf_counter() - t0)
    t = run.totals()
    return {
        "framework": "hqml",
        "jobs": t["jobs"] / steps,
        "circuits": t["circuits"] / steps,
        "shots": t["shots"] / steps,
        "step_s": times,
        "transpilations": transpile_cache_info()["misses"] - misses0,
        "loss": float((e.detach() ** 2).sum(-1).mean()),
        "grad": layer.w.grad.numpy().ravel().tolist(),
    }


def qiskit_ml_step(n: int, batch: int, layers: int, shots: int, steps: int) -> dict[str, Any]:
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import SparsePauliOp
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import EstimatorV2
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    backend = fake_device(DEVICES[n])
    x, w = _data(n, batch, layers)
    xp, wp = ParameterVector("x", n), ParameterVector("w", layers * n * 2)
    qc = QuantumCircuit(n)
    for i in range(n):
        qc.ry(xp[i], i)
    for layer in range(layers):
        for i in range(n):
            qc.ry(wp[(layer * n + i) * 2], i)
            qc.rz(wp[(layer * n + i) * 2 + 1], i)
        for i in range(n):
            qc.cx(i, (i + 1) % n)
    pm = generate_preset_pass_manager(optimization_level=1, backend=backend, seed_transpiler=7)
    isa = pm.run(qc)
    obs = [
        SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], n).apply_layout(isa.layout)
        for i in range(n)
    ]
    estimator = EstimatorV2(mode=backend)
    estimator.options.default_shots = shots
    estimator.options.simulator.seed_simulator = 5
    counter = Counter(estimator, shots)
    qnn = EstimatorQNN(
        circuit=isa,
        observables=obs,
        input_params=list(xp),
        weight_params=list(wp),
        estimator=estimator,
        gradient=ParamShiftEstimatorGradient(estimator, pass_manager=pm),
        default_precision=1 / np.sqrt(shots),
    )
    model = TorchConnector(qnn, initial_weights=torch.tensor(w.reshape(-1)))
    xt = torch.tensor(x, dtype=torch.float64)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.zero_grad()
        e = model(xt)
        (e**2).sum(-1).mean().backward()
        times.append(time.perf_counter() - t0)
    t = counter.totals()
    return {
        "framework": "qiskit-ml",
        **{k: v / steps for k, v in t.items()},
        "step_s": times,
        "transpilations": 1,
        "loss": float((e.detach() ** 2).sum(-1).mean()),
        "grad": model.weight.grad.numpy().ravel().tolist(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 qubits, B=4, L=1, 2 steps")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--qubits", type=int, nargs="*", default=[4, 8])
    ap.add_argument(
        "--out", default=str(results_dir() / "hardware_step.json"), help="results file (JSON)"
    )
    ap.add_argument("--append", action="store_true", help="add to the rows already in --out")
    args = ap.parse_args()
    if args.quick:
        args.batch, args.layers, args.qubits = 4, 1, [4]
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    out = Path(args.out)
    rows = json.loads(out.read_text())["rows"] if args.append and out.is_file() else []
    for n in args.qubits:
        for fn in (hqml_step, qiskit_ml_step):
            r = fn(n, args.batch, args.layers, args.shots, args.steps)
            r.update(
                n=n,
                device=DEVICES[n],
                batch=args.batch,
                layers=args.layers,
                shots_per_circuit=args.shots,
            )
            rows.append(r)
            out.parent.mkdir(exist_ok=True)
            out.write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=1))
            secs = ", ".join(f"{s:.2f}" for s in r["step_s"])
            print(
                f"n={n} {r['framework']:>9}: {r['jobs']:.0f} jobs, {r['circuits']:.0f} circuits,"
                f" {r['shots']:.0f} shots per step; steps {secs} s; loss {r['loss']:.3f}",
                flush=True,
            )
    print(f"wrote {out} (CPU: {cpu})")


if __name__ == "__main__":
    main()
