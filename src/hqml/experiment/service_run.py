"""The job service's ``run`` program: an ``hqml run`` config (TOML text or a dict) trained next to
the simulator. The service finds it by name in its table of plug-in programs
(:data:`hqml.runtime.plugins.PROGRAMS`), so that the runtime never imports the experiment layer.

The config is validated when the job is submitted (its own field errors become 400 answers); the
worker runs :func:`hqml.experiment.runner.run_experiment` in the service's output area
(``<output_dir>/<owner>/<job id>/<name>``), reports progress after every batch and epoch, stops at
the next batch when cancelled or timed out, and returns the metrics and the report text.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime.cost import Limits, approx, check_rows, check_shots, check_steps
from ..runtime.execution import JobContext, JobRejected, JobStopped
from ..runtime.plugins import PreparedPlugin
from ..runtime.schemas import ProgramRequest
from .config import ConfigError, RunConfig, parse_config, tomllib
from .models import build_circuit
from .runner import run_experiment


@dataclass
class PreparedRun(PreparedPlugin):
    config: RunConfig = None  # type: ignore[assignment]


def config_data(config: dict[str, Any] | str) -> dict[str, Any]:
    """The config dict of TOML text or a dict, without a ``[search]`` table."""
    if isinstance(config, str):
        try:
            data = tomllib.loads(config)
        except tomllib.TOMLDecodeError as e:
            raise JobRejected(f"config: not valid TOML: {e}") from None
    else:
        data = dict(config)
    data.pop("search", None)
    return data


BUNDLED_ROWS = 2_000  # the bundled datasets (digits, iris, ...) have fewer rows than this


def prepare_run(
    req: ProgramRequest, limits: Limits, allowed_backends: tuple[str, ...] | None = None
) -> PreparedRun:
    """Price and validate a ``run`` request (raises JobRejected naming the bad config field)."""
    max_qubits = limits.max_qubits
    assert req.config is not None
    try:
        cfg = parse_config(config_data(req.config))
    except ConfigError as e:
        raise JobRejected(str(e)) from None
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", cfg.name) or set(cfg.name) == {"."}:
        raise JobRejected(
            f"name: {cfg.name!r} names the run's folder on the server; use 1 to 100"
            " letters, digits, '_', '-' or '.'"
        )
    if cfg.model.n_qubits > max_qubits:
        raise JobRejected(
            f"model.n_qubits: {cfg.model.n_qubits} qubits; this server accepts at most {max_qubits}"
        )
    if allowed_backends is not None and cfg.model.backend not in allowed_backends:
        raise JobRejected(
            f"model.backend: {cfg.model.backend!r} is not offered here; use one of"
            f" {', '.join(allowed_backends)}"
        )
    _price(cfg, limits)
    if cfg.model.pattern != "feature":  # build the circuit now: shape errors are the client's
        try:
            build_circuit(cfg.model)
        except ConfigError as e:
            raise JobRejected(str(e)) from None
    return PreparedRun(req, cfg)


def _price(cfg: RunConfig, limits: Limits) -> None:
    """Dataset size, mini-batch amplitudes, shots and steps of a run, from its config alone."""
    sizes = {
        k: v
        for k, v in cfg.data.loader_kwargs().items()
        if isinstance(v, int) and not isinstance(v, bool)
    }
    for k, v in sizes.items():
        if not 0 <= v <= limits.max_dataset_values:
            raise JobRejected(f"data.{k}: {v} is out of range (0 to {limits.max_dataset_values})")
    rows = sizes.get("n_samples", BUNDLED_ROWS)
    features = sizes.get("n_features") or sizes.get("size", 8) ** 2  # digits: size x size images
    if rows * features > limits.max_dataset_values:
        raise JobRejected(
            f"data: {rows} samples x {features} features = {approx(rows * features)}"
            " values; this server accepts datasets up to"
            f" {limits.max_dataset_values}"
        )
    if not 0 <= cfg.seed < 2**63:
        raise JobRejected(
            f"seed: {approx(cfg.seed) if cfg.seed > 0 else cfg.seed} is out of range"
            " (0 to 2^63 - 1)"
        )
    batch = cfg.training.batch_size
    try:
        check_rows(
            min(batch, rows),
            cfg.model.n_qubits,
            cfg.model.backend,
            limits,
            what=f"training.batch_size={batch}: a mini-batch",
        )
        check_shots(cfg.model.shots, batch, limits)
    except JobRejected as e:
        raise JobRejected(f"model: {e}") from None
    batches = -(-min(rows, cfg.data.max_train or rows) // batch)
    check_steps(
        cfg.training.epochs * batches,
        limits,
        f"training.epochs x batches = {cfg.training.epochs} x {batches}",
    )


class _Progress:
    """Per-batch progress of one model (the ``progress`` factory of ``run_experiment``)."""

    def __init__(self, state: dict[str, Any], ctx: JobContext, label: str, total: int):
        self.state, self.ctx = state, ctx
        state.update(model=label.split(" ")[0], step=0, steps=total)

    def advance(self) -> None:
        self.state["step"] += 1
        self.state["elapsed_s"] = round(time.perf_counter() - self.state["_t0"], 3)
        self.ctx.report({k: v for k, v in self.state.items() if not k.startswith("_")})
        reason = self.ctx.should_stop()
        if reason:
            raise JobStopped(reason)

    def close(self) -> None:
        pass


def run_config(p: PreparedRun, ctx: JobContext, out_dir: str | Path) -> dict[str, Any]:
    """Run the config under ``out_dir``; progress ``{"model", "epoch", "epochs", "step",
    "steps", "train_loss", "test_acc", ...}``; the result holds the metrics and the report."""
    cfg = p.config.model_copy(update={"output_dir": str(out_dir)})
    cfg = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={"mlflow": False})})
    state: dict[str, Any] = {"_t0": time.perf_counter(), "epochs": cfg.training.epochs}

    def on_epoch(model: str, epoch: int, m: dict[str, float]) -> None:
        state.update(model=model, epoch=epoch + 1, **{k: round(v, 6) for k, v in m.items()})
        ctx.report({k: v for k, v in state.items() if not k.startswith("_")}, force=True)

    results = run_experiment(
        cfg, progress=lambda label, total: _Progress(state, ctx, label, total), on_epoch=on_epoch
    )
    out = json.loads(json.dumps(results, default=str))
    models = out["models"]
    out.update(
        hybrid_test_accuracy=models["hybrid"]["test_acc"],
        baseline_test_accuracy=models["baseline"]["test_acc"] if "baseline" in models else None,
        epochs=cfg.training.epochs,
        run_dir=str(cfg.run_dir()),
        report=(cfg.run_dir() / "report.md").read_text(encoding="utf-8"),
    )
    return out


def prepare(
    req: ProgramRequest, limits: Limits, allowed_backends: tuple[str, ...] | None = None
) -> PreparedRun:
    """The plug-in entry (:mod:`hqml.runtime.plugins`): :func:`prepare_run`."""
    return prepare_run(req, limits, allowed_backends)


def run(
    p: PreparedRun, ctx: JobContext, out_dir: str | Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plug-in entry: :func:`run_config`, and the job's final progress."""
    out = run_config(p, ctx, out_dir)
    return out, {"done": True, "epochs": out["epochs"], "test_acc": out["hybrid_test_accuracy"]}
