"""Hyperparameter search over ``hqml run`` configs on Ray Tune (``pip install 'hqml[runtime]'``).

Every trial is one ``hqml run`` of a base config with sampled overrides (dotted keys such as
``"training.learning_rate"``). Trials run in parallel as Ray Tune trials, one CPU and one torch
thread each, on a local Ray (``address=None``) or an existing cluster. The study writes
``search_results.json``, ``search_results.csv`` and ``best_config.toml`` under its folder and,
when MLflow is installed, logs a parent run with one nested run per trial.

A space maps dotted keys to a list (every value is tried: a grid) or to a one-key table naming a
distribution (``choice``, ``uniform``, ``loguniform``, ``randint``); :mod:`.space` parses it and
checks every value against the config before any trial runs (its names are re-exported here).
``num_samples`` repeats the grid and draws the distributions that many times; repeat ``r`` trains
with the config's ``seed + r``.

This module runs the study on Ray Tune (:func:`search`, each trial's ``hqml run``, the progress
callback); :mod:`.results` holds :class:`SearchResult` and writes its table, files and MLflow
runs (:class:`SearchResult`, :func:`dumps_toml` and :data:`METRICS` are re-exported here).
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import ConfigError, RunConfig, parse_config
from ..runner import run_experiment
from .results import METRICS, SearchResult, _log_mlflow, _row, _write, dumps_toml
from .space import (
    KINDS,
    Dimension,
    apply_overrides,
    check_space,
    load_study,
    parse_set_option,
    parse_space,
)


def _trial(
    params: dict[str, Any],
    *,
    base: dict[str, Any],
    keys: list[str],
    trials_dir: str,
    torch_threads: int,
) -> None:
    """One trial (runs in a Ray worker): ``hqml run`` of ``base`` with the sampled overrides."""
    import torch
    from ray import tune

    torch.set_num_threads(torch_threads)
    overrides = {k: params[f"p{i}"] for i, k in enumerate(keys)}
    if "seed" not in overrides:  # repeat r of a point uses seed + r
        overrides["seed"] = int(base.get("seed", 0)) + params["repeat"]
    name = "trial_" + tune.get_context().get_trial_id().rsplit("_", 1)[-1]
    cfg = parse_config(
        apply_overrides(
            base, {**overrides, "name": name, "output_dir": trials_dir, "tracking.mlflow": False}
        )
    )
    t0 = time.perf_counter()
    res = run_experiment(cfg)
    models = res["models"]
    metrics: dict[str, Any] = {
        "test_accuracy": models["hybrid"]["test_acc"],
        "test_loss": models["hybrid"]["test_loss"],
        "train_accuracy": models["hybrid"]["train_acc"],
        "train_seconds": models["hybrid"]["train_seconds"],
        "wall_s": time.perf_counter() - t0,
        "seed": cfg.seed,
        "run_dir": str(cfg.run_dir()),
    }
    if "baseline" in models:
        metrics["baseline_test_accuracy"] = models["baseline"]["test_acc"]
        metrics["baseline_test_loss"] = models["baseline"]["test_loss"]
    tune.report(metrics)


def _ray_tune() -> tuple[Any, Any]:
    try:
        import ray
        from ray import tune
    except ModuleNotFoundError:
        raise ImportError(
            "hyperparameter search needs ray[tune]; pip install 'hqml[runtime]'"
        ) from None
    return ray, tune


def search(
    config: str | Path | RunConfig | Mapping[str, Any],
    space: Mapping[str, Any] | None = None,
    *,
    num_samples: int = 1,
    metric: str = "test_accuracy",
    mode: str = "max",
    max_concurrent: int | None = None,
    seed: int = 0,
    address: str | None = None,
    output_dir: str | Path | None = None,
    mlflow: bool | None = None,
    tracking_uri: str | None = None,
    torch_threads: int = 1,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
) -> SearchResult:
    """Run a hyperparameter study: each trial one ``hqml run`` of ``config`` with overrides.

    Args:
        config: a TOML path (its ``[search]`` table supplies ``space`` and defaults), a
            :class:`RunConfig` or a config dict.
        space: dotted key -> list (grid) or ``{kind: args}``; given, it replaces the file's.
        num_samples: repeats of the grid / draws of the distributions.
        metric: one of :data:`METRICS` to rank trials by; ``mode`` ``"max"`` or ``"min"``.
        max_concurrent: trials at once (default: the CPUs Ray offers; a local Ray gets this
            many CPUs, default all of this machine's).
        seed: seeds the sampling of the distributions. Trials use the config's ``seed`` plus
            their repeat number (0 to ``num_samples - 1``), unless ``seed`` is a searched key.
        address: a Ray cluster address; ``None`` starts Ray on this machine if not running.
        output_dir: the study folder (default ``<output_dir>/<name>_search`` of the config).
        mlflow: log a parent run with nested trial runs; ``None``: when mlflow is installed and
            the config does not turn tracking off.
        tracking_uri: MLflow tracking URI (default the config's, else ``./mlruns``).
        torch_threads: intra-op threads per trial.
        on_trial: called in this process with each finished row (for progress display).

    Returns:
        A :class:`SearchResult`; its files are written before this returns.

    Raises:
        ConfigError: a bad config or space key/value, before any trial runs.
        ImportError: Ray Tune is not installed.
    """
    base, space, num_samples, metric, mode = _study_settings(
        config, space, num_samples, metric, mode
    )
    dims = parse_space(space or {})
    check_space(base, dims)
    cfg0 = parse_config(base)
    keys = list(dims)
    study_dir = Path(output_dir or Path(cfg0.output_dir) / f"{cfg0.name}_search").resolve()
    study_dir.mkdir(parents=True, exist_ok=True)
    ray, tune = _ray_tune()
    started = _start_ray(ray, address, max_concurrent)
    tuner = _tuner(
        tune,
        base,
        dims,
        study_dir,
        num_samples=num_samples,
        max_concurrent=max_concurrent,
        seed=seed,
        torch_threads=torch_threads,
        on_trial=on_trial,
    )
    try:
        grid = _fit_quietly(tuner)
    finally:
        if started:
            ray.shutdown()
    rows = _rows(grid, keys)
    result = SearchResult(rows, metric, mode, study_dir, keys)
    _write(result, base)
    if _log_mlflow(result, dims, base, mlflow, tracking_uri, num_samples):
        _write(result, base)  # again, with the MLflow run id
    return result


def _study_settings(
    config: str | Path | RunConfig | Mapping[str, Any],
    space: Mapping[str, Any] | None,
    num_samples: int,
    metric: str,
    mode: str,
) -> tuple[dict[str, Any], Mapping[str, Any] | None, int, str, str]:
    """The base config and the study's settings (a file's ``[search]`` table fills in what
    ``space=None`` leaves open), checked: ``(base, space, num_samples, metric, mode)``."""
    file_search: dict[str, Any] = {}
    if isinstance(config, RunConfig):
        base = config.model_dump(exclude_none=True)
    elif isinstance(config, Mapping):
        base = copy.deepcopy(dict(config))
        file_search = base.pop("search", {})
    else:
        base, file_search = load_study(config)
    if space is None:
        space = file_search.get("space")
        num_samples = int(file_search.get("num_samples", num_samples))
        metric, mode = file_search.get("metric", metric), file_search.get("mode", mode)
    if metric not in METRICS:
        raise ConfigError(
            f"search metric {metric!r} is not reported; use one of {', '.join(METRICS)}"
        )
    if mode not in ("max", "min"):
        raise ConfigError(f"search mode must be 'max' or 'min', got {mode!r}")
    if num_samples < 1:
        raise ConfigError(f"num_samples must be >= 1, got {num_samples}")
    return base, space, num_samples, metric, mode


def _start_ray(ray: Any, address: str | None, max_concurrent: int | None) -> bool:
    """Start Ray unless it runs already; True when this call started it (and must stop it)."""
    if ray.is_initialized():
        return False
    opts: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if address is None:
        opts["num_cpus"] = max_concurrent or os.cpu_count() or 1
    ray.init(address=address or "local", **opts)  # never join a stray local cluster
    return True


def _tuner(
    tune: Any,
    base: dict[str, Any],
    dims: dict[str, Dimension],
    study_dir: Path,
    *,
    num_samples: int,
    max_concurrent: int | None,
    seed: int,
    torch_threads: int,
    on_trial: Callable[[dict[str, Any]], None] | None,
) -> Any:
    """The Tune tuner of the study: one CPU per trial, the repeats as one more grid axis."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback
    from ray.tune.search import BasicVariantGenerator

    keys = list(dims)
    trainable = tune.with_resources(
        tune.with_parameters(
            _trial,
            base=base,
            keys=keys,
            trials_dir=str(study_dir / "trials"),
            torch_threads=torch_threads,
        ),
        {"cpu": 1},
    )
    space_: dict[str, Any] = {f"p{i}": d.to_tune(tune) for i, d in enumerate(dims.values())}
    # repeats as one more grid axis: each repeat draws its own distribution values and seed
    space_["repeat"] = tune.grid_search(list(range(num_samples))) if num_samples > 1 else 0
    return tune.Tuner(
        trainable,
        param_space=space_,
        tune_config=tune.TuneConfig(
            reuse_actors=True,  # imports paid once per worker
            search_alg=BasicVariantGenerator(max_concurrent=max_concurrent or 0, random_state=seed),
        ),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=str(study_dir),
            verbose=0,
            callbacks=[
                _progress_callback(tune, keys, on_trial),
                JsonLoggerCallback(),
                CSVLoggerCallback(),
            ],
        ),
    )


def _fit_quietly(tuner: Any) -> Any:
    """``tuner.fit()`` with no Tune tables on the console and no TensorBoard logger."""
    quiet = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
    saved = {k: os.environ.get(k) for k in quiet}
    os.environ.update(quiet)
    try:
        return tuner.fit()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _rows(grid: Any, keys: list[str]) -> list[dict[str, Any]]:
    """One row per trial of a finished grid (failed ones with their error), by trial id."""
    rows = []
    for r in grid:
        trial_id = r.metrics.get("trial_id") if r.metrics else None
        trial_id = trial_id or Path(r.path).name
        err = None if r.error is None else f"{type(r.error).__name__}: {r.error}".splitlines()[0]
        rows.append(_row(trial_id, r.config, keys, None if err else r.metrics, err))
    rows.sort(key=lambda row: row["trial"])
    return rows


def _progress_callback(
    tune: Any, keys: list[str], on_trial: Callable[[dict[str, Any]], None] | None
) -> Any:
    """A Tune callback calling ``on_trial(row)`` in this process as each trial ends."""

    class Report(tune.Callback):  # type: ignore[misc, name-defined]
        def __init__(self, on_trial: Any, keys: list[str]) -> None:
            self.on_trial, self.keys = on_trial, keys

        def __getstate__(self) -> dict[str, Any]:
            # Tune pickles its run config; a console is not picklable (nor needed there)
            return {"on_trial": None, "keys": self.keys}

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if self.on_trial:
                self.on_trial(
                    _row(trial.trial_id, trial.config, self.keys, trial.last_result, None)
                )

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if self.on_trial:
                self.on_trial(_row(trial.trial_id, trial.config, self.keys, None, "trial failed"))

    return Report(on_trial, keys)


__all__ = [
    "search",
    "SearchResult",
    "Dimension",
    "parse_space",
    "parse_set_option",
    "apply_overrides",
    "load_study",
    "check_space",
    "dumps_toml",
    "METRICS",
    "KINDS",
]
