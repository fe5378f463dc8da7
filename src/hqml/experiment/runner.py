"""``run_experiment``: data, hybrid model, baseline, training, results.json, report, tracking."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..accounting import format_totals, track
from ..circuit.gates import complex_dtype
from ..datasets import load
from ..provenance import dataset_fingerprint, mlflow_tags, provenance
from ..tracking import RunLogger
from .baseline import BASELINE_RESTARTS, at_chance, chance_level, choose_baseline, selection_steps
from .callbacks import TrainContext
from .config import RunConfig
from .device import dataset_to, resolve_device
from .mitigation import mitigation_record
from .models import (
    build_baseline,
    build_hybrid,
    count_parameters,
    quantum_circuit_of,
    truncation_of,
)
from .report import plot_circuit, plot_curves, plot_time_split, write_markdown
from .schedules import CircuitCost, schedule_callbacks, schedule_training
from .train import History, make_optimizer, train

ProgressFactory = Callable[[str, int], Any]


def load_data(cfg: RunConfig) -> Any:
    """The dataset of a run config (tensors; at most ``data.max_train`` training rows)."""
    ds = load(
        cfg.data.name,
        test_size=cfg.data.test_size,
        seed=cfg.seed,
        scale=cfg.data.scale,
        **cfg.data.loader_kwargs(),
    ).tensors()
    if cfg.data.max_train is not None and len(ds.x_train) > cfg.data.max_train:
        from dataclasses import replace

        idx = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(cfg.seed))
        idx = idx[: cfg.data.max_train]
        ds = replace(ds, x_train=ds.x_train[idx], y_train=ds.y_train[idx])
    return ds


def run_provenance(cfg: RunConfig, ds: Any, choice_seed: int, device: Any = None) -> dict[str, Any]:
    """Provenance of a run: data hash, seeds, backend and its options, dtype, diff method,
    noise, mitigation, the device trained on (``device``: resolved, else the setting),
    machine."""
    return provenance(
        dataset=dataset_fingerprint(ds.name, [ds.x_train, ds.y_train, ds.x_test, ds.y_test]),
        seeds={"run": cfg.seed, "data_split": cfg.seed, "baseline_selection": choice_seed},
        backend=cfg.model.backend,
        backend_options=cfg.model.backend_options,
        dtype=torch.get_default_dtype(),  # the model's parameters
        simulation_dtype=str(complex_dtype(torch.get_default_dtype())),  # its quantum layers'
        diff_method=cfg.model.diff_method,
        shots=cfg.model.shots,
        noise=cfg.noise.model_dump() if cfg.noise.active else None,
        mitigation=mitigation_record(cfg.mitigation),
        init=cfg.model.init,
        schedule=cfg.schedule.model_dump() if cfg.schedule.kind != "none" else None,
        device=str(device) if device is not None else cfg.training.device,
    )


def _summary(hist: History, model: torch.nn.Module, seconds: float) -> dict[str, Any]:
    n = len(hist.epoch_s)
    split = {
        "quantum simulation": float(np.mean(hist.quantum_s)),
        "classical compute": float(np.mean(hist.classical_s)),
        "data movement": float(np.mean(hist.data_s)),
    }
    return {
        "parameters": count_parameters(model),
        "test_acc": hist.test_acc[-1],
        "test_loss": hist.test_loss[-1],
        "train_acc": hist.train_acc[-1],
        "train_seconds": seconds,
        "mean_epoch_seconds": float(sum(hist.epoch_s) / n),
        "time_split": split,
        "history": hist.as_dict(),
    }


def _choose_baseline(
    cfg: RunConfig, ds: Any, budget: int, progress: ProgressFactory | None
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The classical baseline of the hybrid's parameter budget, and how its shape was chosen."""
    steps = selection_steps(len(ds.x_train), cfg.training)
    bar = progress("choosing the baseline's shape", steps) if progress else None
    baseline, choice = choose_baseline(
        ds.n_features,
        ds.n_classes,
        budget,
        ds.x_train,
        ds.y_train,
        cfg.training,
        cfg.seed,
        on_batch=bar.advance if bar else None,
    )
    if bar:
        bar.close()
    return baseline, choice


def _train_model(
    cfg: RunConfig,
    ds: Any,
    name: str,
    model: torch.nn.Module,
    restart: Callable[[int], torch.nn.Module] | None,
    progress: ProgressFactory | None,
    log_epoch: Callable[[int, dict[str, float]], None],
) -> tuple[torch.nn.Module, History, TrainContext]:
    """Train one model; ``restart(attempt)`` (the baseline's) builds a fresh one while the last
    did not even fit its training data, up to ``BASELINE_RESTARTS`` times."""
    training = schedule_training(cfg) if name == "hybrid" else cfg.training
    device = ds.x_train.device  # the run's device (the data are there)
    steps = training.epochs * -(-len(ds.x_train) // cfg.training.batch_size)
    train_chance = chance_level(ds.y_train)
    for attempt in range(1 + (BASELINE_RESTARTS if restart else 0)):
        if attempt:
            model = restart(attempt)
        model = model.to(device)
        label = f"{name} ({count_parameters(model)} params)"
        label += f", restart {attempt}" if attempt else ""
        bar = progress(label, steps) if progress else None
        callbacks, x_fit, y_fit = (
            schedule_callbacks(cfg, ds.x_train, ds.y_train)
            if name == "hybrid"
            else ([], ds.x_train, ds.y_train)
        )
        ctx = TrainContext(model, make_optimizer(training))
        hist = train(
            model,
            x_fit,
            y_fit,
            ds.x_test,
            ds.y_test,
            training,
            cfg.seed + attempt,
            on_epoch=log_epoch,
            on_batch=bar.advance if bar else None,
            callbacks=[CircuitCost(), *callbacks],
            context=ctx,
        )
        if bar:
            bar.close()
        if not at_chance(hist.train_acc[-1], train_chance, len(ds.y_train)):
            break
    return model, hist, ctx


def _baseline_restart(
    ds: Any, budget: int, seed: int, choice: dict[str, Any]
) -> Callable[[int], torch.nn.Module]:
    """A fresh baseline of the chosen shape for restart ``attempt`` (recorded in ``choice``)."""

    def restart(attempt: int) -> torch.nn.Module:
        choice["restarts"] = attempt
        return build_baseline(
            ds.n_features,
            ds.n_classes,
            budget,
            seed + attempt,
            choice["shape"],
            choice["image_shape"],
        )

    return restart


def _results(
    cfg: RunConfig,
    ds: Any,
    choice: dict[str, Any] | None,
    circuit: Any,
    hybrid: torch.nn.Module,
    models: dict[str, dict[str, Any]],
    prov: dict[str, Any],
    run_id: str | None,
) -> dict[str, Any]:
    """The contents of ``results.json`` (before the provider calls' totals)."""
    return {
        "config": cfg.model_dump(),
        "data": {
            "name": ds.name,
            "n_train": len(ds.x_train),
            "n_test": len(ds.x_test),
            "n_features": ds.n_features,
            "n_classes": ds.n_classes,
            "chance_accuracy": chance_level(ds.y_test),  # always answering the majority class
        },
        "baseline_choice": choice,
        "circuit": circuit.resources() if circuit is not None else None,
        "truncation": truncation_of(hybrid),
        "models": models,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "provenance": prov,
        "mlflow_run_id": run_id,
    }


def _write_outputs(results: dict[str, Any], circuit: Any, out_dir: Path, logger: RunLogger) -> None:
    """results.json, the plots and report.md, each logged as an artifact, and the final metrics."""
    models = results["models"]
    if results["truncation"] is not None:
        logger.log_params({"mps_truncation": results["truncation"]})
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    plots = [
        plot_curves({k: v["history"] for k, v in models.items()}, out_dir / "curves.png"),
        plot_time_split(
            models["hybrid"]["time_split"],
            out_dir / "time_split.png",
            "Hybrid model: time per training epoch",
        ),
    ]
    if circuit is not None:
        plots.append(plot_circuit(circuit.draw(), out_dir / "circuit.png"))
    report = write_markdown(results, out_dir / "report.md")
    for path in plots + [report, out_dir / "results.json"]:
        logger.log_artifact(path)
    logger.log_metrics({f"{k}_final_test_acc": v["test_acc"] for k, v in models.items()})


def _provider_ledger(cfg: RunConfig) -> Any:
    """The run's ledger of provider calls: its budget and prices from the config."""
    prices = {k: v.model_dump() for k, v in cfg.prices.items()} or None
    return track(budget=cfg.budget.model_dump(exclude_none=True) or None, prices=prices)


def run_experiment(
    cfg: RunConfig,
    progress: ProgressFactory | None = None,
    on_epoch: Callable[[str, int, dict[str, float]], Any] | None = None,
) -> dict[str, Any]:
    """Train the hybrid model (and the baseline) of ``cfg``; write results under its run folder.

    Args:
        cfg: the validated config.
        progress: ``progress(label, total_steps)`` returning an object with ``advance()`` and
            ``close()`` (the CLI passes a rich progress bar); ``None`` for silence.
        on_epoch: ``on_epoch(model_name, epoch, metrics)`` after every epoch of each model
            (the job service reports it as the job's progress).

    Returns:
        The results dict also written to ``results.json``.
    """
    device = resolve_device(cfg.training.device)  # CUDA where there is none: refused here
    out_dir = cfg.run_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    ds = load_data(cfg)
    hybrid = build_hybrid(
        cfg.model, ds.n_features, ds.n_classes, ds.x_train, cfg.seed, cfg.noise, cfg.mitigation
    )
    budget = count_parameters(hybrid)
    logger = RunLogger(
        out_dir,
        experiment=cfg.tracking.experiment,
        run_name=cfg.name,
        mlflow=cfg.tracking.mlflow,
        tracking_uri=cfg.tracking.tracking_uri,
    )
    status = "FAILED"
    prov = run_provenance(cfg, ds, choice_seed=cfg.seed, device=device)
    stack = ExitStack()
    # every call to a quantum provider, with its cost; the budget refuses a call before sending
    ledger = stack.enter_context(_provider_ledger(cfg))
    try:
        logger.set_tags(mlflow_tags(prov))
        logger.log_params(cfg.model_dump())
        circuit = quantum_circuit_of(hybrid)
        if circuit is not None:
            logger.log_params({"circuit": circuit.resources()})
            logger.log_text(circuit.draw(), "circuit.txt")
        models: dict[str, dict[str, Any]] = {}
        candidates: list[tuple[str, torch.nn.Module, Any]] = [("hybrid", hybrid, None)]
        choice = None
        if cfg.training.baseline:
            baseline, choice = _choose_baseline(cfg, ds, budget, progress)
            restart = _baseline_restart(ds, budget, cfg.seed, choice)
            candidates.append(("baseline", baseline, restart))
        chance, ds = chance_level(ds.y_test), dataset_to(ds, device)  # built on the CPU
        for name, model, restart in candidates:

            def log_epoch(epoch: int, m: dict[str, float], prefix: str = name) -> None:
                logger.log_metrics({f"{prefix}_{k}": v for k, v in m.items()}, step=epoch)
                if on_epoch:
                    on_epoch(prefix, epoch, m)

            t0 = time.perf_counter()
            model, hist, ctx = _train_model(cfg, ds, name, model, restart, progress, log_epoch)
            models[name] = _summary(hist, model, time.perf_counter() - t0)
            models[name]["training_log"] = ctx.log
            models[name]["at_chance"] = at_chance(hist.test_acc[-1], chance, len(ds.y_test))
            torch.save(model.state_dict(), out_dir / f"{name}.pt")
        results = _results(cfg, ds, choice, circuit, hybrid, models, prov, logger.run_id)
        if ledger.calls:
            totals = ledger.totals()
            results["provider_calls"] = {
                "totals": totals, "by_backend": ledger.by_backend(),
                "summary": format_totals(totals),
            }  # fmt: skip
            logger.log_metrics({f"provider_{k}": float(v) for k, v in totals.items()})
        _write_outputs(results, circuit, out_dir, logger)
        status = "FINISHED"
        return results
    finally:
        stack.close()
        logger.finish(status)
