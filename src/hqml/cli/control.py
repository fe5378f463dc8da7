"""``hqml control bench``: reinforcement-learning calibration against Nelder-Mead."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hqml.tracking.logger import RunLogger

from .errors import writable_folder
from .progress import progress_bars

control_app = typer.Typer(
    help="Reinforcement-learning calibration of a simulated transmon.", no_args_is_help=True
)


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{what} must be comma-separated integers, got {text!r}") from None


@control_app.command("bench")
def bench(
    seeds: Annotated[int, typer.Option(help="miscalibrated devices to calibrate")] = 3,
    experiments: Annotated[int, typer.Option(help="experiments per device")] = 3_200,
    drift_experiments: Annotated[int, typer.Option(help="length of the drift run")] = 12_800,
    shots: Annotated[int, typer.Option(help="shots per calibration sequence")] = 20,
    settle: Annotated[
        int, typer.Option(help="drift run: experiments before PPO's calibration is frozen")
    ] = 2_048,
    tracking_lr: Annotated[
        float, typer.Option(help="drift run: PPO's learning rate after --settle (0: unchanged)")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="first seed of devices, agents and shots")] = 0,
    nm_factors: Annotated[
        str, typer.Option(help="Nelder-Mead's shots per sequence, as multiples of --shots")
    ] = "1,10,100",
    agent: Annotated[
        str,
        typer.Option(
            help="ppo: one-step PPO trained online on each device; feedback: a PPO policy "
            "trained on simulated devices that observes recent measured deviations"
        ),
    ] = "ppo",
    pretrain: Annotated[
        int, typer.Option(help="feedback: simulated experiments of training")
    ] = 32_768,
    step: Annotated[
        float, typer.Option(help="feedback: largest correction per experiment (of the ranges)")
    ] = 0.05,
    coarse: Annotated[
        int,
        typer.Option(
            help="feedback: experiments of a coarse first stage (device fit with Ramsey "
            "sequences, shots counted; 0: none)"
        ),
    ] = 0,
    guard: Annotated[
        float,
        typer.Option(
            help="feedback: rerun the coarse stage when the RMS measured deviation exceeds "
            "this (0: never)"
        ),
    ] = 0.0,
    hold_gain: Annotated[
        float, typer.Option(help="feedback: gain on corrections once below --hold-below")
    ] = 1.0,
    hold_below: Annotated[
        float, typer.Option(help="feedback: RMS deviation (long average) that counts as held")
    ] = 0.0,
    drift_devices: Annotated[int, typer.Option(help="drift runs (devices seed+100, ...)")] = 1,
    drift_edge: Annotated[
        bool,
        typer.Option(help="put the last drift device at the edge of the frequency spread"),
    ] = False,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/control_bench"),
    mlflow: Annotated[bool, typer.Option(help="log to MLflow when installed")] = True,
) -> None:
    """PPO trained online vs Nelder-Mead: shots to reach F >= 0.999, and holding it under drift."""
    from rich.console import Console

    try:
        from hqml.control.bench import ControlBenchConfig, run_bench

        cfg = ControlBenchConfig(
            seeds=seeds,
            experiments=experiments,
            drift_experiments=drift_experiments,
            shots=shots,
            settle=settle,
            tracking_lr=tracking_lr or None,
            seed=seed,
            nm_factors=_ints(nm_factors, "--nm-factors"),
            agent=agent,
            pretrain=pretrain,
            step=step,
            coarse=coarse,
            guard=guard or None,
            hold_gain=hold_gain,
            hold_below=hold_below,
            drift_devices=drift_devices,
            drift_edge=drift_edge,
        )
    except (ValueError, ImportError) as e:
        raise typer.BadParameter(str(e)) from None
    writable_folder(out)
    console = Console()
    with progress_bars(console) as progress:
        progress("calibrating", 0, seeds + drift_devices)
        results = run_bench(cfg, out, progress=progress)
    _log(results, out, mlflow)
    console.print((out / "report.md").read_text())
    console.print(f"wrote {out / 'results.json'}, {out / 'report.md'} and plots")


def _log(results: dict, out: Path, enabled: bool) -> None:

    with RunLogger(
        out, experiment="hqml-control", run_name="control-bench", mlflow=None if enabled else False
    ) as log:
        log.log_params(results["config"])
        for r in results["static"]:
            nm = r["nelder_mead"]
            log.log_metrics(
                {
                    "ppo_final_fidelity": r["ppo"]["fidelity"][-1],
                    "ppo_shots_to_target": r["ppo_shots_to_target"],
                    "nm_best_shots_to_target": r["nm_best_shots_to_target"],
                    "ppo_shots_to_hold": r.get("ppo_shots_to_hold"),
                    "nm_best_shots_to_hold": r.get("nm_best_shots_to_hold"),
                    **{f"nm_{k}_final_fidelity": t["fidelity"][-1] for k, t in nm.items()},
                    **{f"nm_{k}_shots_to_target": v for k, v in r["nm_shots_to_target"].items()},
                },
                step=r["seed"],
            )
        d = results["drift"]
        log.log_metrics(
            {k: d[k] for k in ("ppo_min_after_settling", "one_off_start", "one_off_min")}
        )
        for k, d in enumerate(results.get("drift_runs", [])):
            log.log_metrics(
                {
                    "drift_ppo_min_after_settling": d["ppo_min_after_settling"],
                    "drift_one_off_min": d["one_off_min"],
                },
                step=k,
            )
        for name in ("results.json", "report.md", "calibration.png", "drift.png"):
            log.log_artifact(out / name)


def register(app: typer.Typer) -> None:
    app.add_typer(control_app, name="control")
