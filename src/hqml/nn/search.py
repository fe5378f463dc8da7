"""Architecture search for quantum classifiers by regularized (aging) evolution.

The search space is per layer: the axes of the two rotations on every wire (``"x"``, ``"y"``,
``"z"``), the entangler (:data:`ENTANGLERS`) and whether the features are re-uploaded before
the layer (the first layer always encodes them, ``RY(x_i)`` on wire ``i``). Every candidate
with ``L`` layers on ``n`` wires has ``2 n L`` circuit parameters, the size of the fixed
hardware-efficient ansatz (:func:`fixed_ansatz`: RY-RZ, CNOT chain, encode once), so the two
compare at equal parameter count.

The search is Real et al.'s regularized evolution (AAAI 2019): a population of random
architectures, each trained briefly on part of the training data and scored on the rest (one
validation split, or k-fold cross-validation; validation accuracy or log-likelihood); each
cycle draws a tournament, mutates one gene of its best member, trains the child, adds it and
drops the *oldest* member. Architectures already trained are looked up, not retrained; the
search cost reported is the number of trainings, the circuit evaluations (forward passes over
the batch) and the wall time. The search space lives in :mod:`hqml.nn.architecture`, the
training and the choice of a retraining length in :mod:`hqml.nn.selection`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .architecture import (
    AXES,
    ENTANGLERS,
    Architecture,
    LayerGene,
    QuantumClassifierNet,
    fixed_ansatz,
    mutate,
    random_architecture,
)
from .selection import (
    accuracy,
    best_index,
    check_criterion,
    mean_validation_curve,
    seed_accuracies,
    train_classifier,
    validation_splits,
)

__all__ = [
    "AXES",
    "ENTANGLERS",
    "Architecture",
    "LayerGene",
    "QuantumClassifierNet",
    "SearchResult",
    "accuracy",
    "evolutionary_search",
    "fixed_ansatz",
    "mutate",
    "random_architecture",
    "seed_accuracies",
    "train_classifier",
]


@dataclass
class SearchResult:
    """Outcome of :func:`evolutionary_search`.

    Attributes:
        best: the architecture with the highest fitness (the earliest scored among equals).
        best_fitness: its fitness (validation accuracy or log-likelihood, as asked).
        history: ``(architecture, fitness)`` for every candidate scored, in order.
        n_candidates: distinct architectures scored.
        n_trainings: trainings run (``folds * fitness_seeds`` per candidate, ``max(epochs)``
            steps each).
        n_circuit_evaluations: forward passes of a candidate circuit over a batch.
        seconds: wall time of the search.
    """

    best: Architecture
    best_fitness: float
    history: list[tuple[Architecture, float]] = field(default_factory=list)
    n_candidates: int = 0
    n_trainings: int = 0
    n_circuit_evaluations: int = 0
    seconds: float = 0.0


def _check_search(
    n_qubits: int,
    n_layers: int,
    population: int,
    cycles: int,
    tournament: int,
    fitness_seeds: int,
    start: tuple[Architecture, ...],
) -> None:
    if fitness_seeds < 1:
        raise ValueError(f"fitness_seeds must be at least 1, got {fitness_seeds}")
    if population < 2 or tournament < 1 or tournament > population or cycles < 0:
        raise ValueError("need population >= 2, 1 <= tournament <= population, cycles >= 0")
    if len(start) > population or any(
        not isinstance(a, Architecture) or a.n_qubits != n_qubits or len(a.layers) != n_layers
        for a in start
    ):
        raise ValueError(
            f"start must hold at most population={population} architectures of"
            f" {n_qubits} qubits and n_layers={n_layers} layers"
        )


def _evolve(
    score: Callable[[Architecture], float],
    start: tuple[Architecture, ...],
    population: int,
    cycles: int,
    tournament: int,
    n_qubits: int,
    n_layers: int,
    rng: np.random.Generator,
) -> None:
    """Regularized evolution (Real et al. 2019): each cycle the best of a random tournament is
    mutated, its child joins and the oldest member leaves; ``score`` sees every candidate."""
    pop: deque[Architecture] = deque()
    for i in range(population):
        arch = start[i] if i < len(start) else random_architecture(n_qubits, n_layers, rng)
        score(arch)
        pop.append(arch)
    for _ in range(cycles):
        picks = rng.choice(len(pop), size=tournament, replace=False)
        parent = max((pop[int(i)] for i in picks), key=score)
        child = mutate(parent, rng)
        score(child)
        pop.append(child)
        pop.popleft()  # the oldest goes, not the worst


def evolutionary_search(
    x_train: np.ndarray,
    y_train: np.ndarray,
    n_layers: int = 2,
    population: int = 8,
    cycles: int = 16,
    tournament: int = 3,
    epochs: int | tuple[int, ...] = 30,
    lr: float = 0.05,
    val_fraction: float = 0.3,
    fitness_seeds: int = 2,
    seed: int = 0,
    start: tuple[Architecture, ...] = (),
    fitness: str = "accuracy",
    folds: int = 1,
) -> SearchResult:
    """Regularized evolution over :class:`Architecture` s; only the training data is used.

    Args:
        x_train, y_train: features ``(rows, n_qubits)`` and integer labels; split here into a
            search part and a validation part (stratified, ``val_fraction``), or into
            ``folds`` cross-validation folds.
        n_layers: layers of every candidate.
        population, cycles, tournament: the evolution's sizes (``population + cycles``
            candidates at most are trained).
        epochs, lr: the short training of each candidate; a tuple of lengths scores the
            validation split after each of them (one training to the longest) and the
            candidate's fitness is the one at its best length, as the retraining will pick it
            (:func:`~hqml.nn.selection.choose_epochs`).
        fitness_seeds: initialisations per candidate; the fitness is averaged over them
            (one lucky initialisation does not win the search).
        fitness: ``"accuracy"`` (mean validation accuracy) or ``"log_likelihood"`` (mean
            validation log-likelihood per row, minus the cross-entropy: it does not saturate
            when every candidate classifies the validation rows perfectly).
        folds: ``1``: one validation split; ``k >= 2``: the fitness is averaged over stratified
            k-fold cross-validation of the training data (every row validates once; less noise
            and less luck of one split than a single split, at ``k`` times the cost).
        seed: seeds the split, the architectures, the mutations and the initialisations.
        start: architectures placed first in the initial population (e.g. the
            :func:`fixed_ansatz` baseline, so the search returns something else only when it
            validates better); random ones fill the rest.
    """
    check_criterion(fitness)
    marks = tuple(sorted({int(e) for e in np.atleast_1d(epochs)}))
    if not marks or marks[0] < 1:
        raise ValueError(f"epochs must be positive, got {epochs!r}")
    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    _check_search(x_train.shape[1], n_layers, population, cycles, tournament, fitness_seeds, start)
    splits = validation_splits(y_train, folds, val_fraction, seed)
    init_seeds = tuple(seed + k for k in range(fitness_seeds))
    n_qubits = x_train.shape[1]
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    cache: dict[Architecture, float] = {}
    history: list[tuple[Architecture, float]] = []

    def score(arch: Architecture) -> float:
        if arch not in cache:
            acc, loss = mean_validation_curve(arch, x_train, y_train, splits, marks, init_seeds, lr)
            i = best_index(acc, loss, marks, fitness)
            cache[arch] = float(acc[i] if fitness == "accuracy" else -loss[i])
            history.append((arch, cache[arch]))
        return cache[arch]

    _evolve(score, start, population, cycles, tournament, n_qubits, n_layers, rng)
    best = max(cache, key=lambda a: (cache[a], -list(cache).index(a)))
    return SearchResult(
        best,
        cache[best],
        history,
        len(history),
        len(history) * len(splits) * fitness_seeds,
        len(history) * len(splits) * fitness_seeds * (marks[-1] + len(marks)),
        time.perf_counter() - t0,
    )
