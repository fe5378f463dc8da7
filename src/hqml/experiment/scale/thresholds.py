"""Threshold detection along one axis of a scale study, with the evidence.

- **accuracy plateau**: the first axis value after which no later value improves the mean test
  accuracy by more than ``tolerance``;
- **time departs from trend**: a polynomial of ``degree`` fitted to the first ``degree + 2``
  points of the mean time per epoch; the first later value whose time exceeds the trend's
  prediction by more than ``tolerance`` (relative); values where the trend is at or below
  zero are not judged (listed in the evidence);
- **gradient variance collapse**: the first value whose gradient variance at initialisation is
  below ``fraction`` times the first value's.

Numeric axes only, their values increasing (else ``ValueError``: "first" and "later" would
follow the config's order); each returns ``None`` for the value when nothing was found, and
always the evidence it looked at.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _increasing(x: list[float]) -> None:
    if any(b <= a for a, b in zip(x[:-1], x[1:], strict=False)):
        raise ValueError(f"threshold rules need increasing axis values, got {x}; sort them")


def accuracy_plateau(x: list[float], acc: list[float], tolerance: float) -> dict[str, Any]:
    _increasing(x)
    found = None
    for i in range(len(x) - 1):
        if max(acc[i + 1 :]) - acc[i] <= tolerance:
            found = i
            break
    return {
        "value": x[found] if found is not None else None,
        "tolerance": tolerance,
        "evidence": {"axis": x, "mean_test_accuracy": acc},
        "rule": f"no later value gains more than {tolerance:g} in accuracy",
    }


def time_departure(x: list[float], t: list[float], degree: int, tolerance: float) -> dict[str, Any]:
    _increasing(x)
    k = degree + 2
    out: dict[str, Any] = {
        "value": None,
        "degree": degree,
        "tolerance": tolerance,
        "rule": f"time > (1 + {tolerance:g}) x a degree-{degree} trend fitted"
        f" to the first {k} points",
    }
    if len(x) <= k:
        out["evidence"] = {
            "axis": x,
            "epoch_seconds": t,
            "note": f"needs more than {k} points along the axis",
        }
        return out
    coef = np.polyfit(np.asarray(x[:k], float), np.asarray(t[:k], float), degree)
    pred = np.polyval(coef, np.asarray(x, float))
    unjudged = []  # a trend at or below zero seconds predicts nothing: every time would exceed it
    for i in range(k, len(x)):
        if pred[i] <= 0:
            unjudged.append(x[i])
        elif t[i] > (1 + tolerance) * pred[i]:
            out["value"] = x[i]
            break
    out["evidence"] = {
        "axis": x,
        "epoch_seconds": t,
        "trend": pred.tolist(),
        "coefficients": coef.tolist(),
    }
    if unjudged:
        out["evidence"]["not_judged"] = unjudged
        out["evidence"]["note"] = "the trend predicts no positive time there"
    return out


def variance_collapse(x: list[float], var: list[float], fraction: float) -> dict[str, Any]:
    _increasing(x)
    found = next((x[i] for i in range(1, len(x)) if var[i] < fraction * var[0]), None)
    return {
        "value": found,
        "fraction": fraction,
        "rule": f"gradient variance at init < {fraction:g} x its value at {x[0]}",
        "evidence": {"axis": x, "grad_variance_init": var},
    }


__all__ = ["accuracy_plateau", "time_departure", "variance_collapse"]
