"""The results of a hyperparameter study: its rows, its table, and the files and runs it writes.

:class:`SearchResult` holds one row per trial (built by ``_row`` from a trial's sampled values and
reported metrics, :data:`METRICS`) and picks the best; ``table()`` renders them for the console.
``_write`` writes ``search_results.json``, ``search_results.csv`` and ``best_config.toml`` (the
best trial's full config, rebuilt from the base config, as TOML text by :func:`dumps_toml`);
``_log_mlflow`` logs a parent MLflow run with one nested run per trial. :mod:`.search` runs the
study and re-exports :class:`SearchResult`, :func:`dumps_toml` and :data:`METRICS`.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...provenance import mlflow_tags, provenance
from ...tracking import RunLogger
from ..config import parse_config
from .space import Dimension, apply_overrides

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


def study_provenance(base: dict[str, Any], result: SearchResult) -> dict[str, Any]:
    """The study's provenance (each trial's results.json holds its own, with its data hash)."""
    model = base.get("model", {})
    return provenance(
        seeds={
            "base": base.get("seed", 0),
            "trials": sorted({r["seed"] for r in result.rows if r.get("seed") is not None}),
        },
        backend=model.get("backend", "statevector"),
        backend_options=model.get("backend_options"),
        diff_method=model.get("diff_method", "best"),
        noise=base.get("noise"),
        mitigation=base.get("mitigation"),
        shots=model.get("shots"),
    )


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
        "provenance": study_provenance(base, result),
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
        parent.set_tags(mlflow_tags(study_provenance(base, result)))
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


__all__ = ["SearchResult", "dumps_toml", "METRICS"]
