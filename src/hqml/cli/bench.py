"""``hqml bench``: run the benchmark suite (:mod:`hqml.bench`) against the installed peer
frameworks and print the table of medians and hqml/peer ratios.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from hqml.bench.devices import check_device
from hqml.bench.report import fmt_time, print_report, write_outputs
from hqml.bench.suite import run_suite

from .errors import fail


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="tiny sizes, 3 repeats")] = False,
    workload: Annotated[
        Optional[list[str]],  # noqa: UP045 (typer needs Optional)
        typer.Option("--workload", "-w", help="workload to run (repeatable), e.g. W1"),
    ] = None,
    qubits: Annotated[
        Optional[list[int]],  # noqa: UP045 (typer needs Optional)
        typer.Option("--qubits", "-n", help="keep only cases with these qubit counts"),
    ] = None,
    framework: Annotated[
        Optional[list[str]],  # noqa: UP045 (typer needs Optional)
        typer.Option("--framework", "-f", help="peer to run (repeatable); hqml always runs"),
    ] = None,
    threads: Annotated[int, typer.Option(help="threads every framework is pinned to")] = 2,
    isolate: Annotated[
        Optional[bool],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--isolate/--in-process", help="one subprocess per run (default: on unless --quick)"
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds before a run is dropped")] = 300.0,
    max_seconds: Annotated[
        float, typer.Option(help="timing budget of a case whose calls take > 10 s")
    ] = 40.0,
    out: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            help="results folder (default: benchmarks/results in a checkout, else ./bench-results)"
        ),
    ] = None,
    plot: Annotated[bool, typer.Option(help="write the PNG plot of time against qubits")] = True,
    device: Annotated[
        str,
        typer.Option(
            help="cpu, or cuda: hqml and torch on the GPU, peers by their GPU variants (the others"
            " are skipped)"
        ),
    ] = "cpu",
    omp_wait: Annotated[
        str,
        typer.Option(
            help="OpenMP wait policy of every run: passive (threads sleep between parallel"
            " regions, for shared machines), default (each runtime's own) or active"
        ),
    ] = "passive",
) -> None:
    """Benchmark hqml against PennyLane, Lightning, Qiskit, TensorCircuit-NG, Qulacs, torch and
    TorchQuantum on workloads W1-W4 (and plug-in workload files, see docs/benchmarks.md), on
    the CPU or a GPU."""
    if threads < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--threads")

    try:  # before any work: --device cuda on a machine without CUDA is a one-line error
        device = check_device(device)
    except ValueError as e:
        fail(str(e))
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 160)

    def progress(r: dict) -> None:
        t = fmt_time(r.get("median_s")) if r["status"] == "ok" else r["status"]
        console.print(
            f"  {r['workload']} {r['label']:<12} {r['framework']:<14} {t}", highlight=False
        )

    try:
        doc = run_suite(
            workload or None,
            qubits or None,
            quick=quick,
            frameworks=framework or None,
            threads=threads,
            isolate=isolate,
            timeout_s=timeout,
            max_seconds=max_seconds,
            progress=progress,
            device=device,
            omp_wait=omp_wait,
        )
    except ValueError as e:
        fail(str(e))
    print_report(doc, console)
    paths = write_outputs(doc, out, plot=plot)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
