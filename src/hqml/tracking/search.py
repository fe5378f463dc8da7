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
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..experiment.config import ConfigError, RunConfig, parse_config
from .space import (
    KINDS,
    Dimension,
    apply_overrides,
    check_space,
    load_study,
    parse_set_option,
    parse_space,
)

# metrics every trial reports; the names ``metric=`` accepts
METRICS = (
    "test_accuracy",
    "test_loss",
    "train_accuracy",
    "baseline_test_accuracy",
    "baseline_test_loss",
    "train_seconds",
    "wall_s",
)


@dataclass
class SearchResult:
    """The rows of a study (one per trial, in trial order) and its best trial."""

    rows: list[dict[str, Any]]
    metric: str
    mode: str
    directory: Path
    keys: list[str]
    best_config: dict[str, Any] | None = None
    mlflow_run_id: str | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def best(self) -> dict[str, Any] | None:
        """The finished row with the best ``metric`` (the first one on ties)."""
        ok = [r for r in self.rows if r["status"] == "ok" and r.get(self.metric) is not None]
        if not ok:
            return None
        sign = -1.0 if self.mode == "max" else 1.0
        return min(ok, key=lambda r: (sign * r[self.metric], r["trial"]))

    def table(self) -> Any:
        """A ``rich`` table: trial, overrides, metrics, wall time."""
        from rich.table import Table

        best = self.best
        t = Table(title=f"search: {self.metric} ({self.mode}), {len(self.rows)} trials")
        for col in ["trial", *self.keys, "seed", "test acc", "baseline acc", "test loss", "wall s"]:
            t.add_column(col, justify="right", no_wrap=col == "trial")
        for r in self.rows:
            mark = " *" if best is not None and r["trial"] == best["trial"] else ""
            cells = [
                r["trial"] + mark,
                *(_fmt(r["overrides"].get(k)) for k in self.keys),
                _fmt(r.get("seed")),
            ]
            if r["status"] != "ok":
                cells += [f"error: {r['error'][:40]}", "", "", _fmt(r.get("wall_s"))]
            else:
                cells += [
                    _fmt(r.get(m))
                    for m in ("test_accuracy", "baseline_test_accuracy", "test_loss", "wall_s")
                ]
            t.add_row(*cells)
        return t


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


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

    from ..experiment.runner import run_experiment

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
    dims = parse_space(space or {})
    check_space(base, dims)
    cfg0 = parse_config(base)
    keys = list(dims)
    study_dir = Path(output_dir or Path(cfg0.output_dir) / f"{cfg0.name}_search").resolve()
    study_dir.mkdir(parents=True, exist_ok=True)
    ray, tune = _ray_tune()
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback
    from ray.tune.search import BasicVariantGenerator

    started = not ray.is_initialized()
    if started:
        opts: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if address is None:
            opts["num_cpus"] = max_concurrent or os.cpu_count() or 1
        ray.init(address=address or "local", **opts)  # never join a stray local cluster
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
    tuner = tune.Tuner(
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
    quiet = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
    saved = {k: os.environ.get(k) for k in quiet}
    os.environ.update(quiet)  # no Tune tables on the console, no TensorBoard logger
    try:
        grid = tuner.fit()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if started:
            ray.shutdown()
    rows = []
    for r in grid:
        trial_id = r.metrics.get("trial_id") if r.metrics else None
        trial_id = trial_id or Path(r.path).name
        err = None if r.error is None else f"{type(r.error).__name__}: {r.error}".splitlines()[0]
        rows.append(_row(trial_id, r.config, keys, None if err else r.metrics, err))
    rows.sort(key=lambda row: row["trial"])
    result = SearchResult(rows, metric, mode, study_dir, keys)
    _write(result, base)
    if _log_mlflow(result, dims, base, mlflow, tracking_uri, num_samples):
        _write(result, base)  # again, with the MLflow run id
    return result


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


def _row(
    trial_id: str,
    config: Mapping[str, Any],
    keys: list[str],
    metrics: Mapping[str, Any] | None,
    error: str | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "trial": "trial_" + trial_id.rsplit("_", 1)[-1],
        "status": "ok" if metrics else "error",
        "overrides": {k: config.get(f"p{i}") for i, k in enumerate(keys)},
        "repeat": config.get("repeat", 0),
        "error": error if not metrics else None,
    }
    for k in (*METRICS, "seed", "run_dir"):
        row[k] = (metrics or {}).get(k)
    return row


def _write(result: SearchResult, base: dict[str, Any]) -> None:
    d = result.directory
    best = result.best
    if best is not None:
        # rebuilt here rather than read from the trial's folder, which may be on another node
        cfg = apply_overrides(
            base,
            {**best["overrides"], "seed": best["seed"], "name": f"{base.get('name', 'run')}_best"},
        )
        result.best_config = parse_config(cfg).model_dump(exclude_none=True)
        path = d / "best_config.toml"
        path.write_text(
            f"# best trial {best['trial']}: {result.metric} = {best[result.metric]}\n"
            + dumps_toml(result.best_config),
            encoding="utf-8",
        )
        result.files["best_config"] = path
    doc = {
        "metric": result.metric,
        "mode": result.mode,
        "keys": result.keys,
        "mlflow_run_id": result.mlflow_run_id,
        "best": best,
        "rows": result.rows,
    }
    (d / "search_results.json").write_text(json.dumps(doc, indent=2, default=str))
    with open(d / "search_results.csv", "w", newline="", encoding="utf-8") as f:
        cols = ["trial", "status", *result.keys, "repeat", *METRICS, "seed", "error"]
        w = csv.writer(f)
        w.writerow(cols)
        for r in result.rows:
            w.writerow(
                [
                    r["trial"],
                    r["status"],
                    *(r["overrides"][k] for k in result.keys),
                    r["repeat"],
                    *("" if r[m] is None else r[m] for m in (*METRICS, "seed")),
                    r["error"] or "",
                ]
            )
    result.files.update(json=d / "search_results.json", csv=d / "search_results.csv")


def _log_mlflow(
    result: SearchResult,
    dims: Mapping[str, Dimension],
    base: dict[str, Any],
    mlflow: bool | None,
    tracking_uri: str | None,
    num_samples: int,
) -> bool:
    """A parent run (space, best metric, the study's files) with one nested run per trial."""
    tracking = base.get("tracking", {})
    if mlflow is None:
        mlflow = tracking.get("mlflow")
    if mlflow is False:
        return False
    from .logger import RunLogger

    with RunLogger(
        result.directory / "mlflow",
        experiment=tracking.get("experiment", "hqml"),
        run_name=f"{base.get('name', 'run')}_search",
        mlflow=mlflow,
        tracking_uri=tracking_uri or tracking.get("tracking_uri"),
    ) as parent:
        if parent.client is None:
            return False
        parent.log_params(
            {
                "search": {
                    "metric": result.metric,
                    "mode": result.mode,
                    "num_samples": num_samples,
                    **{k: d.describe() for k, d in dims.items()},
                }
            }
        )
        best = result.best
        if best is not None:
            parent.log_metrics({f"best_{result.metric}": best[result.metric]})
            parent.set_tags({"best_trial": best["trial"]})
        client = parent.client
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's own deprecation chatter
            exp_id = client.get_run(parent.run_id).info.experiment_id
            for r in result.rows:
                rid = client.create_run(
                    exp_id, run_name=r["trial"], tags={"mlflow.parentRunId": parent.run_id}
                ).info.run_id
                for k, v in r["overrides"].items():
                    client.log_param(rid, k, str(v))
                for m in METRICS:
                    if isinstance(r[m], int | float) and math.isfinite(r[m]):
                        client.log_metric(rid, m, float(r[m]))
                client.set_terminated(rid, "FINISHED" if r["status"] == "ok" else "FAILED")
        for path in result.files.values():
            parent.log_artifact(path)
        result.mlflow_run_id = parent.run_id
    return True


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Config dicts (scalars, lists of scalars, nested tables) as TOML text."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))

    def table(d: Mapping[str, Any], prefix: str) -> list[str]:
        lines = [
            f"{k} = {value(v)}"
            for k, v in d.items()
            if v is not None and not isinstance(v, Mapping)
        ]
        for k, v in d.items():
            if isinstance(v, Mapping):
                lines += ["", f"[{prefix}{k}]", *table(v, f"{prefix}{k}.")]
        return lines

    return "\n".join(table(data, "")) + "\n"


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
