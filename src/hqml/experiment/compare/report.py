"""The outputs of ``hqml compare``: ``results.csv`` in the study's column layout,
``results.json``, ``report.md`` (per-suite tables and rankings, the "does entanglement matter"
table) and one PNG per suite (test accuracy against the varied difficulty parameter, one line
per model, classical models dashed, as in the study's figures)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .registry import MODELS

CSV_COLUMNS = [
    "benchmark",
    "dataset",
    "varied_parameter",
    "value",
    "model",
    "train_acc_mean",
    "train_acc_std",
    "test_acc_mean",
    "test_acc_std",
    "best_params",
    "fit_s_mean",
    "n_qubits",
    "circuit_depth",
    "circuit_evaluations_mean",
]


def _row(r: dict[str, Any]) -> dict[str, Any]:
    first = r["runs"][0]
    return {
        "benchmark": r["benchmark"],
        "dataset": r["dataset"],
        "varied_parameter": r["varied"],
        "value": r["value"],
        "model": r["model"],
        "train_acc_mean": round(r["train_acc_mean"], 4),
        "train_acc_std": round(r["train_acc_std"], 4),
        "test_acc_mean": round(r["test_acc_mean"], 4),
        "test_acc_std": round(r["test_acc_std"], 4),
        "best_params": json.dumps(r["best_params"], sort_keys=True),
        "fit_s_mean": round(float(np.mean([x["fit_s"] for x in r["runs"]])), 3),
        "n_qubits": first.get("n_qubits"),
        "circuit_depth": first.get("circuit_depth"),
        "circuit_evaluations_mean": _mean_of(r["runs"], "circuit_evaluations"),
    }


def _mean_of(runs: list[dict[str, Any]], key: str) -> float | None:
    """The mean of a per-run count, or None where the model runs no circuits (or an older
    trial file has no count)."""
    values = [x.get(key) for x in runs]
    return None if any(v is None for v in values) else float(np.mean(values))


def write_csv(results: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in completed(results):
            w.writerow(_row(r))


def completed(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trials that produced accuracies (not those whose every grid point failed)."""
    return [r for r in results if "failed" not in r]


def _by_suite(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in completed(results):
        out[r["benchmark"]].append(r)
    return out


def plot_suite(suite: str, results: list[dict[str, Any]], path: Path) -> None:
    """Test accuracy against the varied parameter, one line per model (classical dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    models = sorted({r["model"] for r in results})
    for m in models:
        rows = sorted((r for r in results if r["model"] == m), key=lambda r: r["value"])
        xs = [r["value"] for r in rows]
        ys = np.array([r["test_acc_mean"] for r in rows])
        sd = np.array([r["test_acc_std"] for r in rows])
        style = "--" if MODELS[m].classical else "-"
        (line,) = ax.plot(xs, ys, style, marker="o", ms=3, label=m)
        ax.fill_between(xs, ys - sd, ys + sd, color=line.get_color(), alpha=0.12)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel(results[0]["varied"])
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.4, 1.02)
    ax.set_title(suite)
    ax.legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _suite_table(suite: str, rows: list[dict[str, Any]]) -> list[str]:
    values = sorted({r["value"] for r in rows})
    models = sorted({r["model"] for r in rows})
    cell = {(r["model"], r["value"]): r for r in rows}
    lines = [
        f"### {suite} (varying {rows[0]['varied']})",
        "",
        f"![{suite}]({suite}.png)",
        "",
        "| model | " + " | ".join(str(v) for v in values) + " | mean | rank |",
        "|---|" + "---|" * (len(values) + 2),
    ]
    # rank on the datasets every model ran on: a model missing the hard ones must not gain
    common = [v for v in values if all((m, v) in cell for m in models)]
    ranked_on = common or values
    means = {
        m: float(np.mean([cell[m, v]["test_acc_mean"] for v in ranked_on if (m, v) in cell]))
        for m in models
    }
    ranking = sorted(models, key=lambda m: -means[m])
    for m in ranking:
        cells = [
            f"{cell[m, v]['test_acc_mean']:.3f} ± {cell[m, v]['test_acc_std']:.3f}"
            if (m, v) in cell
            else "—"
            for v in values
        ]
        tag = " (classical)" if MODELS[m].classical else ""
        lines.append(
            f"| {m}{tag} | " + " | ".join(cells) + f" | {means[m]:.3f} | {ranking.index(m) + 1} |"
        )
    if ranked_on != values:
        lines += [
            "",
            f"Mean and rank over the values every model ran on ({', '.join(map(str, common))})"
            if common
            else "No value ran with every model: means over each model's own values, not"
            " comparable",
        ]
    return lines + [""]


def _entanglement_table(results: list[dict[str, Any]]) -> list[str]:
    cell = {(r["model"], r["benchmark"], r["value"]): r for r in completed(results)}
    lines = [
        "## Does entanglement matter?",
        "",
        "Each model beside its separable ablation: mean test accuracy over the datasets both ran"
        " on, and on how many datasets the separable one is at least as good.",
        "",
        "| model | separable ablation | datasets | model acc | separable acc | separable >= |",
        "|---|---|---|---|---|---|",
    ]
    found = False
    for spec in MODELS.values():
        if spec.separable_of is None:
            continue
        keys = [
            (b, v) for (m, b, v) in cell if m == spec.separable_of and (spec.name, b, v) in cell
        ]
        if not keys:
            continue
        found = True
        a = [cell[spec.separable_of, b, v]["test_acc_mean"] for b, v in keys]
        s = [cell[spec.name, b, v]["test_acc_mean"] for b, v in keys]
        wins = sum(si >= ai for si, ai in zip(s, a, strict=True))
        lines.append(
            f"| {spec.separable_of} | {spec.name} | {len(keys)} | {np.mean(a):.3f} |"
            f" {np.mean(s):.3f} | {wins}/{len(keys)} |"
        )
    if not found:
        lines.append("| (no model ran beside its separable ablation) | | | | | |")
    return lines + [""]


def write_report(results: list[dict[str, Any]], config: dict[str, Any], out: Path) -> Path:
    """Write results.csv, results.json, one PNG per suite and report.md; returns report.md."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "results.csv")
    (out / "results.json").write_text(json.dumps({"config": config, "trials": results}, indent=1))
    total_s = sum(r["total_s"] for r in results)
    lines = [
        "# hqml compare",
        "",
        f"{len(results)} trials (models x datasets); grid `{config['grid']}`,"
        f" {config['folds']}-fold grid search, best setting refitted over seeds"
        f" {config['seeds']}; training capped at {config['max_steps'] or 'the models defaults'}"
        f" steps. Compute: {total_s:.0f} s of trial time.",
        "",
        "Cells: mean ± standard deviation of the test accuracy over the seeds.",
        "",
    ]
    for suite, rows in _by_suite(results).items():
        plot_suite(suite, rows, out / f"{suite}.png")
        lines += _suite_table(suite, rows)
    lines += _entanglement_table(results)
    capped = [r for r in completed(results) if r.get("capped_fits")]
    if capped:
        lines += [
            "## Training stopped at the step cap",
            "",
            "These refits trained until `max_steps` (the flatness test may be off at small caps,"
            " so no convergence warning was raised): their accuracies may be below the"
            " model's.",
            "",
            *[
                f"- {r['model']} on {r['dataset']}: {r['capped_fits']} of {len(r['runs'])} refits"
                for r in capped
            ],
            "",
        ]
    gave_up = [r for r in results if "failed" in r]
    if gave_up:
        lines += [
            "## Trials that failed",
            "",
            "Every grid point raised; no accuracy, left out of tables, plots and the CSV:",
            "",
            *[f"- {r['model']} on {r['dataset']}: {r['failed']}" for r in gave_up],
            "",
        ]
    warned = [r for r in completed(results) if r["convergence_warnings"]]
    if warned:
        lines += [
            "## Training that did not converge",
            "",
            *[
                f"- {r['model']} on {r['dataset']}: {r['convergence_warnings']} fits hit max_steps"
                for r in warned
            ],
            "",
        ]
    failed = [r for r in completed(results) if r.get("failed_grid_points")]
    if failed:
        lines += [
            "## Grid points that failed",
            "",
            "Scored as failed and left out of the choice of the best setting (as in the study):",
            "",
            *[
                f"- {r['model']} on {r['dataset']}: {r['failed_grid_points']} of"
                f" {r['grid_size']} grid points raised in some fold"
                for r in failed
            ],
            "",
        ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


__all__ = ["write_report", "write_csv", "plot_suite", "completed", "CSV_COLUMNS"]
