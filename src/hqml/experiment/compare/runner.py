"""Run a comparison: for every dataset and model, a k-fold grid search on the training set, then
the best setting refitted with every seed and scored on train and test (the study's protocol).

Each (dataset, model) trial is written to ``<out>/trials/<suite>-<value>-<model>.json`` as soon
as it finishes; a rerun skips the trials already on disk (resumable). Trials run in this process
or in a pool of ``workers`` processes (one torch thread each).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold

from ...datasets.benchmarks import SUITES, load_benchmark
from .config import CompareConfig
from .registry import get_model

Progress = Callable[[str, int, int], None]


def trial_path(out: Path, suite: str, value: int, model: str) -> Path:
    return out / "trials" / f"{suite}-{value}-{model}.json"


def _estimator(model: str, grid: str, max_steps: int | None) -> tuple[Any, dict[str, list[Any]]]:
    spec = get_model(model)
    est = spec.factory(**spec.defaults)
    if spec.trained and max_steps is not None:
        steps = min(int(est.get_params()["max_steps"]), max_steps)
        est.set_params(max_steps=steps)
        interval = est.get_params()["convergence_interval"]
        if interval is not None and steps <= 2 * interval + 1:
            est.set_params(convergence_interval=None)  # the flatness test could never run
    return est, dict(spec.paper_grid if grid == "paper" else spec.quick_grid)


def _resources(est: Any) -> dict[str, Any]:
    circuit = getattr(est, "circuit_", None)
    kernel = getattr(est, "kernel_", None)
    if circuit is None and kernel is not None and hasattr(kernel, "feature_map"):
        circuit = kernel.feature_map
    out: dict[str, Any] = {"n_qubits": getattr(est, "n_qubits_", None)}
    if circuit is not None and hasattr(circuit, "depth"):
        out["circuit_depth"] = int(circuit.depth())
        out["circuit_gates"] = int(circuit.num_gates)
    steps = getattr(est, "n_iter_", None)  # SVC keeps an array of solver iterations
    out["training_steps"] = int(steps) if isinstance(steps, (int, np.integer)) else None
    if out["n_qubits"] is not None:
        out["n_qubits"] = int(out["n_qubits"])
    return out


def run_trial(config: dict[str, Any], suite: str, value: int, model: str) -> dict[str, Any]:
    """Grid search, then the refits over seeds, for one dataset and model (a JSON-able dict)."""
    ds = load_benchmark(suite, value)
    est, grid = _estimator(model, config["grid"], config["max_steps"])
    t0 = time.perf_counter()
    n_warn = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", FitFailedWarning)  # counted: failed_grid_points
        warnings.filterwarnings("always", "One or more of the test scores are non-finite")
        # the study's GridSearchCV(cv=5): stratified folds in data order, not shuffled
        folds = StratifiedKFold(config["folds"])
        search = GridSearchCV(est, grid, cv=folds, refit=False, error_score=np.nan)
        try:
            search.fit(ds.x_train, ds.y_train)
        except ValueError as e:  # scikit-learn: "All the N fits failed" (the causes follow)
            if "fits failed" not in str(e):
                raise
            return _failed_trial(config, suite, value, model, ds.name, grid, e)
        scores = search.cv_results_["mean_test_score"]
        best = search.best_params_
        search_s = time.perf_counter() - t0
        runs = []
        for seed in config["seeds"]:
            e = clone(est).set_params(**best)
            if "random_state" in e.get_params():
                e.set_params(random_state=seed)
            t1 = time.perf_counter()
            e.fit(ds.x_train, ds.y_train)
            fit_s = time.perf_counter() - t1
            evals = getattr(e, "circuit_evaluations_", None)  # of the fit, before scoring
            runs.append(
                {
                    "seed": seed,
                    "train_acc": float(e.score(ds.x_train, ds.y_train)),
                    "test_acc": float(e.score(ds.x_test, ds.y_test)),
                    "fit_s": fit_s,
                    "circuit_evaluations": evals,
                    **_resources(e),
                }
            )
        n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    cap = est.get_params().get("max_steps") if get_model(model).trained else None
    train = [r["train_acc"] for r in runs]
    test = [r["test_acc"] for r in runs]
    return {
        "benchmark": suite,
        "dataset": ds.name,
        "varied": SUITES[suite].varied,
        "value": value,
        "model": model,
        "classical": get_model(model).classical,
        "best_params": {k: _jsonable(v) for k, v in best.items()},
        "grid_size": int(len(scores)),
        "failed_grid_points": int(np.isnan(scores).sum()),
        "cv_accuracy": float(np.nanmax(scores)),
        "train_acc_mean": float(np.mean(train)),
        "train_acc_std": float(np.std(train)),
        "test_acc_mean": float(np.mean(test)),
        "test_acc_std": float(np.std(test)),
        "search_s": search_s,
        "total_s": time.perf_counter() - t0,
        "convergence_warnings": int(n_warn),
        # refits that trained to the step cap: without the flatness test nothing warns
        "capped_fits": sum(
            r["training_steps"] is not None and r["training_steps"] >= cap for r in runs
        )
        if cap is not None
        else 0,
        "runs": runs,
        "settings": trial_settings(config),
    }


def _failed_trial(
    config: dict[str, Any],
    suite: str,
    value: int,
    model: str,
    name: str,
    grid: dict,
    err: Exception,
) -> dict[str, Any]:
    """The record of a trial whose every grid point failed (e.g. more qubits than the model
    allows): saved like any trial, so a resumed run skips it and the report lists it."""
    causes = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    reason = next((ln for ln in reversed(causes) if "Error" in ln), causes[0] if causes else "")
    size = len(ParameterGrid(grid))  # the points GridSearchCV tried
    return {
        "benchmark": suite,
        "dataset": name,
        "varied": SUITES[suite].varied,
        "value": value,
        "model": model,
        "classical": get_model(model).classical,
        "failed": reason[:300],
        "grid_size": size,
        "failed_grid_points": size,
        "total_s": 0.0,
        "settings": trial_settings(config),
    }


SETTINGS = ("grid", "folds", "seeds", "max_steps")


def trial_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What a saved trial must share with a config to be reused by a resumed run."""
    return {k: config[k] for k in SETTINGS}


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    return v


def _init_worker() -> None:
    torch.set_num_threads(1)


def _pending(config: CompareConfig, out: Path) -> list[tuple[str, int, str]]:
    todo = []
    want = trial_settings(config.to_dict())
    for suite, values in config.datasets.items():
        for v in values:
            for m in config.models:
                path = trial_path(out, suite, v, m)
                if not path.exists():
                    todo.append((suite, v, m))
                    continue
                saved = json.loads(path.read_text()).get("settings")
                if saved != want:
                    raise ValueError(
                        f"{path} was run with other settings ({saved} vs {want}); use another"
                        " --out folder or delete its trials/ to rerun"
                    )
    return todo


def _save(out: Path, result: dict[str, Any]) -> None:
    path = trial_path(out, result["benchmark"], result["value"], result["model"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(path)  # atomic: an interrupted run never leaves half a trial


def run_compare(
    config: CompareConfig, out: str | Path, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Run every trial of ``config`` not already in ``out``; returns all trials' results.

    Trials run here (``workers=1``), in a pool of spawned processes (``executor="process"``)
    or as Ray tasks (``executor="ray"``: on the cluster at ``ray_address``, or a local Ray with
    ``workers`` CPUs started and shut down for this run)."""
    out = Path(out)
    (out / "trials").mkdir(parents=True, exist_ok=True)
    todo = _pending(config, out)  # refuses saved trials of other settings before any write
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    total, done = config.n_trials, config.n_trials - len(todo)
    report = progress or (lambda label, d, t: None)
    report("trials", done, total)
    cfg = config.to_dict()

    def finished(result: dict[str, Any]) -> None:
        nonlocal done
        _save(out, result)
        done += 1
        report(f"{result['model']} on {result['benchmark']}={result['value']}", done, total)

    if config.executor == "ray" and todo:
        _run_ray(cfg, todo, config, finished)
    elif config.workers == 1 or len(todo) <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # many tiny circuits: one thread avoids oversubscription
        try:
            for suite, v, m in todo:
                finished(run_trial(cfg, suite, v, m))
        finally:
            torch.set_num_threads(threads)
    else:
        ctx = get_context("spawn")
        with ProcessPoolExecutor(config.workers, mp_context=ctx, initializer=_init_worker) as pool:
            futures = [pool.submit(run_trial, cfg, s, v, m) for s, v, m in todo]
            for fut in as_completed(futures):
                finished(fut.result())
    return load_results(out, config)


def _ray_trial(config: dict[str, Any], suite: str, value: int, model: str) -> dict[str, Any]:
    _init_worker()
    return run_trial(config, suite, value, model)


def _run_ray(
    cfg: dict[str, Any],
    todo: list[tuple[str, int, str]],
    config: CompareConfig,
    finished: Callable[[dict[str, Any]], None],
) -> None:
    """The trials as Ray tasks of one CPU each, saved as each one returns."""
    try:
        import ray
    except ModuleNotFoundError:
        raise ImportError("executor='ray' needs ray; pip install 'hqml[runtime]'") from None
    started = not ray.is_initialized()
    if started:
        opts: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if config.ray_address is None:
            opts["num_cpus"] = config.workers
        ray.init(address=config.ray_address, configure_logging=False, **opts)
    try:
        task = ray.remote(num_cpus=1)(_ray_trial)
        pending = [task.remote(cfg, s, v, m) for s, v, m in todo]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            finished(ray.get(ready[0]))
    finally:
        if started:
            ray.shutdown()


def load_results(out: str | Path, config: CompareConfig) -> list[dict[str, Any]]:
    """The saved trials of ``config`` in ``out`` (in config order)."""
    out = Path(out)
    results = []
    for suite, values in config.datasets.items():
        for v in values:
            for m in config.models:
                path = trial_path(out, suite, v, m)
                if path.exists():
                    results.append(json.loads(path.read_text()))
    return results


__all__ = ["run_compare", "run_trial", "load_results", "trial_path"]
