"""``hqml qec bench``: neural surface-code decoders against PyMatching."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hqml.tracking.logger import RunLogger

from .errors import writable_folder
from .progress import progress_bars

qec_app = typer.Typer(help="Machine learning for quantum error correction.", no_args_is_help=True)


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"{what} must be comma-separated numbers, got {text!r}") from None


def _decoder_options(decoder: str, measurements: bool, channels: int | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if measurements:
        if decoder != "recurrent":
            raise ValueError(
                f"--measurements applies to the recurrent decoder only; drop it for {decoder}"
            )
        options["measurements"] = True
    if channels is not None:
        if decoder not in ("conv", "lattice"):
            raise ValueError("--channels applies to the conv and lattice decoders; drop it")
        options["channels"] = channels
    return options


@qec_app.command("bench")
def bench(
    distances: Annotated[str, typer.Option(help="comma-separated odd distances")] = "3,5",
    ps: Annotated[
        str, typer.Option(help="comma-separated physical error rates")
    ] = "0.001,0.003,0.005,0.007",
    decoder: Annotated[str, typer.Option(help="recurrent, lattice or conv")] = "recurrent",
    basis: Annotated[str, typer.Option(help="z or x memory")] = "z",
    noise: Annotated[str, typer.Option(help="depolarizing or biased")] = "depolarizing",
    train_shots: Annotated[int, typer.Option(help="training shots per distance")] = 2_000_000,
    test_shots: Annotated[int, typer.Option(help="test shots per (d, p)")] = 1_000_000,
    epochs: Annotated[int, typer.Option(help="training epochs")] = 3,
    train_ps: Annotated[
        str, typer.Option(help="comma-separated p of the training shots (default: --ps)")
    ] = "",
    batch_size: Annotated[int, typer.Option(help="training shots per step")] = 1024,
    lr: Annotated[float, typer.Option(help="peak learning rate")] = 5e-3,
    measurements: Annotated[
        bool, typer.Option(help="recurrent decoder: feed stabiliser measurements too")
    ] = False,
    channels: Annotated[
        int | None, typer.Option(help="conv and lattice decoders: feature maps per cell")
    ] = None,
    fresh_shots: Annotated[
        bool, typer.Option(help="sample new training shots every step (epochs x train-shots)")
    ] = False,
    seed: Annotated[int, typer.Option(help="seed of training and test shots")] = 0,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/qec_bench"),
    mlflow: Annotated[bool, typer.Option(help="log to MLflow when installed")] = True,
) -> None:
    """Logical error rate per round against p: a neural decoder beside PyMatching."""
    from rich.console import Console

    try:
        from hqml.qec.bench import QecBenchConfig, run_bench
        from hqml.qec.codes import SurfaceCodeMemory

        dist = [int(v) for v in _floats(distances, "--distances")]
        for d in dist:
            SurfaceCodeMemory(d, 0.0)  # validates the distance before any work
        cfg = QecBenchConfig(
            distances=dist,
            ps=_floats(ps, "--ps"),
            decoder=decoder,
            basis=basis,
            noise=noise,
            train_shots=train_shots,
            test_shots=test_shots,
            epochs=epochs,
            train_ps=_floats(train_ps, "--train-ps") or None,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            decoder_options=_decoder_options(decoder, measurements, channels),
            fresh_shots=fresh_shots,
        )
        for p in [*cfg.ps, *(cfg.train_ps or ())]:
            SurfaceCodeMemory(3, p, basis=basis, noise=noise)
    except (ValueError, ImportError) as e:
        raise typer.BadParameter(str(e)) from None
    writable_folder(out)
    console = Console()
    stage = lambda label: "train" if "training" in label else "eval"  # noqa: E731
    with progress_bars(console, stage) as progress:
        results = run_bench(cfg, out, progress=progress)
    _log_mlflow(results, out, mlflow)
    _print_table(console, results)
    console.print(f"wrote {out / 'results.json'}, {out / 'report.md'}, {out / 'ler_vs_p.png'}")


def _print_table(console: object, results: dict) -> None:
    from rich.table import Table

    table = Table(title="logical error rate per round")
    for col in ("d", "p", "decoder", "LER/round", "±1σ", "µs/shot"):
        table.add_column(col)
    for r in results["rows"]:
        table.add_row(
            str(r["distance"]),
            f"{r['p']:g}",
            r["decoder"],
            f"{r['ler_per_round']:.3e}",
            f"{r['ler_err']:.1e}",
            f"{r['latency_us_per_shot']:.2f}",
        )
    console.print(table)  # type: ignore[attr-defined]


def _log_mlflow(results: dict, out: Path, enabled: bool) -> None:

    with RunLogger(
        out, experiment="hqml-qec", run_name="qec-bench", mlflow=None if enabled else False
    ) as log:
        log.log_params(results["config"])
        for r in results["rows"]:
            key = f"d{r['distance']}_p{r['p']:g}_{r['decoder']}"
            log.log_metrics(
                {
                    f"{key}_ler_per_round": r["ler_per_round"],
                    f"{key}_ler_err": r["ler_err"],
                    f"{key}_latency_us": r["latency_us_per_shot"],
                }
            )
        for name in ("results.json", "report.md", "ler_vs_p.png"):
            log.log_artifact(out / name)


def register(app: typer.Typer) -> None:
    app.add_typer(qec_app, name="qec")
