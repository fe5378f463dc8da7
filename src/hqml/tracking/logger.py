"""Run logging: every run writes its own files; MLflow receives a copy when available.

:class:`RunLogger` keeps ``params.json`` and ``metrics.jsonl`` in the run's output folder no
matter what. With ``mlflow=True`` (and the ``tracking`` extra installed) it also logs the
parameters, per-step metrics, texts and artifacts to an MLflow run through ``MlflowClient``
(no global active run). The default tracking URI is the local ``./mlruns`` file store.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_TRACKING_URI = "./mlruns"


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def tracking_uri_for(uri: str | None) -> str:
    """A full tracking URI: ``None`` -> ``./mlruns``; plain paths become ``file:`` URIs."""
    uri = uri or DEFAULT_TRACKING_URI
    if "://" in uri or uri.startswith("file:"):
        return uri
    return Path(uri).resolve().as_uri()


class RunLogger:
    """Log one run to its own files and (optionally) MLflow.

    Args:
        out_dir: the run's output folder (created).
        experiment: MLflow experiment name.
        run_name: MLflow run name.
        mlflow: log to MLflow too; ``None`` logs when mlflow is importable, ``True`` requires it.
        tracking_uri: MLflow tracking URI or local folder (default ``./mlruns``).

    >>> import tempfile
    >>> with RunLogger(tempfile.mkdtemp(), mlflow=False) as log:
    ...     log.log_params({"lr": 0.1}); log.log_metrics({"loss": 0.5}, step=0)
    """

    def __init__(
        self,
        out_dir: str | Path,
        experiment: str = "hqml",
        run_name: str | None = None,
        mlflow: bool | None = None,
        tracking_uri: str | None = None,
    ):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.params: dict[str, Any] = {}
        self._metrics_file = open(self.out_dir / "metrics.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self.client: Any = None
        self.run_id: str | None = None
        self.tracking_uri: str | None = None
        if mlflow is False:
            return
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            if mlflow:
                raise ImportError(
                    "MLflow logging needs mlflow: pip install 'hqml[tracking]'"
                ) from None
            return
        self.tracking_uri = tracking_uri_for(tracking_uri)
        if self.tracking_uri.startswith("file:"):
            # MLflow 3 refuses the file store unless asked; ./mlruns is our documented default
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.client = MlflowClient(tracking_uri=self.tracking_uri)
            exp = self.client.get_experiment_by_name(experiment)
            exp_id = (
                exp.experiment_id if exp is not None else self.client.create_experiment(experiment)
            )
            self.run_id = self.client.create_run(exp_id, run_name=run_name).info.run_id

    def _mlflow(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self.client is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(self.client, method)(self.run_id, *args, **kwargs)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log (nested) parameters; nested keys are joined with dots."""
        flat = _flatten(params)
        self.params.update(flat)
        (self.out_dir / "params.json").write_text(json.dumps(self.params, indent=2, default=str))
        for k, v in flat.items():
            # MLflow names take letters, digits and _ - . space : / (a price pattern's * does
            # not); params.json keeps the exact keys
            self._mlflow("log_param", re.sub(r"[^\w\-. :/]", "_", k), str(v)[:6000])

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log scalar metrics at ``step``."""
        clean = {
            k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))
        }
        self._metrics_file.write(json.dumps({"step": step, **clean}) + "\n")
        self._metrics_file.flush()
        for k, v in clean.items():
            self._mlflow("log_metric", k, v, step=step or 0)

    def log_text(self, text: str, filename: str) -> Path:
        """Write ``text`` to ``out_dir/filename`` and log it as an artifact."""
        path = self.out_dir / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self._mlflow("log_text", text, filename)
        return path

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Log an existing file (already under the output folder) to MLflow."""
        self._mlflow("log_artifact", str(path), artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for k, v in tags.items():
            self._mlflow("set_tag", k, str(v))

    def finish(self, status: str = "FINISHED") -> None:
        """Close the metrics file and end the MLflow run (``"FINISHED"`` or ``"FAILED"``)."""
        if not self._metrics_file.closed:
            self._metrics_file.close()
        if self.client is not None and self.run_id is not None:
            self._mlflow("set_terminated", status=status)
            self.client = None

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.finish("FAILED" if exc_type else "FINISHED")
