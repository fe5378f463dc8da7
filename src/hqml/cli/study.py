"""``hqml study CONFIG.toml``: a hyperparameter search of ``hqml run`` configs on Ray Tune."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from hqml.experiment.config import ConfigError, tomllib
from hqml.experiment.study.search import load_study, parse_set_option, search

from .errors import fail


def _trials(space: dict[str, Any], num_samples: int) -> int:
    """Trials a study will run: the grid's size times ``num_samples``."""
    grid = math.prod(len(v) for v in space.values() if isinstance(v, list | tuple))
    return grid * num_samples


def study(
    config: Annotated[Path, typer.Argument(help="base TOML config (may hold a \\[search] table)")],
    space_file: Annotated[
        Path | None,
        typer.Option(
            "--space", help="TOML with a \\[search] table (space, num_samples, metric, mode)"
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="grid values KEY=V1,V2 (repeatable), e.g. training.learning_rate=0.01,0.1"
        ),
    ] = None,
    samples: Annotated[int | None, typer.Option("--samples", help="num_samples")] = None,
    metric: Annotated[str | None, typer.Option(help="metric to rank trials by")] = None,
    mode: Annotated[str | None, typer.Option(help="max or min")] = None,
    concurrent: Annotated[int | None, typer.Option(help="trials at the same time")] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: local)")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the search's random sampling")] = 0,
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", "-o", help="study folder")
    ] = None,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="do not log to MLflow")] = False,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
) -> None:
    """Run trials of CONFIG with overrides in parallel on Ray Tune; print a table; write
    search_results.json/.csv and best_config.toml under the study folder."""
    from rich.console import Console

    console = Console()
    base, space, opts = _search_options(
        config,
        space_file,
        sets,
        dict(
            num_samples=samples,
            metric=metric,
            mode=mode,
            max_concurrent=concurrent,
            seed=seed,
            address=address,
            output_dir=output_dir,
            mlflow=False if no_mlflow else None,
            tracking_uri=tracking_uri,
        ),
    )
    total = _trials(space, opts["num_samples"])
    console.print(
        f"[bold]hqml study[/] {config}: {total} trials of {len(space)} keys"
        f" ({', '.join(space)}), ranked by {opts['metric']} ({opts['mode']})"
    )
    result = _run_trials(console, base, space, opts, total)
    console.print(result.table())
    best = result.best
    if best is None:
        console.print("[red]no trial finished[/]")
        raise typer.Exit(1)
    console.print(
        f"[bold]best:[/] {best['trial']} {best['overrides']}:"
        f" {result.metric} {best[result.metric]:.4g}"
    )
    for what, path in result.files.items():
        console.print(f"{what}: {path}")
    if result.mlflow_run_id:
        console.print(f"MLflow parent run {result.mlflow_run_id}")


def _search_options(
    config: Path, space_file: Path | None, sets: list[str] | None, given: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(base config, space, search() options)``: the command line's options over the
    ``[search]`` table of CONFIG (and of ``--space``); a bad file or option fails in one line."""

    try:
        base, table = load_study(config)
        if space_file is not None:
            extra, own = load_study(space_file)
            table = {**table, **(own or extra)}  # a [search] table, or the file itself
        space = dict(table.get("space") or {})
        for text in sets or []:
            key, values = parse_set_option(text)
            space[key] = values
        opts = dict(given)
        opts["num_samples"] = given["num_samples"] or int(table.get("num_samples", 1))
        opts["metric"] = given["metric"] or table.get("metric", "test_accuracy")
        opts["mode"] = given["mode"] or table.get("mode", "max")
        opts["max_concurrent"] = given["max_concurrent"] or table.get("max_concurrent")
    except (ConfigError, tomllib.TOMLDecodeError, ValueError) as e:
        fail(str(e))
    return base, space, opts


def _run_trials(
    console: Any, base: dict[str, Any], space: dict[str, Any], opts: dict[str, Any], total: int
) -> Any:
    """``search()`` under a progress bar that prints each finished trial's line."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    failure = None
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("trials", total=total)

        def on_trial(row: dict[str, Any]) -> None:
            progress.advance(task)
            shown = ", ".join(f"{k}={v}" for k, v in row["overrides"].items())
            value = row.get(opts["metric"])
            progress.console.print(
                f"  {row['trial']} {shown}: "
                + (
                    f"{opts['metric']} {value:.4g}"
                    if row["status"] == "ok"
                    else f"[red]{escape(str(row['error']))}[/]"
                )
            )

        try:
            result = search(base, space, on_trial=on_trial, **opts)
        except (ConfigError, ImportError) as e:
            failure = str(e)
            progress.remove_task(task)  # no bar left on screen under the error
    if failure is not None:
        fail(failure)
    return result


def register(app: typer.Typer) -> None:
    app.command("study")(study)
