"""From point records to per-axis curves (means and spreads over seeds) and thresholds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...trainability import fit_decay
from .config import ScaleConfig
from .point import SPLIT
from .thresholds import accuracy_plateau, time_departure, variance_collapse


def _mean_sd(values: list[float]) -> tuple[float, float]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return float("nan"), float("nan")
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def _others(cfg: ScaleConfig, axis: str) -> dict[str, Any]:
    """Where the line of ``axis`` holds the other axes: at their base value (grid mode: at the
    base value when swept over it, else at their first value)."""
    others = {}
    for a, values in cfg.settings.axes.items():
        if a != axis:
            base = cfg.base_value(a)
            others[a] = base if base in values or cfg.settings.mode != "grid" else values[0]
    return others


def _along(cfg: ScaleConfig, axis: str, records: list[dict[str, Any]]) -> dict[Any, list]:
    """Records on the line of ``axis`` (the other axes as :func:`_others` holds them)."""
    others = _others(cfg, axis)
    line: dict[Any, list] = {v: [] for v in cfg.settings.axes[axis]}
    for r in records:
        p = r["point"]
        if r.get("status") == "ok" and all(p[a] == v for a, v in others.items()):
            line[p[axis]].append(r)
    return line


def _curve(line: dict[Any, list], get: Any) -> dict[str, list]:
    means, sds = [], []
    for recs in line.values():
        m, s = _mean_sd([get(r) for r in recs])
        means.append(m)
        sds.append(s)
    return {"mean": means, "sd": sds}


def _mib(record: dict[str, Any], key: str) -> float:
    value = record["hybrid"]["memory"].get(key)
    return float("nan") if value is None else value / 2**20


def axis_summary(cfg: ScaleConfig, axis: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    line = _along(cfg, axis, records)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in line)
    if numeric:  # thresholds and fits read the axis in increasing order, whatever the config's
        line = dict(sorted(line.items()))
    x = list(line)
    have_base = any("baseline" in r for recs in line.values() for r in recs)
    out: dict[str, Any] = {
        "values": x,
        "other_axes_at": _others(cfg, axis),
        "seeds_per_value": [len(v) for v in line.values()],
        "hybrid_test_acc": _curve(line, lambda r: r["hybrid"]["test_acc"]),
        "hybrid_epoch_s": _curve(line, lambda r: r["hybrid"]["epoch_seconds"]),
        "split": {
            k: _curve(line, lambda r, k=k: r["hybrid"]["time_split"][k])["mean"] for k in SPLIT
        },
        "peak_rss_mb": _curve(line, lambda r: r["hybrid"]["memory"]["peak_rss_bytes"] / 2**20),
        **{  # NaN where not measured (no worker processes, no GPU)
            f"peak_{k}_mb": _curve(line, lambda r, k=k: _mib(r, f"peak_{k}_bytes"))
            for k in ("worker_rss", "gpu")
        },
        "energy_j": _curve(line, lambda r: r["hybrid"]["energy_j_per_epoch"]),
        "grad_variance_init": _curve(
            line, lambda r: (r["grad_variance_init"] or {}).get("mean", float("nan"))
        ),
        "grad_variance_init_groups": {
            g: _curve(
                line,
                lambda r, g=g: (r.get("grad_variance_init_groups") or {}).get(g, float("nan")),
            )
            for g in ("quantum", "classical")
        },
        "grad_variance_last_epoch": _curve(
            line,
            lambda r: (r["hybrid"]["grad_variance_training"][-1] or {}).get(
                "quantum", float("nan")
            ),
        ),
        "circuit": [recs[0]["circuit"] if recs else None for recs in line.values()],
        "parameters": [recs[0]["hybrid"]["parameters"] if recs else None for recs in line.values()],
        "final_parameters": _curve(line, lambda r: r["hybrid"].get("final_parameters")),
        "gate_evaluations": _curve(
            line,
            lambda r: r["hybrid"].get("training_log", {}).get("cost", {}).get("gate_evaluations"),
        ),
    }
    if have_base:
        out["baseline_test_acc"] = _curve(line, lambda r: r.get("baseline", {}).get("test_acc"))
        out["baseline_epoch_s"] = _curve(line, lambda r: r.get("baseline", {}).get("epoch_seconds"))
        out["baseline_energy_j"] = _curve(
            line, lambda r: r.get("baseline", {}).get("energy_j_per_epoch")
        )
    ok = [i for i, n in enumerate(out["seeds_per_value"]) if n]
    if numeric and len(ok) >= 2:
        xs = [x[i] for i in ok]
        s = cfg.settings
        out["thresholds"] = {
            "accuracy_plateau": accuracy_plateau(
                xs, [out["hybrid_test_acc"]["mean"][i] for i in ok], s.plateau_tolerance
            ),
            "time_departure": time_departure(
                xs,
                [out["hybrid_epoch_s"]["mean"][i] for i in ok],
                s.trend_degree,
                s.trend_tolerance,
            ),
            "variance_collapse": variance_collapse(
                xs, [out["grad_variance_init"]["mean"][i] for i in ok], s.variance_fraction
            ),
        }
        var = [out["grad_variance_init"]["mean"][i] for i in ok]
        if all(v > 0 for v in var) and len(set(xs)) >= 2:
            out["grad_variance_fit"] = _fit(
                xs,
                var,
                [out["grad_variance_init"]["sd"][i] for i in ok],
                [out["seeds_per_value"][i] for i in ok],
            )
    return out


def _fit(xs: list, var: list[float], sd: list[float], seeds: list[int]) -> dict[str, Any]:
    """The decay fit of the variance at initialisation along the axis; weighted by the seeds'
    standard errors when every value has two or more seeds, else by the residual scatter.
    Two values and one seed each leave no error estimate (``rate_stderr`` None, not 0)."""
    spread = all(n >= 2 for n in seeds) and all(s > 0 for s in sd)
    err = [s / n**0.5 for s, n in zip(sd, seeds, strict=True)] if spread else None
    fit = fit_decay(xs, var, err)
    no_error = err is None and len(set(xs)) < 3
    return {
        "rate": fit.rate,
        "rate_stderr": None if no_error else fit.rate_stderr,
        "intercept": fit.intercept,
        "weights": "seeds' standard errors" if spread else "equal (residual scatter)",
    }


__all__ = ["axis_summary"]
