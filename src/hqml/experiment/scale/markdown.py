"""report.md of a scale study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .point import SPLIT


def _fmt(v: Any, spec: str = ".3f") -> str:
    try:
        return format(v, spec)
    except (TypeError, ValueError):
        return str(v)


def _measured(curve: dict[str, Any] | None) -> bool:
    return any(v == v for v in (curve or {}).get("mean", []))  # any value not NaN


def _memory(s: dict[str, Any], i: int) -> str:
    """The optional memory cells: workers' peak RSS and GPU peak, where any point has them."""
    return "".join(
        f" {_fmt(s[k]['mean'][i], '.0f')} |"
        for k in ("peak_worker_rss_mb", "peak_gpu_mb")
        if _measured(s.get(k))
    )


def _axis_table(axis: str, s: dict[str, Any]) -> list[str]:
    base = "baseline_test_acc" in s
    head = (
        f"| {axis} | seeds | params at start | qubits x depth (2q gates) | hybrid acc |"
        + (" baseline acc |" if base else "")
        + " s/epoch | quantum share | peak RSS MiB |"
        + (" workers' peak RSS MiB |" if _measured(s.get("peak_worker_rss_mb")) else "")
        + (" peak GPU MiB |" if _measured(s.get("peak_gpu_mb")) else "")
        + " energy J/epoch |"
        + (" baseline s/epoch | baseline J/epoch |" if base else "")
        + " grad var (init) | grad var, model init (quantum / classical) |"
        " final params | gate evals |"
    )
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for i, v in enumerate(s["values"]):
        c = s["circuit"][i] or {}
        split = {k: s["split"][k][i] for k in SPLIT}
        total = sum(x for x in split.values() if x == x) or float("nan")
        q = split["quantum simulation"] + split["data encoding"] + split["communication"]
        row = (
            f"| {v} | {s['seeds_per_value'][i]} | {s['parameters'][i]} |"
            f" {c.get('width', '-')} x {c.get('depth', '-')} ({c.get('two_qubit_gates', '-')})"
            f" | {_fmt(s['hybrid_test_acc']['mean'][i])}"
            f" +- {_fmt(s['hybrid_test_acc']['sd'][i])} |"
        )
        if base:
            row += (
                f" {_fmt(s['baseline_test_acc']['mean'][i])}"
                f" +- {_fmt(s['baseline_test_acc']['sd'][i])} |"
            )
        row += (
            f" {_fmt(s['hybrid_epoch_s']['mean'][i], '.4f')} | {_fmt(100 * q / total, '.0f')}%"
            f" | {_fmt(s['peak_rss_mb']['mean'][i], '.0f')} |{_memory(s, i)}"
            f" {_fmt(s['energy_j']['mean'][i], '.2f')} |"
        )
        if base:
            row += (
                f" {_fmt(s['baseline_epoch_s']['mean'][i], '.4f')} |"
                f" {_fmt(s['baseline_energy_j']['mean'][i], '.2f')} |"
            )
        groups = s.get("grad_variance_init_groups", {})
        row += (
            f" {_fmt(s['grad_variance_init']['mean'][i], '.2e')} |"
            f" {_fmt(groups.get('quantum', {}).get('mean', ['-'] * (i + 1))[i], '.2e')} /"
            f" {_fmt(groups.get('classical', {}).get('mean', ['-'] * (i + 1))[i], '.2e')} |"
            f" {_fmt(s['final_parameters']['mean'][i], '.0f')} |"
            f" {_fmt(s['gate_evaluations']['mean'][i], '.3g')} |"
        )
        out.append(row)
    return out


def _thresholds(s: dict[str, Any]) -> list[str]:
    out = []
    for name, t in s.get("thresholds", {}).items():
        ev = ", ".join(f"{k}: {_short(v)}" for k, v in t["evidence"].items())
        found = "none found" if t["value"] is None else f"**at {t['value']}**"
        out.append(f"- {name.replace('_', ' ')}: {found} (rule: {t['rule']}; evidence: {ev})")
    fit = s.get("grad_variance_fit")
    if fit:
        err = fit.get("rate_stderr")
        out.append(
            f"- gradient variance decay: ln Var = {fit['intercept']:.3f}"
            f" - {fit['rate']:.4f}"
            + (f" (+- {err:.4f})" if err is not None else " (two values, one seed: no error)")
            + " per unit of the axis"
        )
    return out


def _short(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x, ".3g") for x in v) + "]"
    return str(v)


def write_markdown(summary: dict[str, Any], plots: list[str], path: Path) -> Path:
    prov = summary["provenance"]
    m = prov["machine"]
    lines = [
        f"# hqml scale: {summary['name']}",
        "",
        f"{summary['points']} points ({len(summary['failed'])} failed), seeds"
        f" {summary['settings']['seeds']}, mode {summary['settings']['mode']}, executor"
        f" {summary.get('executor', summary['settings']['executor'])} x"
        f" {summary['settings']['workers']}.",
        f"Machine: {m['cpu']}, {m['cores']} cores; hqml {prov['hqml_version']}"
        + (
            f", commit {prov['git']['commit'][:10]}{' (modified)' if prov['git']['dirty'] else ''}"
            if prov.get("git")
            else ""
        )
        + ".",
        f"Trained on: {', '.join(summary.get('devices') or ['cpu'])}."
        f" Energy: {summary['energy_method']}.",
        "",
        "Time per epoch splits into quantum simulation (inside the backend), data encoding"
        " (inside quantum layers but outside the backend: inputs bound to gate angles, tasks"
        " built), communication (executors' wall time minus their workers' compute), classical"
        " compute and data movement. Gradient variance at initialisation is over random"
        " weights of the model's circuit (local cost; the config's noise, if any, without"
        " mitigation); the model-init columns are the"
        " variance of the training loss's gradient over fresh initialisations of the whole"
        " model (noise and mitigation included), per parameter group; during training it is"
        " the variance of each quantum parameter's gradient across the steps of an epoch"
        " (frozen or pruned entries left out).",
        "",
    ]
    for axis, s in summary["axes"].items():
        held = ", ".join(f"{a} = {v}" for a, v in s.get("other_axes_at", {}).items())
        lines += [f"## Axis: {axis}", ""] + ([f"Other axes at {held}.", ""] if held else [])
        lines += [*_axis_table(axis, s), "", *_thresholds(s), ""]
    if summary.get("unsplit_remote"):
        lines += [
            "**Communication not measured** at "
            + ", ".join(summary["unsplit_remote"][:5])
            + ": the remote service gave no job times, so the calls' time on the wire is"
            " counted in quantum simulation (a service of this hqml version reports them).",
            "",
        ]
    if summary["failed"]:
        lines += ["## Failed points", "", *[f"- {k}" for k in summary["failed"]], ""]
    lines += ["## Plots", "", *[f"![{p}]({p})" for p in plots], ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


__all__ = ["write_markdown"]
