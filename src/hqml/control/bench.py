"""``hqml control bench``: PPO against Nelder-Mead, first from a miscalibrated start, then under
slow drift. Writes ``results.json``, ``report.md``, ``calibration.png`` and ``drift.png``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .calibrate import (
    PPOCalibrator,
    Trace,
    fixed_pulse_under_drift,
    miscalibrated,
    nelder_mead,
    with_drift,
)
from .env import CalibrationTask

TARGET = 0.999


@dataclass(frozen=True)
class ControlBenchConfig:
    """What ``run_bench`` measures."""

    seeds: int = 3
    experiments: int = 3_200  # per seed, for the static calibration
    drift_experiments: int = 12_800  # the long run under drift
    drift_offset: float = 0.01  # rad/ns
    drift_scale: float = 0.02
    drift_period: float = 8_000.0  # experiments
    shots: int = 20
    record_every: int = 64  # experiments between recorded points (one PPO update)
    settle: int = 2_000  # drift run: PPO is judged after this many experiments

    def __post_init__(self) -> None:
        for name in ("seeds", "experiments", "drift_experiments", "shots", "record_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


def _as_dict(trace: Trace) -> dict[str, list]:
    return asdict(trace)


def run_bench(
    cfg: ControlBenchConfig,
    out_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run both comparisons; returns the results (and writes them to ``out_dir``)."""
    task = CalibrationTask(shots=cfg.shots)
    static = []
    for seed in range(cfg.seeds):
        device = miscalibrated(task, seed)
        ppo = PPOCalibrator(task, device, seed=seed).run(cfg.experiments, cfg.record_every)
        _, nm = nelder_mead(task, device, ppo.shots[-1], seed=seed)
        # the baseline's own best setting: ten times the shots per evaluation
        _, nm10 = nelder_mead(
            replace(task, shots=10 * task.shots), device, ppo.shots[-1], seed=seed
        )
        static.append(
            {
                "seed": seed,
                "ppo": _as_dict(ppo),
                "nelder_mead": _as_dict(nm),
                "nelder_mead_10x": _as_dict(nm10),
                "ppo_shots_to_target": ppo.shots_to_reach(TARGET),
                "nm_shots_to_target": nm.shots_to_reach(TARGET),
                "nm10_shots_to_target": nm10.shots_to_reach(TARGET),
            }
        )
        if progress is not None:
            progress("calibration", seed + 1, cfg.seeds + 1)
    drift_task = with_drift(task, cfg.drift_offset, cfg.drift_scale, cfg.drift_period)
    device = miscalibrated(drift_task, 100)
    ppo_drift = PPOCalibrator(drift_task, device, seed=100).run(
        cfg.drift_experiments, cfg.record_every
    )
    once, _ = nelder_mead(task, device, cfg.experiments * task.shots_per_step, seed=100)
    fixed = fixed_pulse_under_drift(drift_task, device, once, ppo_drift.time, ppo_drift.shots)
    settled = [
        f for f, t in zip(ppo_drift.fidelity, ppo_drift.time, strict=True) if t >= cfg.settle
    ]
    drift = {
        "ppo": _as_dict(ppo_drift),
        "one_off": _as_dict(fixed),
        "ppo_min_after_settling": min(settled) if settled else None,
        "one_off_min": min(fixed.fidelity),
    }
    if progress is not None:
        progress("drift", cfg.seeds + 1, cfg.seeds + 1)
    results = {
        "config": asdict(cfg),
        "target": TARGET,
        "shots_per_experiment": task.shots_per_step,
        "static": static,
        "drift": drift,
    }
    if out_dir is not None:
        write_outputs(results, Path(out_dir))
    return results


def write_outputs(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    _plots(results, out)
    (out / "report.md").write_text(report(results))


def _plots(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for k, run in enumerate(results["static"]):
        for name, style in (("ppo", "-"), ("nelder_mead", "--"), ("nelder_mead_10x", ":")):
            tr = run[name]
            # the starting point (no shots yet) is drawn at half an experiment's shots
            shots = np.maximum(tr["shots"], results["shots_per_experiment"] / 2)
            ax.plot(
                shots,
                np.maximum(1 - np.array(tr["fidelity"]), 1e-7),
                style,
                color=f"C{k}",
                label=f"seed {run['seed']} {name.replace('_', '-')}",
            )
    ax.axhline(1 - results["target"], color="k", lw=0.8, ls=":")
    ax.set(xscale="log", yscale="log", xlabel="shots spent", ylabel="X-gate infidelity")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    d = results["drift"]
    ax.plot(d["ppo"]["time"], d["ppo"]["fidelity"], label="PPO, trained online")
    ax.plot(d["one_off"]["time"], d["one_off"]["fidelity"], "--", label="one-off Nelder-Mead")
    ax.axhline(results["target"], color="k", lw=0.8, ls=":")
    ax.set(
        xlabel="experiments (drift clock)",
        ylabel="X-gate fidelity",
        ylim=(max(0.98, min(d["one_off"]["fidelity"] + d["ppo"]["fidelity"]) - 1e-3), 1.0),
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "drift.png", dpi=120)
    plt.close(fig)


def report(results: dict[str, Any]) -> str:
    cfg = results["config"]
    lines = [
        "# RL calibration of a transmon X gate",
        "",
        f"Three-level transmon, {results['shots_per_experiment']} shots per experiment "
        f"({cfg['shots']} per calibration sequence). PPO is trained online on the device "
        "(one-step episodes); Nelder-Mead minimises the same measured cost with the same "
        "shots per evaluation (NM) or ten times as many (NM 10x), and the same total budget. "
        "Fidelity is the true average gate fidelity (leakage included), never shown to "
        "either.",
        "",
        "| seed | start F | PPO final F | NM final F | NM 10x final F | PPO shots to 0.999 "
        "| NM shots to 0.999 | NM 10x shots to 0.999 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["static"]:
        lines.append(
            f"| {r['seed']} | {r['ppo']['fidelity'][0]:.5f} | "
            f"{r['ppo']['fidelity'][-1]:.6f} | {r['nelder_mead']['fidelity'][-1]:.6f} | "
            f"{r['nelder_mead_10x']['fidelity'][-1]:.6f} | "
            f"{r['ppo_shots_to_target'] or 'never'} | "
            f"{r['nm_shots_to_target'] or 'never'} | "
            f"{r['nm10_shots_to_target'] or 'never'} |"
        )
    d = results["drift"]
    ppo_min = d["ppo_min_after_settling"]
    lines += [
        "",
        "![calibration](calibration.png)",
        "",
        f"Under drift ({cfg['drift_experiments']} experiments, frequency drift "
        f"{cfg['drift_offset']} rad/ns, drive-scale drift {cfg['drift_scale']:.0%}, period "
        f"{cfg['drift_period']:.0f}): PPO's lowest fidelity after its first "
        f"{cfg['settle']} experiments "
        f"{'n/a' if ppo_min is None else f'{ppo_min:.5f}'}, the one-off calibration's "
        f"lowest {d['one_off_min']:.5f}.",
        "",
        "![drift](drift.png)",
        "",
    ]
    return "\n".join(lines)
