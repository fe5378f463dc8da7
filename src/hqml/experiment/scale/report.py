"""The outputs of a scale study: results.json, results.csv, PNG plots, report.md, MLflow."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from ...provenance import mlflow_tags, provenance
from ...tracking import RunLogger
from ..mitigation import mitigation_record
from ..report import _pyplot
from .aggregate import axis_summary
from .config import ScaleConfig, resolve_executor
from .markdown import write_markdown
from .point import SPLIT

COLORS = {
    "quantum simulation": "tab:purple",
    "data encoding": "tab:blue",
    "communication": "tab:red",
    "classical compute": "tab:green",
    "data movement": "tab:gray",
}


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def plot_accuracy(axis: str, s: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(
        s["values"],
        s["hybrid_test_acc"]["mean"],
        s["hybrid_test_acc"]["sd"],
        marker="o",
        capsize=3,
        label="hybrid",
    )
    if "baseline_test_acc" in s:
        ax.errorbar(
            s["values"],
            s["baseline_test_acc"]["mean"],
            s["baseline_test_acc"]["sd"],
            marker="s",
            capsize=3,
            label="classical baseline (same parameter count)",
        )
    plateau = s.get("thresholds", {}).get("accuracy_plateau", {}).get("value")
    if plateau is not None:
        ax.axvline(plateau, color="k", ls=":", label=f"plateau at {plateau}")
    ax.set(xlabel=axis, ylabel="test accuracy", title=f"Accuracy vs {axis}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_time_split(axis: str, s: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.asarray(s["values"], float)
    ys = [np.nan_to_num(np.asarray(s["split"][k], float)) for k in SPLIT]
    ax.stackplot(x, *ys, labels=list(SPLIT), colors=[COLORS[k] for k in SPLIT], alpha=0.85)
    ax.set_xscale("log")
    ax.set_yscale("log")
    total = np.sum(ys, axis=0)
    ax.set_ylim(max(total.min() * 0.05, 1e-6), total.max() * 2)
    ax.set(
        xlabel=f"{axis} (log)",
        ylabel="seconds per epoch (log)",
        title=f"Time per epoch vs {axis}, split",
    )
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def plot_variance(axis: str, s: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.asarray(s["values"], float)
    g = s["grad_variance_init"]
    ax.errorbar(x, g["mean"], g["sd"], marker="o", capsize=3, label="at initialisation")
    last = s["grad_variance_last_epoch"]["mean"]
    if np.isfinite(np.asarray(last, float)).any():
        ax.plot(x, last, "s--", label="during training (last epoch, across steps)")
    fit = s.get("grad_variance_fit")
    if fit:
        ax.plot(
            x,
            np.exp(fit["intercept"] - fit["rate"] * x),
            "k:",
            label=f"fit: exp(-{fit['rate']:.3f} {axis})"
            + (f" (+-{fit['rate_stderr']:.3f})" if fit["rate_stderr"] is not None else ""),
        )
    ax.set_yscale("log")
    ax.set(xlabel=axis, ylabel="gradient variance (log)", title=f"Gradient variance vs {axis}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_memory(axis: str, s: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(
        s["values"],
        s["peak_rss_mb"]["mean"],
        s["peak_rss_mb"]["sd"],
        marker="o",
        capsize=3,
        label="this process",
    )
    workers = s.get("peak_worker_rss_mb", {}).get("mean", [])
    if np.isfinite(np.asarray(workers, float)).any():
        ax.plot(s["values"], workers, "s--", label="process-pool workers (summed peaks)")
        ax.legend(fontsize=8)
    ax.set(xlabel=axis, ylabel="peak RSS (MiB)", title=f"Peak memory vs {axis}")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _csv(records: list[dict[str, Any]], path: Path) -> Path:
    rows = []
    for r in records:
        row: dict[str, Any] = {"key": r["key"], "status": r.get("status"), **r["point"]}
        for model in ("hybrid", "baseline"):
            m = r.get(model)
            if m:
                row.update(
                    {
                        f"{model}_parameters": m["parameters"],
                        f"{model}_test_acc": m["test_acc"],
                        f"{model}_test_loss": m["test_loss"],
                        f"{model}_epoch_s": m["epoch_seconds"],
                        f"{model}_energy_j_per_epoch": m["energy_j_per_epoch"],
                        f"{model}_peak_rss_bytes": m["memory"]["peak_rss_bytes"],
                        f"{model}_peak_worker_rss_bytes": m["memory"].get("peak_worker_rss_bytes"),
                    }
                )
        if r.get("hybrid"):
            row.update(
                {f"split_{k.replace(' ', '_')}_s": v for k, v in r["hybrid"]["time_split"].items()}
            )
        if r.get("circuit"):
            row.update({f"circuit_{k}": v for k, v in r["circuit"].items()})
        if r.get("grad_variance_init"):
            row["grad_variance_init"] = r["grad_variance_init"]["mean"]
        for group in ("quantum", "classical"):
            if group in (r.get("grad_variance_init_groups") or {}):
                row[f"grad_variance_init_{group}"] = r["grad_variance_init_groups"][group]
        row["error"] = r.get("error")
        rows.append(row)
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def _plots(axes: dict[str, Any], out: Path) -> list[Path]:
    numeric = [a for a, s in axes.items() if "thresholds" in s]
    paths = []
    depth = "layers" if "layers" in numeric else (numeric[0] if numeric else None)
    width = "qubits" if "qubits" in numeric else depth
    if depth:
        paths.append(plot_accuracy(depth, axes[depth], out / f"accuracy_vs_{depth}.png"))
    if width:
        paths.append(plot_time_split(width, axes[width], out / f"time_vs_{width}.png"))
        paths.append(plot_variance(width, axes[width], out / f"grad_variance_vs_{width}.png"))
        paths.append(plot_memory(width, axes[width], out / f"memory_vs_{width}.png"))
    if depth and depth != width:
        paths.append(plot_variance(depth, axes[depth], out / f"grad_variance_vs_{depth}.png"))
    return paths


def write_outputs(cfg: ScaleConfig, records: list[dict[str, Any]]) -> dict[str, Any]:
    """results.json, results.csv, plots and report.md under the study folder (and MLflow)."""
    out = cfg.out_dir()
    axes = {a: axis_summary(cfg, a, records) for a in cfg.settings.axes}
    ok = [r for r in records if r.get("status") == "ok"]
    summary = {
        "name": cfg.name,
        "settings": cfg.settings.model_dump(),
        "executor": resolve_executor(cfg.settings.executor),  # what "auto" ran on this call
        "base_config": cfg.base,
        "points": len(records),
        "failed": [r["key"] for r in records if r.get("status") != "ok"],
        "axes": axes,
        "devices": sorted({r.get("device", "cpu") for r in ok}),  # older records: CPU only
        "energy_method": "; or ".join(sorted({r["hybrid"]["energy_method"] for r in ok})) or None,
        "unsplit_remote": [
            r["key"] for r in ok if r["hybrid"].get("unsplit_remote_s_per_epoch", 0.0) > 0
        ],
        "provenance": provenance(
            seeds={"points": cfg.settings.seeds},
            backend=cfg.base_cfg.model.backend,
            backend_options=cfg.base_cfg.model.backend_options,
            diff_method=cfg.base_cfg.model.diff_method,
            dataset=ok[0]["provenance"]["dataset"] if ok else None,
            noise=cfg.base_cfg.noise.model_dump() if cfg.base_cfg.noise.active else None,
            mitigation=mitigation_record(cfg.base_cfg.mitigation),
            shots=cfg.base_cfg.model.shots,
            note="the base config's settings; each record holds its point's own provenance",
        ),
        "records": records,
    }
    (out / "results.json").write_text(json.dumps(summary, indent=1, default=str))
    files = [out / "results.json", _csv(records, out / "results.csv"), *_plots(axes, out)]
    files.append(write_markdown(summary, [p.name for p in files[2:]], out / "report.md"))
    _track(cfg, summary, files)
    if summary.get("mlflow_run_id"):
        (out / "results.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def _track(cfg: ScaleConfig, summary: dict[str, Any], files: list[Path]) -> None:
    t = cfg.base_cfg.tracking
    logger = RunLogger(
        cfg.out_dir(),
        experiment=t.experiment,
        run_name=f"scale-{cfg.name}",
        mlflow=t.mlflow,
        tracking_uri=t.tracking_uri,
    )
    try:
        logger.set_tags(mlflow_tags(summary["provenance"]))
        logger.log_params({"scale": cfg.settings.model_dump()})
        for i, r in enumerate(r for r in summary["records"] if r.get("status") == "ok"):
            metrics = {
                "hybrid_test_acc": r["hybrid"]["test_acc"],
                "hybrid_epoch_s": r["hybrid"]["epoch_seconds"],
                "hybrid_energy_j_per_epoch": r["hybrid"]["energy_j_per_epoch"],
                "hybrid_peak_rss_mib": r["hybrid"]["memory"]["peak_rss_bytes"] / 2**20,
            }
            for key, name in (("peak_gpu_bytes", "gpu"), ("peak_worker_rss_bytes", "worker_rss")):
                if r["hybrid"]["memory"].get(key) is not None:
                    metrics[f"hybrid_peak_{name}_mib"] = r["hybrid"]["memory"][key] / 2**20
            if r.get("grad_variance_init"):
                metrics["grad_variance_init"] = r["grad_variance_init"]["mean"]
            if r.get("baseline"):
                metrics["baseline_test_acc"] = r["baseline"]["test_acc"]
                metrics["baseline_epoch_s"] = r["baseline"]["epoch_seconds"]
            logger.log_metrics(metrics, step=i)  # step: the record's place in results.json
        for path in files:
            logger.log_artifact(path)
        summary["mlflow_run_id"] = logger.run_id
        logger.finish("FINISHED")
    except Exception:
        logger.finish("FAILED")
        raise


__all__ = ["write_outputs"]
