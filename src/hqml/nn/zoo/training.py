"""The training rule of the qml-benchmarks study (Bowles, Ahmed & Schuld 2024, section on
training): Adam on mini-batches of 32 drawn with replacement, one loss value per step, and a stop
once the loss curve is flat: after more than ``2 k`` steps (``k = convergence_interval``, 200),
when the mean of the last ``k`` losses is within half a standard error (their standard deviation
over ``sqrt(k)``, halved) of the mean of the ``k`` before.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning


@dataclass
class TrainingResult:
    """What a run of :func:`train_until_flat` did."""

    loss_history: np.ndarray
    converged: bool
    steps: int


def loss_is_flat(history: list[float], interval: int) -> bool:
    """The study's convergence test on a list of per-step losses."""
    if len(history) <= 2 * interval + 1:  # the study tests from step index 2k + 1 on
        return False
    last = np.asarray(history[-interval:])
    previous = np.asarray(history[-2 * interval : -interval])
    return bool(abs(previous.mean() - last.mean()) <= last.std() / math.sqrt(interval) / 2)


def train_until_flat(
    loss_fn: Callable[[Mapping[str, torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor],
    params: Mapping[str, torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    learning_rate: float,
    batch_size: int = 32,
    max_steps: int = 10000,
    convergence_interval: int | None = 200,
    generator: torch.Generator,
    name: str = "model",
) -> TrainingResult:
    """Minimise ``loss_fn(params, X_batch, y_batch)`` with Adam, in place on ``params``.

    Each step draws ``batch_size`` rows with replacement (seeded by ``generator``). Training
    stops at ``max_steps`` or on a flat loss (``convergence_interval=None`` turns the test off).
    Not converging by ``max_steps`` warns (:class:`ConvergenceWarning`). A NaN or infinite loss
    raises :class:`FloatingPointError` before the step is taken (the study aborted and raised
    too, so its grid search scored the setting as failed; continuing would leave NaN weights
    whose predictions are all one class).
    """
    opt = torch.optim.Adam(list(params.values()), lr=learning_rate)
    history: list[float] = []
    converged = False
    n = X.shape[0]
    for _ in range(max_steps):
        idx = torch.randint(0, n, (batch_size,), generator=generator)
        opt.zero_grad()
        loss = loss_fn(params, X[idx], y[idx])
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(
                f"{name}: the training loss became {value} at step {len(history)}; lower"
                " learning_rate or scaling"
            )
        loss.backward()
        opt.step()
        history.append(value)
        if convergence_interval is not None and loss_is_flat(history, convergence_interval):
            converged = True
            break
    if not converged and convergence_interval is not None:
        warnings.warn(
            f"{name} did not converge in max_steps={max_steps} steps; raise max_steps",
            ConvergenceWarning,
            stacklevel=3,
        )
    return TrainingResult(np.asarray(history), converged, len(history))


__all__ = ["train_until_flat", "loss_is_flat", "TrainingResult"]
