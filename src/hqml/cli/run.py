"""``hqml run CONFIG.toml``: train a hybrid model and its classical baseline, write a report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from hqml.accounting import BudgetExceeded
from hqml.backends.providers import ProviderError, UnsupportedRequest
from hqml.experiment import ConfigError, load_config, run_experiment
from hqml.experiment.report import truncation_line

from .errors import fail


class _Bar:
    """One rich progress task; ``advance()`` per batch, ``close()`` at the end."""

    def __init__(self, progress: Any, label: str, total: int):
        self.progress, self.task = progress, progress.add_task(label, total=total)

    def advance(self) -> None:
        self.progress.advance(self.task)

    def close(self) -> None:
        self.progress.update(self.task, completed=self.progress.tasks[self.task].total)


def choose_threads(requested: int | None, default: int) -> tuple[int, str]:
    """Threads for the run and why. OpenMP threads that find their cores busy spin and wait for
    each other: on a loaded machine two threads made ``hqml run`` 5-10x slower than one. So
    unless asked (``--threads``, ``OMP_NUM_THREADS``), use only the cores the 1-minute load
    average leaves free (at least one)."""
    if requested is not None:
        return requested, "--threads"
    if os.environ.get("OMP_NUM_THREADS"):
        return default, "OMP_NUM_THREADS"
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return default, "default"
    free = max(1, cpus - int(load + 0.5))
    if free >= default:
        return default, "default"
    return free, f"load {load:.1f} on {cpus} cores"


def run(
    config: Annotated[Path, typer.Argument(help="TOML config file (see examples/)")],
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", "-o", help="override output_dir")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="override training.epochs")] = None,
    seed: Annotated[int | None, typer.Option(help="override seed")] = None,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="do not log to MLflow")] = False,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default ./mlruns)")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="torch threads (default: from OMP_NUM_THREADS, else the cores"
            " the machine's load leaves free)",
        ),
    ] = None,
) -> None:
    """Train the config's hybrid model and a classical baseline with the same number of
    trainable parameters; print a results table; write results.json, report.md and plots."""
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console()
    overrides = _overrides(output_dir, epochs, seed, no_mlflow, tracking_uri)
    try:
        cfg = load_config(config, overrides)
    except ConfigError as e:
        fail(str(e))
    n_threads, why = choose_threads(threads, torch.get_num_threads())
    torch.set_num_threads(n_threads)
    console.print(
        f"[bold]hqml run[/] {cfg.name}: dataset {cfg.data.name}, pattern"
        f" {cfg.model.pattern}, {cfg.model.n_qubits} qubits, {cfg.training.epochs} epochs,"
        f" torch threads {n_threads} ({why})",
        highlight=False,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:  # the error is printed after the progress display has stopped, never above a bar
        with Progress(*columns, console=console, transient=False) as progress:
            results = run_experiment(
                cfg, progress=lambda label, total: _Bar(progress, label, total)
            )
    except (ConfigError, BudgetExceeded, ProviderError, UnsupportedRequest) as e:
        fail(str(e))
    console.print(_results_table(cfg.name, results))
    _print_summary(console, results, cfg.run_dir())


def _overrides(
    output_dir: str | None,
    epochs: int | None,
    seed: int | None,
    no_mlflow: bool,
    tracking_uri: str | None,
) -> dict[str, Any]:
    """The config overrides (dotted keys) of ``hqml run``'s options."""
    overrides: dict[str, Any] = {}
    if output_dir is not None:
        overrides["output_dir"] = output_dir
    if epochs is not None:
        overrides["training.epochs"] = epochs
    if seed is not None:
        overrides["seed"] = seed
    if no_mlflow:
        overrides["tracking.mlflow"] = False
    if tracking_uri is not None:
        overrides["tracking.tracking_uri"] = tracking_uri
    return overrides


def _results_table(name: str, results: dict[str, Any]) -> Any:
    """The rich table of the models' test results."""
    from rich.table import Table

    table = Table(
        title=f"{name}: test results ({results['data']['name']},"
        f" {results['data']['n_test']} test samples)"
    )
    for col in (
        "model",
        "trainable params",
        "test accuracy",
        "test loss",
        "train time (s)",
        "quantum share of epoch",
    ):
        table.add_column(col, justify="right")
    for model, m in results["models"].items():
        split = m["time_split"]
        share = split["quantum simulation"] / max(1e-12, sum(split.values()))
        table.add_row(
            model,
            str(m["parameters"]),
            f"{m['test_acc']:.3f}" + (" [bold red]at chance[/]" if m.get("at_chance") else ""),
            f"{m['test_loss']:.3f}",
            f"{m['train_seconds']:.1f}",
            f"{100 * share:.0f}%",
        )
    return table


def _print_summary(console: Any, results: dict[str, Any], run_dir: Path) -> None:
    """The lines under the table: accuracies against chance, warnings, where the files are."""

    accs = " | ".join(
        f"{name} {m['test_acc']:.3f}" + (" [bold red](at chance)[/]" if m.get("at_chance") else "")
        for name, m in results["models"].items()
    )
    chance = results["data"].get("chance_accuracy")
    console.print(
        f"[bold]test accuracy:[/] {accs}"
        + (f" (chance level {chance:.3f})" if chance is not None else "")
    )
    stuck = [name for name, m in results["models"].items() if m.get("at_chance")]
    if stuck:
        console.print(
            f"[bold red]warning:[/] {' and '.join(stuck)} stayed at chance level: "
            "did not learn, so the comparison says nothing",
            highlight=False,
        )
    if results.get("truncation"):
        console.print(truncation_line(results["truncation"]), highlight=False)
    choice = results.get("baseline_choice")
    if choice:
        console.print(
            f"baseline shape: {choice['shape']} (best on a held-out 20% of the training split)",
            highlight=False,
        )
    if results.get("provider_calls"):
        console.print(
            f"[bold]quantum provider calls:[/] {results['provider_calls']['summary']}",
            highlight=False,
        )
    console.print(f"results: {run_dir / 'results.json'}  report: {run_dir / 'report.md'}")
    if results.get("mlflow_run_id"):
        console.print(f"MLflow run {results['mlflow_run_id']}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
