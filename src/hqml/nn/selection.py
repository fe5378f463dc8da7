"""Training a classifier full-batch, and choosing its training length on a validation split.

:func:`choose_epochs` takes training rows only: it carves a stratified validation split (or
stratified k folds) from them, trains each seed's model once up to the longest length of a
grid, scores the validation rows after every grid length, and picks a length by a stated rule
(:data:`CRITERIA`). The model is then retrained from scratch on the whole training set for
that many epochs (:func:`seed_accuracies`), and only that final model meets the test split.
The same rule serves a searched circuit, the fixed ansatz and a classical baseline alike: every
function here takes an :class:`~hqml.nn.architecture.Architecture` or any
``(seed, n_classes) -> nn.Module`` factory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .architecture import Architecture, QuantumClassifierNet


def as_model_factory(model) -> Callable[[int, int], nn.Module]:
    """``model`` as ``(seed, n_classes) -> nn.Module``: an :class:`Architecture` becomes its
    :class:`QuantumClassifierNet`; a callable is returned as it is (e.g. a classical baseline)."""
    if isinstance(model, Architecture):
        return lambda seed, n_classes: QuantumClassifierNet(model, n_classes, seed)
    if callable(model):
        return model
    raise ValueError(
        f"model must be an Architecture or a callable (seed, n_classes) -> nn.Module,"
        f" got {type(model).__name__}"
    )


def _tensors(model, x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    if isinstance(model, Architecture) and (x.ndim != 2 or x.shape[1] != model.n_qubits):
        raise ValueError(
            f"the features have shape {tuple(x.shape)}; the architecture needs"
            f" (rows, {model.n_qubits}): reduce the features to n_qubits first (e.g. PCA)"
        )
    return x, y


def full_batch_adam(
    module: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    lr: float,
    after_epoch: Callable[[int, nn.Module], None] | None = None,
) -> nn.Module:
    """``epochs`` full-batch Adam steps on cross-entropy; ``after_epoch(e, module)`` after step
    ``e`` (1-based), e.g. to score a validation split along the way."""
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    for e in range(1, epochs + 1):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(module(x), y)
        loss.backward()
        opt.step()
        if after_epoch is not None:
            after_epoch(e, module)
    return module


def train_classifier(
    arch,
    x_train: np.ndarray,
    y_train: np.ndarray,
    epochs: int = 40,
    lr: float = 0.05,
    seed: int = 0,
) -> nn.Module:
    """Full-batch Adam on cross-entropy from a seeded initialisation.

    ``arch`` is an :class:`Architecture` or a ``(seed, n_classes) -> nn.Module`` factory."""
    x, y = _tensors(arch, x_train, y_train)
    model = as_model_factory(arch)(seed, int(y.max()) + 1)
    return full_batch_adam(model, x, y, epochs, lr)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        pred = model(torch.as_tensor(np.asarray(x), dtype=torch.float32)).argmax(1).numpy()
    return float(np.mean(pred == np.asarray(y)))


def seed_accuracies(
    arch,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
    epochs: int = 60,
    lr: float = 0.05,
) -> list[float]:
    """Retrain ``arch`` (an :class:`Architecture` or a model factory) from scratch once per seed
    on the whole training set for ``epochs`` steps; the accuracies on ``x_test, y_test``."""
    return [
        accuracy(train_classifier(arch, x_train, y_train, epochs, lr, s), x_test, y_test)
        for s in seeds
    ]


DEFAULT_EPOCH_GRID = (25, 50, 100, 200, 300, 400, 600)
CRITERIA = {
    "accuracy": "highest validation accuracy averaged over the seeds; ties: lowest mean"
    " validation cross-entropy, then fewer epochs",
    "log_likelihood": "highest validation log-likelihood (lowest cross-entropy) averaged over"
    " the seeds; ties: fewer epochs",
}


@dataclass(frozen=True)
class EpochChoice:
    """Outcome of :func:`choose_epochs`.

    Attributes:
        epochs: the chosen training length.
        grid: the lengths compared.
        val_accuracy: validation accuracy at each grid length, averaged over the seeds.
        val_loss: validation cross-entropy at each grid length, averaged over the seeds.
        fit_rows, val_rows: the sizes of the two parts of the training data (of the first
            fold when ``folds > 1``).
        criterion: the key of :data:`CRITERIA` that picked ``epochs``.
        folds: 1 (one validation split) or the number of cross-validation folds.
    """

    epochs: int
    grid: tuple[int, ...]
    val_accuracy: tuple[float, ...]
    val_loss: tuple[float, ...]
    fit_rows: int
    val_rows: int
    criterion: str = "accuracy"
    folds: int = 1

    @property
    def rule(self) -> str:
        """How ``epochs`` was picked, in words."""
        return CRITERIA[self.criterion]


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
            accs.append(float((logits.argmax(1) == yv).double().mean()))
            losses.append(float(nn.functional.cross_entropy(logits, yv)))

    full_batch_adam(as_model_factory(model)(seed, n_classes), x, y, max(grid), lr, score)
    return accs, losses


def validation_splits(
    y: np.ndarray, folds: int = 1, val_fraction: float = 0.3, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(fit rows, validation rows)`` index pairs carved from training labels ``y``: one
    stratified split holding out ``val_fraction`` (``folds=1``), or stratified ``folds``-fold
    cross-validation, where every training row validates exactly once."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    y = np.asarray(y)
    if folds == 1:
        fit, val = train_test_split(
            np.arange(len(y)), test_size=val_fraction, random_state=seed, stratify=y
        )
        return [(fit, val)]
    if folds < 1:
        raise ValueError(f"folds must be 1 (one split) or at least 2, got {folds}")
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y))


def mean_validation_curve(
    model,
    x: np.ndarray,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    grid: tuple[int, ...],
    seeds: tuple[int, ...],
    lr: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`validation_curve` averaged over every split and seed: accuracy and
    cross-entropy at each grid length."""
    n_classes = int(np.max(y)) + 1
    curves = [
        validation_curve(model, x[f], y[f], x[v], y[v], grid, n_classes, lr, s)
        for f, v in splits
        for s in seeds
    ]
    return np.mean([c[0] for c in curves], axis=0), np.mean([c[1] for c in curves], axis=0)


def check_criterion(criterion: str) -> None:
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {tuple(CRITERIA)}, got {criterion!r}")


def best_index(acc, loss, grid: tuple[int, ...], criterion: str) -> int:
    """Index of the grid point that ``criterion`` (a key of :data:`CRITERIA`) picks from
    seed-averaged validation accuracies ``acc`` and cross-entropies ``loss``."""
    if criterion == "accuracy":
        # rounded: equal accuracies averaged in a different order must still tie
        return min(range(len(grid)), key=lambda i: (-round(acc[i], 9), loss[i], grid[i]))
    return min(range(len(grid)), key=lambda i: (loss[i], grid[i]))


def choose_epochs(
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    grid: tuple[int, ...] = DEFAULT_EPOCH_GRID,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
    lr: float = 0.05,
    val_fraction: float = 0.3,
    split_seed: int = 0,
    criterion: str = "accuracy",
    folds: int = 1,
) -> EpochChoice:
    """Pick a training length for ``model`` on a validation split of the training data.

    Args:
        model: an :class:`~hqml.nn.architecture.Architecture` or a
            ``(seed, n_classes) -> nn.Module`` factory.
        x_train, y_train: training rows only (the test split must not be passed here).
        grid: the training lengths (full-batch Adam epochs) to compare.
        seeds: the initialisations averaged over (one training each, to ``max(grid)``).
        lr: Adam's learning rate.
        val_fraction, split_seed: the stratified validation split carved from the training data.
        folds: ``1`` for that one split; ``k >= 2`` for stratified k-fold cross-validation
            over the training data instead (``k * len(seeds)`` trainings).
        criterion: ``"accuracy"`` or ``"log_likelihood"`` (:data:`CRITERIA`).

    Returns:
        The :class:`EpochChoice`; retrain on all of ``x_train`` for ``choice.epochs`` epochs.
    """
    check_criterion(criterion)
    grid = tuple(sorted({int(g) for g in grid}))
    if not grid or grid[0] < 1 or not seeds:
        raise ValueError(f"need a non-empty grid of positive epochs and seeds, got {grid}")
    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    splits = validation_splits(y_train, folds, val_fraction, split_seed)
    acc, loss = mean_validation_curve(model, x_train, y_train, splits, grid, tuple(seeds), lr)
    return EpochChoice(
        grid[best_index(acc, loss, grid, criterion)],
        grid,
        tuple(float(a) for a in acc),
        tuple(float(v) for v in loss),
        len(splits[0][0]),
        len(splits[0][1]),
        criterion,
        folds,
    )
