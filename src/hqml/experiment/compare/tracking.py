"""Log a finished comparison to MLflow (and to ``<out>/tracking`` files) through hqml's
:class:`~hqml.tracking.logger.RunLogger`: the config as parameters, one metric per trial and
quantity (``<suite>.<value>.<model>.test_acc_mean``, ...), the report, CSV and plots as
artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...tracking.logger import RunLogger

_METRICS = ("train_acc_mean", "train_acc_std", "test_acc_mean", "test_acc_std", "total_s")


def log_comparison(
    results: list[dict[str, Any]],
    config: dict[str, Any],
    out: Path,
    tracking_uri: str | None = None,
    experiment: str = "hqml-compare",
) -> str | None:
    """Log one MLflow run for the whole comparison; returns its run id."""
    with RunLogger(
        out / "tracking",
        experiment=experiment,
        run_name=out.name,
        mlflow=True,
        tracking_uri=tracking_uri,
    ) as log:
        log.log_params(config)
        for r in results:
            if "failed" in r:  # no accuracies: the report lists it
                continue
            key = f"{r['benchmark']}.{r['value']}.{r['model']}"
            log.log_metrics({f"{key}.{m}": r[m] for m in _METRICS})
        for name in ("report.md", "results.csv", "results.json"):
            if (out / name).is_file():
                log.log_artifact(out / name)
        for png in sorted(out.glob("*.png")):
            log.log_artifact(png, "plots")
        return log.run_id


__all__ = ["log_comparison"]
