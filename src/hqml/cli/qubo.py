"""``hqml qubo``: build or load a QUBO, solve it through the router, print and save the result."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any

import typer

from hqml.optimize import SOLVERS, Knapsack, MaxCut, PortfolioSelection, solve

PROBLEMS = ("maxcut", "knapsack", "portfolio", "file")


def _instance(problem: str, size: int, seed: int, bqm_file: Path | None) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    if problem != "file" and size < (4 if problem == "maxcut" else 1):
        raise typer.BadParameter(
            f"must be at least {4 if problem == 'maxcut' else 1} for {problem}, got {size}",
            param_hint="--size",
        )
    if problem == "maxcut":
        nx = _require("networkx", "generating a MaxCut graph")

        if size * 3 % 2:
            raise typer.BadParameter(
                f"a 3-regular graph needs an even size, got {size}", param_hint="--size"
            )
        return MaxCut(nx.random_regular_graph(3, size, seed=seed))
    if problem == "knapsack":
        weights = rng.integers(1, 10, size)
        return Knapsack(rng.integers(1, 20, size), weights, int(weights.sum() // 2))
    if problem == "portfolio":
        a = rng.normal(size=(size, size))
        return PortfolioSelection(rng.normal(0.1, 0.1, size), a @ a.T / size, max(1, size // 2))
    if bqm_file is None:
        raise typer.BadParameter("problem 'file' needs --bqm-file PATH (dimod BQM JSON)")
    if not bqm_file.is_file():
        raise typer.BadParameter(f"{str(bqm_file)!r} is not a file", param_hint="--bqm-file")
    dimod = _require("dimod", "reading a BQM file")
    try:
        doc = json.loads(bqm_file.read_text())
    except json.JSONDecodeError as e:
        raise typer.BadParameter(f"{bqm_file} is not JSON: {e}", param_hint="--bqm-file") from None
    return dimod.BinaryQuadraticModel.from_serializable(doc)


def _require(module: str, what: str) -> Any:
    """``import module``, or a one-line error naming the extra that provides it."""
    try:
        return import_module(module)
    except ImportError:
        raise typer.BadParameter(f"{what} needs {module}; pip install 'hqml[optimize]'") from None


def _plain(x: Any) -> Any:
    if is_dataclass(x):
        return _plain(asdict(x))
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [_plain(v) for v in x]
    if hasattr(x, "item"):
        return x.item()
    return x


def qubo(
    problem: Annotated[str, typer.Argument(help=f"one of {', '.join(PROBLEMS)}")],
    size: Annotated[int, typer.Option(help="variables of a generated instance")] = 12,
    seed: Annotated[int, typer.Option(help="seed for the instance and the solvers")] = 0,
    solver: Annotated[str, typer.Option(help="auto, exact, sa, tabu, steepest or qaoa")] = "auto",
    time_limit: Annotated[float | None, typer.Option(help="seconds per solver attempt")] = None,
    bqm_file: Annotated[Path | None, typer.Option(help="dimod BQM JSON for problem 'file'")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for solution.json")] = None,
) -> None:
    """Solve a QUBO with the automatic solver router and report every attempt."""
    from rich.console import Console
    from rich.table import Table

    if problem not in PROBLEMS:
        raise typer.BadParameter(f"problem must be one of {', '.join(PROBLEMS)}, got {problem!r}")
    _require("dimod", f"hqml qubo {problem}")

    if solver != "auto" and solver not in SOLVERS:
        raise typer.BadParameter(
            f"must be auto or one of {', '.join(SOLVERS)}, got {solver!r}", param_hint="--solver"
        )
    instance = _instance(problem, size, seed, bqm_file)
    solution = solve(instance, solver=solver, time_limit=time_limit, seed=seed)
    console = Console()
    console.print(f"[bold]plan[/]: {solution.reason}")
    table = Table(title=f"QUBO {problem}: attempts")
    for col in ("solver", "status", "energy", "seconds", "error"):
        table.add_column(col)
    for a in solution.attempts:
        table.add_row(
            a.solver,
            a.status,
            "" if a.energy is None else f"{a.energy:.6g}",
            f"{a.seconds:.3f}",
            a.error or "",
        )
    console.print(table)
    console.print(
        f"[bold]solver[/]: {solution.solver}  [bold]energy[/]: {solution.energy:.6g}"
        f"  [bold]feasible[/]: {solution.feasible}"
    )
    if solution.answer is not None:
        console.print(f"[bold]answer[/]: {solution.answer}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        record = {
            "problem": problem,
            "size": size,
            "seed": seed,
            "solver": solution.solver,
            "energy": solution.energy,
            "feasible": solution.feasible,
            "reason": solution.reason,
            "timing": solution.timing,
            "attempts": _plain(solution.attempts),
            "answer": _plain(solution.answer),
            "sample": [[_plain(k), _plain(v)] for k, v in solution.sample.items()],
        }
        (out / "solution.json").write_text(json.dumps(record, indent=2))
        console.print(f"wrote {out / 'solution.json'}")


def register(app: typer.Typer) -> None:
    app.command("qubo")(qubo)
