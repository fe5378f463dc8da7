"""``hqml scale CONFIG.toml``: a scalability study of a hybrid model along named axes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hqml.experiment.config import ConfigError
from hqml.experiment.scale import ScaleConfig, load_scale_config, run_scale
from hqml.experiment.scale.config import resolve_executor

from .errors import fail
from .progress import progress_bars


def scale(
    config: Annotated[Path, typer.Argument(help="an hqml run config with a \\[scale] table")],
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", "-o", help="override output_dir")
    ] = None,
    executor: Annotated[str | None, typer.Option(help="auto, inline, process or ray")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="points at the same time")] = None,
    max_points: Annotated[
        int | None,
        typer.Option(
            min=1, help="run at most this many missing points now (the rest on a later call)"
        ),
    ] = None,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="do not log to MLflow")] = False,
) -> None:
    """Train the config's hybrid model (and its equal-size classical baseline) at every point
    of the \\[scale] axes and seeds, in parallel; resume a stopped study where it stopped;
    write results.json/.csv, report.md and plots with the thresholds found."""
    from rich.console import Console

    console = Console()
    cfg, points = _scale_config(config, output_dir, executor, workers, no_mlflow)
    console.print(
        f"[bold]hqml scale[/] {cfg.name}: {len(points)} points"
        f" ({', '.join(f'{a} {v}' for a, v in cfg.settings.axes.items())};"
        f" seeds {cfg.settings.seeds}), {resolve_executor(cfg.settings.executor)} x"
        f" {cfg.settings.workers}",
        highlight=False,
    )
    try:
        with progress_bars(console) as update:
            summary = run_scale(cfg, progress=update, max_points=max_points)
    except (ConfigError, ImportError) as e:
        fail(str(e))
    console.print(_thresholds_table(cfg.name, summary))
    done = summary["points"]
    if done < len(points):
        console.print(
            f"{done} of {len(points)} points done; run the same command again to continue"
        )
    if summary["failed"]:
        console.print(
            f"[bold red]{len(summary['failed'])} points failed[/]:"
            f" {', '.join(summary['failed'][:5])} (errors in results.json)"
        )
    out = cfg.out_dir()
    console.print(f"results: {out / 'results.json'}  report: {out / 'report.md'}")


def _scale_config(
    config: Path,
    output_dir: str | None,
    executor: str | None,
    workers: int | None,
    no_mlflow: bool,
) -> tuple[Any, list]:
    """The study's config with the command line's overrides, and its points; a bad config
    fails in one line."""

    try:
        cfg = load_scale_config(config)
        base, settings = dict(cfg.base), cfg.settings.model_dump()
        if output_dir is not None:
            base["output_dir"] = output_dir
        if no_mlflow:
            base["tracking"] = {**base.get("tracking", {}), "mlflow": False}
        settings.update(
            {k: v for k, v in (("executor", executor), ("workers", workers)) if v is not None}
        )
        cfg = ScaleConfig(base, type(cfg.settings).model_validate(settings))
        points = cfg.points()
    except (ConfigError, ValueError) as e:
        fail(str(e))
    return cfg, points


def _thresholds_table(name: str, summary: dict[str, Any]) -> Any:
    """The rich table of the thresholds found along each axis."""
    from rich.table import Table

    table = Table(title=f"{name}: thresholds")
    for col in (
        "axis",
        "accuracy plateau",
        "time departs from trend",
        "variance collapse",
        "variance decay rate",
    ):
        table.add_column(col)
    for axis, s in summary["axes"].items():
        t = s.get("thresholds", {})
        fit = s.get("grad_variance_fit")
        table.add_row(
            axis,
            *[
                "-" if k not in t else "none found" if t[k]["value"] is None else str(t[k]["value"])
                for k in ("accuracy_plateau", "time_departure", "variance_collapse")
            ],
            (
                f"{fit['rate']:.3f}"
                + (f" +- {fit['rate_stderr']:.3f}" if fit["rate_stderr"] is not None else "")
            )
            if fit
            else "-",
        )
    return table


def register(app: typer.Typer) -> None:
    app.command("scale")(scale)
