"""The classical baseline of equal size, chosen so that it can learn, and the chance check.

A comparison is fair only if the baseline is a model that can learn at the hybrid model's
parameter count. The one obvious shape, a one-hidden-layer ReLU network, can be left with a
single hidden unit at small budgets (34 parameters on 16 features and 2 classes), which dies and
never moves off chance. So the baseline's shape is chosen by a fixed rule:

1. The candidates are the shapes of :data:`~hqml.experiment.models.BASELINE_SHAPES` (a one-hidden-
   layer MLP with ReLU, the same with tanh, a linear classifier, possibly factorised, and for
   image data a 2x2-patch convolution with a linear read-out), each with exactly the hybrid
   model's number of trainable parameters (shapes that cannot match it exactly drop out).
2. Each is trained with the run's own training settings and seed on 80% of the training split
   and scored on the other 20% (the test split is never looked at).
3. The best validation accuracy wins (ties: the order above); that shape, freshly initialised,
   is trained on the whole training split as the baseline.
4. If it then stays at chance on its own training split (a dead hidden unit, say), it is
   trained again from a fresh initialisation (seed + 1, seed + 2), at most
   :data:`BASELINE_RESTARTS` times; ``baseline_choice["restarts"]`` in results.json counts them.

A model "stayed at chance" when its test accuracy is within one binomial standard error of the
majority-class rate of the test split (what always answering the most frequent class scores);
the report and the results table flag it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .config import TrainingConfig
from .models import BASELINE_SHAPES, build_baseline, count_parameters
from .train import evaluate, train

VALIDATION_FRACTION = 0.2
BASELINE_RESTARTS = 2


def choose_baseline(
    n_features: int,
    n_classes: int,
    budget: int,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    training: TrainingConfig,
    seed: int,
    on_batch: Callable[[], Any] | None = None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The baseline model (untrained) and how it was chosen (``on_batch`` after every training
    step of the candidates, for a progress bar).

    Returns:
        ``(model, info)``: ``info`` holds ``shape``, ``rule`` and ``validation_accuracy`` (per
        candidate shape that matches the budget exactly).
    """
    image = tuple(x_train.shape[1:]) if x_train.dim() == 4 else None
    usable = [s for s in BASELINE_SHAPES if s != "cnn" or image is not None]
    exact = [
        s
        for s in usable
        if count_parameters(build_baseline(n_features, n_classes, budget, seed, s, image)) == budget
    ]
    shapes = exact or usable[:1]
    scores: dict[str, float] = {}
    n = len(x_train)
    n_val = int(round(n * VALIDATION_FRACTION))
    if len(shapes) > 1 and n_val >= 1 and n - n_val >= 1:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        val, fit = order[:n_val], order[n_val:]
        for shape in shapes:
            model = build_baseline(n_features, n_classes, budget, seed, shape, image)
            train(
                model,
                x_train[fit],
                y_train[fit],
                x_train[val],
                y_train[val],
                training,
                seed,
                on_batch=on_batch,
            )
            scores[shape] = evaluate(model, x_train[val], y_train[val])[1]
        best = max(shapes, key=lambda s: (scores[s], -shapes.index(s)))
    else:
        best = shapes[0]
    info = {
        "shape": best,
        "rule": f"best validation accuracy of {', '.join(shapes)} with {budget} parameters"
        f" ({int(100 * VALIDATION_FRACTION)}% of the training split held out)",
        "validation_accuracy": scores,
        "restarts": 0,
    }
    info["image_shape"] = image
    return build_baseline(n_features, n_classes, budget, seed, best, image), info


def chance_level(y: torch.Tensor) -> float:
    """The accuracy of always answering the most frequent class of ``y``."""
    if len(y) == 0:
        return float("nan")
    return float(torch.bincount(y.long()).max()) / len(y)


def at_chance(accuracy: float, chance: float, n: int) -> bool:
    """Whether ``accuracy`` on ``n`` samples is within one standard error of ``chance``."""
    if n <= 0 or not math.isfinite(chance):
        return False
    se = math.sqrt(max(chance * (1 - chance), 1e-12) / n)
    return accuracy <= chance + se


def selection_steps(n_train: int, training: TrainingConfig) -> int:
    """Training steps :func:`choose_baseline` takes at most (for a progress bar's total)."""
    n_fit = n_train - int(round(n_train * VALIDATION_FRACTION))
    return len(BASELINE_SHAPES) * training.epochs * -(-max(n_fit, 0) // training.batch_size)


__all__ = [
    "choose_baseline",
    "chance_level",
    "at_chance",
    "selection_steps",
    "VALIDATION_FRACTION",
    "BASELINE_RESTARTS",
]
