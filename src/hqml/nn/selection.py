"""The training length of a classifier, chosen on a validation split of the training data.

:func:`choose_epochs` takes training rows only: it carves a stratified validation split from
them, trains each seed's model once up to the longest length of a grid, scores the validation
split after every grid length, and picks the length with the highest validation accuracy
averaged over the seeds (ties: the lowest mean validation cross-entropy, then the shorter). The
model is then retrained from scratch on the whole training set for that many epochs
(:func:`~hqml.nn.search.seed_accuracies`), and only that final model meets the test split.
The same rule serves a searched circuit, the fixed ansatz and a classical baseline alike (any
``(seed, n_classes) -> nn.Module`` factory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .search import _tensors, as_model_factory, full_batch_adam

DEFAULT_EPOCH_GRID = (25, 50, 100, 200, 300, 400, 600)
RULE = (
    "highest validation accuracy averaged over the seeds; ties: lowest mean validation"
    " cross-entropy, then fewer epochs"
)


@dataclass(frozen=True)
class EpochChoice:
    """Outcome of :func:`choose_epochs`.

    Attributes:
        epochs: the chosen training length.
        grid: the lengths compared.
        val_accuracy: validation accuracy at each grid length, averaged over the seeds.
        val_loss: validation cross-entropy at each grid length, averaged over the seeds.
        fit_rows, val_rows: the sizes of the two parts of the training data.
        rule: how ``epochs`` was picked, in words.
    """

    epochs: int
    grid: tuple[int, ...]
    val_accuracy: tuple[float, ...]
    val_loss: tuple[float, ...]
    fit_rows: int
    val_rows: int
    rule: str = RULE


def validation_curve(
    model,
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    grid: tuple[int, ...],
    n_classes: int,
    lr: float = 0.05,
    seed: int = 0,
) -> tuple[list[float], list[float]]:
    """Validation accuracy and cross-entropy after each length in ``grid`` of one training."""
    x, y = _tensors(model, x_fit, y_fit)
    xv, yv = _tensors(model, x_val, y_val)
    marks = set(grid)
    accs: list[float] = []
    losses: list[float] = []

    def score(epoch: int, module: nn.Module) -> None:
        if epoch in marks:
            with torch.no_grad():
                logits = module(xv)
            accs.append(float((logits.argmax(1) == yv).float().mean()))
            losses.append(float(nn.functional.cross_entropy(logits, yv)))

    full_batch_adam(as_model_factory(model)(seed, n_classes), x, y, max(grid), lr, score)
    return accs, losses


def choose_epochs(
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    grid: tuple[int, ...] = DEFAULT_EPOCH_GRID,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
    lr: float = 0.05,
    val_fraction: float = 0.3,
    split_seed: int = 0,
) -> EpochChoice:
    """Pick a training length for ``model`` on a validation split of the training data.

    Args:
        model: an :class:`~hqml.nn.search.Architecture` or a ``(seed, n_classes) -> nn.Module``
            factory.
        x_train, y_train: training rows only (the test split must not be passed here).
        grid: the training lengths (full-batch Adam epochs) to compare.
        seeds: the initialisations averaged over (one training each, to ``max(grid)``).
        lr: Adam's learning rate.
        val_fraction, split_seed: the stratified validation split carved from the training data.

    Returns:
        The :class:`EpochChoice`; retrain on all of ``x_train`` for ``choice.epochs`` epochs.
    """
    from sklearn.model_selection import train_test_split

    grid = tuple(sorted({int(g) for g in grid}))
    if not grid or grid[0] < 1 or not seeds:
        raise ValueError(f"need a non-empty grid of positive epochs and seeds, got {grid}")
    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    x_f, x_v, y_f, y_v = train_test_split(
        x_train, y_train, test_size=val_fraction, random_state=split_seed, stratify=y_train
    )
    n_classes = int(y_train.max()) + 1
    curves = [validation_curve(model, x_f, y_f, x_v, y_v, grid, n_classes, lr, s) for s in seeds]
    acc = np.mean([c[0] for c in curves], axis=0)
    loss = np.mean([c[1] for c in curves], axis=0)
    # rounded: equal accuracies averaged in a different order must still tie
    best = min(range(len(grid)), key=lambda i: (-round(acc[i], 9), loss[i], grid[i]))
    return EpochChoice(
        grid[best],
        grid,
        tuple(float(a) for a in acc),
        tuple(float(v) for v in loss),
        len(x_f),
        len(x_v),
    )
