"""One point of a scale study: train the hybrid model and its equal-size classical baseline,
measuring everything the report needs. A top-level function of plain data, so that a process
pool or Ray runs it as well as this process."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from ...backends.registry import get_backend
from ...nn.layer import QuantumLayer
from ...trainability import gradient_variance, local_cost
from ..callbacks import TrainContext
from ..config import RunConfig, parse_config
from ..device import dataset_to, resolve_device
from ..models import build_baseline, build_hybrid, count_parameters, quantum_circuit_of
from ..noise_config import noise_model_of
from ..runner import load_data, run_provenance
from ..schedules import CircuitCost, schedule_callbacks, schedule_training
from ..train import History, make_optimizer, train
from .measure import (
    EnergyMeter,
    EpochMeter,
    GradientTracker,
    PeakMemory,
    parameter_groups,
    timed_backends,
    worker_peak_rss,
)

SPLIT = (
    "quantum simulation",
    "data encoding",
    "communication",
    "classical compute",
    "data movement",
)


def _split(hist: History, meter: EpochMeter | None) -> list[dict[str, float]]:
    rows = []
    for e in range(len(hist.epoch_s)):
        q = hist.quantum_s[e]
        b = meter.rows[e]["backend_s"] if meter else 0.0
        w = meter.rows[e]["wire_s"] if meter else 0.0
        inside = min(b, q) if meter else q
        rows.append(
            {
                "quantum simulation": max(0.0, inside - w),
                "data encoding": max(0.0, q - b) if meter else 0.0,
                "communication": min(w, inside),
                "classical compute": hist.classical_s[e],
                "data movement": hist.data_s[e],
            }
        )
    return rows


def _init_variance(circuit: Any, n_samples: int, seed: int, noise: Any = None) -> dict[str, Any]:
    """Gradient variance of the model's circuit over random weights (local cost: the mean of
    the Z readouts), the data input fixed to one seeded random vector in [0, pi); with the
    config's ``[noise]`` (``noise``: a NoiseConfig) on the density-matrix simulator."""
    nm = noise_model_of(noise)
    gen = torch.Generator().manual_seed(seed)
    inputs = {
        k: torch.rand(v.shape, generator=gen, dtype=torch.float64) * np.pi
        for k, v in circuit.inputs.items()
    }
    gv = gradient_variance(
        circuit,
        local_cost(circuit.n_qubits),
        n_samples=n_samples,
        seed=seed,
        inputs=inputs,
        dtype=torch.complex64,
        noise_model=nm,
        backend="statevector" if nm is None else "density_matrix",
        diff_method="adjoint" if nm is None else "best",
    )
    mean, err = gv.of(None)
    return {
        "mean": mean,
        "stderr": err,
        "groups": gv.groups,
        "n_samples": gv.n_samples,
        "cost": "local (mean of Z over the qubits)",
        "noise": "none (ideal circuit)"
        if nm is None
        else "the run config's [noise] (density matrix; no mitigation, exact expectations)",
    }


def _init_variance_groups(
    cfg: RunConfig, ds: Any, n_models: int, rows: int = 32
) -> dict[str, Any] | None:
    """Per parameter group (quantum, classical): the variance of each parameter's gradient of
    the training loss over ``n_models`` fresh initialisations of the point's hybrid model (its
    noise and mitigation included), on its first ``rows`` training rows, averaged over the
    group's parameters. Torch's random state is left as it was."""
    if n_models < 2:
        return None
    device = ds.x_train.device
    xb, yb = ds.x_train[:rows], ds.y_train[:rows]
    x_build = ds.x_train.cpu()  # the models are built on the CPU, then moved
    grads: dict[str, list[torch.Tensor]] = {}
    shared: list[Any] = []  # one backend per quantum layer for every model (one worker pool)
    try:
        with torch.random.fork_rng(devices=[]):
            for k in range(n_models):
                model = build_hybrid(
                    cfg.model,
                    ds.n_features,
                    ds.n_classes,
                    x_build,
                    cfg.seed + 7919 * (k + 1),
                    cfg.noise,
                    cfg.mitigation,
                ).to(device)
                layers = [m for m in model.modules() if isinstance(m, QuantumLayer)]
                if not shared:
                    shared = [get_backend(m.backend) for m in layers]
                for m, b in zip(layers, shared, strict=True):
                    m.backend = b
                nn.functional.cross_entropy(model(xb), yb).backward()
                for name, params in parameter_groups(model).items():
                    g = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
                    grads.setdefault(name, []).append(torch.cat([x.flatten() for x in g]).double())
    finally:
        for b in {id(b): b for b in shared}.values():
            close = getattr(b, "close", None)
            if close is not None:
                close()
    out: dict[str, Any] = {name: float(torch.stack(g).var(0).mean()) for name, g in grads.items()}
    out.update(
        n_models=n_models,
        rows=len(yb),
        cost="the training loss (cross-entropy) on the first rows",
        noise="the run config's noise and mitigation",
    )
    return out


def _train_one(
    model: nn.Module,
    cfg: RunConfig,
    ds: Any,
    seed: int,
    watts: float,
    quantum: bool,
    concurrent: bool = False,
) -> dict[str, Any]:
    params = count_parameters(model)
    model = model.to(ds.x_train.device)  # the point's device: its data are there
    memory = PeakMemory(ds.x_train.device)
    backends = timed_backends(model) if quantum else []
    energy = EnergyMeter(watts, backends, concurrent)
    meter = EpochMeter(backends, energy)
    tracker = GradientTracker()
    schedule, x_fit, y_fit = (
        schedule_callbacks(cfg, ds.x_train, ds.y_train) if quantum else ([], ds.x_train, ds.y_train)
    )
    training = schedule_training(cfg) if quantum else cfg.training
    ctx = TrainContext(model, make_optimizer(training))
    t0 = time.perf_counter()
    worker_rss = None
    try:
        hist = train(
            model,
            x_fit,
            y_fit,
            ds.x_test,
            ds.y_test,
            training,
            seed,
            callbacks=[meter, tracker, CircuitCost(), *schedule],
            context=ctx,
        )
        worker_rss = worker_peak_rss(backends)  # before the workers close
    finally:
        for b in backends:
            b.close()
    split = _split(hist, meter if quantum else None)
    mean_split = {k: float(np.mean([r[k] for r in split])) for k in SPLIT}
    return {
        "parameters": params,
        "history": hist.as_dict(),
        "test_acc": hist.test_acc[-1],
        "test_loss": hist.test_loss[-1],
        "train_acc": hist.train_acc[-1],
        "train_seconds": time.perf_counter() - t0,
        "epoch_seconds": float(np.mean(hist.epoch_s)),
        "time_split": mean_split,
        "time_split_per_epoch": split,
        "energy_j_per_epoch": float(np.mean([r["energy_j"] for r in meter.rows])),
        # remote calls without server times: counted in quantum simulation, wire not split out
        "unsplit_remote_s_per_epoch": float(np.mean([r["unsplit_s"] for r in meter.rows])),
        "energy_method": energy.method,
        "memory": memory.read(energy.workers, worker_rss),
        "grad_variance_training": tracker.rows,
        "training_log": ctx.log,
        "final_parameters": ctx.log.get("pruning", {}).get(
            "parameters_after", count_parameters(model)
        ),
    }


def run_point(
    run: dict[str, Any], point: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """Train and measure one point. ``run``: the point's run config (dict); ``settings``: the
    study's ``[scale]`` table (dict). Returns the point's record (JSON-ready)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(int(settings.get("threads_per_worker", 1)))
    try:
        return _run_point(parse_config(run), point, settings)
    finally:
        torch.set_num_threads(threads)  # inline runs share the caller's process


def _run_point(cfg: RunConfig, point: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    device = resolve_device(cfg.training.device)  # CUDA where there is none: refused
    torch.manual_seed(cfg.seed)
    cpu_ds = load_data(cfg)
    ds = dataset_to(cpu_ds, device)
    hybrid = build_hybrid(
        cfg.model, ds.n_features, ds.n_classes, cpu_ds.x_train, cfg.seed, cfg.noise, cfg.mitigation
    )
    circuit = quantum_circuit_of(hybrid)
    record: dict[str, Any] = {"point": point, "status": "ok", "device": str(device)}
    record["circuit"] = (
        None
        if circuit is None
        else {
            "width": circuit.n_qubits,
            "depth": circuit.depth(),
            "two_qubit_gates": circuit.num_two_qubit_gates,
            "gates": circuit.num_gates,
            "parameters": circuit.num_parameters,
        }
    )
    record["grad_variance_init"] = (
        None
        if circuit is None or not circuit.weights
        else _init_variance(circuit, settings["grad_samples"], cfg.seed, cfg.noise)
    )
    watts = settings["watts_per_core"]
    concurrent = settings.get("executor", "inline") != "inline" and settings.get("workers", 1) > 1
    record["hybrid"] = _train_one(hybrid, cfg, ds, cfg.seed, watts, True, concurrent)
    if settings.get("baseline", True):
        budget = record["hybrid"]["parameters"]
        shape = settings.get("baseline_shape", "mlp-tanh")
        base = build_baseline(ds.n_features, ds.n_classes, budget, cfg.seed, shape)
        record["baseline"] = {
            "shape": shape,
            **_train_one(base, cfg, ds, cfg.seed, watts, False, concurrent),
        }
    record["data"] = {
        "name": ds.name,
        "n_train": len(ds.x_train),
        "n_test": len(ds.x_test),
        "n_features": ds.n_features,
        "n_classes": ds.n_classes,
    }
    record["grad_variance_init_groups"] = _init_variance_groups(
        cfg, ds, settings.get("init_models", 0)
    )
    record["provenance"] = run_provenance(cfg, cpu_ds, choice_seed=cfg.seed, device=device)
    record["wall_s"] = time.perf_counter() - t0
    return record


__all__ = ["run_point", "SPLIT"]
