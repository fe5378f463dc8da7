"""``hqml compare [CONFIG.toml]``: the qml-benchmarks study's protocol on hqml's model zoo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hqml.experiment.compare import (
    MODELS,
    load_config,
    quick_config,
    run_compare,
    write_report,
)
from hqml.experiment.compare.tracking import log_comparison

from .errors import fail, writable_folder
from .progress import progress_bars


def compare(
    config: Annotated[
        Path | None, typer.Argument(help="TOML file with a [compare] table (docs/compare.md)")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="'quick': a small study that runs in a few minutes")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")] = Path(
        "compare-results"
    ),
    workers: Annotated[
        int | None, typer.Option(min=1, help="trials in parallel processes (overrides config)")
    ] = None,
    models: Annotated[
        str | None, typer.Option(help="comma-separated model names (overrides config)")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="'process' or 'ray' (overrides config)")
    ] = None,
    mlflow: Annotated[
        bool, typer.Option("--mlflow", help="also log the comparison to MLflow (hqml[tracking])")
    ] = False,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default ./mlruns)")
    ] = None,
    list_models: Annotated[
        bool, typer.Option("--list-models", help="print the known models and exit")
    ] = False,
) -> None:
    """Run models x datasets x seeds with k-fold grid search; write results.csv, results.json,
    report.md and one plot per dataset suite. Finished trials are kept in OUT/trials and a rerun
    skips them (resumable)."""
    from dataclasses import replace

    from rich.console import Console

    console = Console()
    if list_models:
        for name, spec in MODELS.items():
            kind = "classical" if spec.classical else "quantum"
            console.print(f"{name} ({kind})", highlight=False)
        return
    if (config is None) == (preset is None):
        fail("give a CONFIG.toml or --preset quick (exactly one)")
    if preset is not None and preset != "quick":
        fail(f"unknown preset {preset!r}; the preset is 'quick'")
    try:
        cfg = quick_config() if config is None else load_config(config)
        if workers is not None:
            cfg = replace(cfg, workers=workers)
        if executor is not None:
            cfg = replace(cfg, executor=executor)
        if models is not None:
            cfg = replace(cfg, models=tuple(m.strip() for m in models.split(",") if m.strip()))
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    writable_folder(out)
    console.print(
        f"[bold]hqml compare[/]: {len(cfg.models)} models x"
        f" {sum(len(v) for v in cfg.datasets.values())} datasets, seeds {list(cfg.seeds)},"
        f" {cfg.folds}-fold grid search ({cfg.grid} grids), {cfg.workers} worker(s)"
        f" ({cfg.executor}) -> {out}",
        highlight=False,
    )
    with progress_bars(console) as bar:
        results = run_compare(cfg, out, progress=bar)
    report = write_report(results, cfg.to_dict(), out)
    best: dict[str, tuple[float, str]] = {}
    for r in results:
        if "failed" in r:
            console.print(f"{r['model']} on {r['dataset']} failed: {r['failed']}", highlight=False)
            continue
        key = f"{r['benchmark']}={r['value']}"
        if key not in best or r["test_acc_mean"] > best[key][0]:
            best[key] = (r["test_acc_mean"], r["model"])
    for key, (acc, model) in best.items():
        console.print(f"{key}: best {model} ({acc:.3f})", highlight=False)
    console.print(f"report: {report}  results: {out / 'results.csv'}", highlight=False)
    if mlflow:
        run_id = log_comparison(results, cfg.to_dict(), out, tracking_uri)
        console.print(f"MLflow run {run_id}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
