"""Architecture search for quantum classifiers by regularized (aging) evolution.

The search space is per layer: the axes of the two rotations on every wire (``"x"``, ``"y"``,
``"z"``), the entangler (:data:`ENTANGLERS`) and whether the features are re-uploaded before
the layer (the first layer always encodes them, ``RY(x_i)`` on wire ``i``). Every candidate
with ``L`` layers on ``n`` wires has ``2 n L`` circuit parameters, the size of the fixed
hardware-efficient ansatz (:func:`fixed_ansatz`: RY-RZ, CNOT chain, encode once), so the two
compare at equal parameter count.

The search is Real et al.'s regularized evolution (AAAI 2019): a population of random
architectures, each trained briefly on a search split of the training data and scored on a
validation split; each cycle draws a tournament, mutates one gene of its best member, trains
the child, adds it and drops the *oldest* member. Architectures already trained are looked up,
not retrained; the search cost reported is the number of trainings, the circuit evaluations
(forward passes over the batch) and the wall time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from ..circuit.circuit import Circuit
from ..circuit.observables import Z
from .layer import QuantumLayer

AXES = ("x", "y", "z")
ENTANGLERS = ("none", "cnot_chain", "cnot_ring", "cz_ring", "cz_all")


@dataclass(frozen=True)
class LayerGene:
    """One layer: rotation axes ``(first, second)``, the entangler, and re-uploading."""

    axes: tuple[str, str] = ("y", "z")
    entangler: str = "cnot_chain"
    reupload: bool = False

    def __post_init__(self) -> None:
        if len(self.axes) != 2 or any(a not in AXES for a in self.axes):
            raise ValueError(f"axes must be two of {AXES}, got {self.axes!r}")
        if self.entangler not in ENTANGLERS:
            raise ValueError(f"entangler must be one of {ENTANGLERS}, got {self.entangler!r}")


@dataclass(frozen=True)
class Architecture:
    """A classifier circuit: ``n_qubits`` features encoded as ``RY``, then the layers."""

    n_qubits: int
    layers: tuple[LayerGene, ...]

    def __post_init__(self) -> None:
        if self.n_qubits < 2 or not self.layers:
            raise ValueError("an architecture needs at least 2 qubits and 1 layer")

    @property
    def num_parameters(self) -> int:
        return 2 * self.n_qubits * len(self.layers)

    def describe(self) -> str:
        """``"yz:cnot_chain; xy:cz_ring+reupload"`` (layers in order)."""
        return "; ".join(
            f"{''.join(g.axes)}:{g.entangler}" + ("+reupload" if g.reupload else "")
            for g in self.layers
        )

    def circuit(self) -> Circuit:
        """The circuit with input ``"x"`` ``(n,)`` and weight ``"w"`` ``(L, n, 2)``."""
        n = self.n_qubits
        c = Circuit(n)
        x, w = c.input("x", n), c.weight("w", (len(self.layers), n, 2))
        for layer, gene in enumerate(self.layers):
            if layer == 0 or gene.reupload:
                for q in range(n):
                    c.ry(x[q], q)
            for q in range(n):
                for k, axis in enumerate(gene.axes):
                    c.append("r" + axis, [q], [w[layer, q, k]])
            _entangle(c, gene.entangler)
        return c


def _entangle(c: Circuit, kind: str) -> None:
    n = c.n_qubits
    chain = [(q, q + 1) for q in range(n - 1)]
    ring = chain + ([(n - 1, 0)] if n > 2 else [])
    if kind == "cnot_chain":
        for a, b in chain:
            c.cnot(a, b)
    elif kind == "cnot_ring":
        for a, b in ring:
            c.cnot(a, b)
    elif kind == "cz_ring":
        for a, b in ring:
            c.cz(a, b)
    elif kind == "cz_all":
        for a in range(n):
            for b in range(a + 1, n):
                c.cz(a, b)


def fixed_ansatz(n_qubits: int, n_layers: int) -> Architecture:
    """The hardware-efficient baseline: RY-RZ rotations and a CNOT chain, features encoded once
    (the same circuit as ``angle_encoding(n)`` + ``hardware_efficient(n, L)``)."""
    return Architecture(n_qubits, tuple(LayerGene() for _ in range(n_layers)))


def random_architecture(n_qubits: int, n_layers: int, rng: np.random.Generator) -> Architecture:
    genes = []
    for _ in range(n_layers):
        axes = (str(rng.choice(AXES)), str(rng.choice(AXES)))
        genes.append(LayerGene(axes, str(rng.choice(ENTANGLERS)), bool(rng.random() < 0.5)))
    return Architecture(n_qubits, tuple(genes))


def mutate(arch: Architecture, rng: np.random.Generator) -> Architecture:
    """Change exactly one gene of one layer to a different value."""
    layer = int(rng.integers(len(arch.layers)))
    g = arch.layers[layer]
    field_ = ("axis0", "axis1", "entangler", "reupload")[int(rng.integers(4))]
    if field_.startswith("axis"):
        k = int(field_[-1])
        axes = list(g.axes)
        axes[k] = str(rng.choice([a for a in AXES if a != axes[k]]))
        new = replace(g, axes=tuple(axes))
    elif field_ == "entangler":
        new = replace(g, entangler=str(rng.choice([e for e in ENTANGLERS if e != g.entangler])))
    else:
        new = replace(g, reupload=not g.reupload)
    layers = list(arch.layers)
    layers[layer] = new
    return Architecture(arch.n_qubits, tuple(layers))


class QuantumClassifierNet(nn.Module):
    """``<Z_i>`` of the architecture's circuit, then a linear read-out to the class logits."""

    def __init__(self, arch: Architecture, n_classes: int, seed: int):
        super().__init__()
        obs = [Z(q) for q in range(arch.n_qubits)]
        self.quantum = QuantumLayer(arch.circuit(), obs, seed=seed, diff_method="adjoint")
        # skip_init: torch's own init would draw from the global RNG (hidden state)
        self.head = nn.utils.skip_init(nn.Linear, arch.n_qubits, n_classes)
        gen = torch.Generator().manual_seed(seed)
        bound = arch.n_qubits**-0.5  # torch's default range, drawn from our generator
        with torch.no_grad():
            self.head.weight.uniform_(-bound, bound, generator=gen)
            self.head.bias.uniform_(-bound, bound, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.quantum(x))


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


@dataclass
class SearchResult:
    """Outcome of :func:`evolutionary_search`.

    Attributes:
        best: the architecture with the highest validation accuracy.
        best_fitness: its validation accuracy.
        history: ``(architecture, validation accuracy)`` for every training, in order.
        n_candidates: distinct architectures scored.
        n_trainings: trainings run (``fitness_seeds`` per candidate, ``epochs`` steps each).
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


def evolutionary_search(
    x_train: np.ndarray,
    y_train: np.ndarray,
    n_layers: int = 2,
    population: int = 8,
    cycles: int = 16,
    tournament: int = 3,
    epochs: int = 30,
    lr: float = 0.05,
    val_fraction: float = 0.3,
    fitness_seeds: int = 2,
    seed: int = 0,
    start: tuple[Architecture, ...] = (),
) -> SearchResult:
    """Regularized evolution over :class:`Architecture` s; only the training data is used.

    Args:
        x_train, y_train: features ``(rows, n_qubits)`` and integer labels; split here into a
            search part and a validation part (stratified, ``val_fraction``).
        n_layers: layers of every candidate.
        population, cycles, tournament: the evolution's sizes (``population + cycles``
            candidates at most are trained).
        epochs, lr: the short training of each candidate.
        fitness_seeds: initialisations per candidate; the fitness is their mean validation
            accuracy (one lucky initialisation does not win the search).
        seed: seeds the split, the architectures, the mutations and the initialisations.
        start: architectures placed first in the initial population (e.g. the
            :func:`fixed_ansatz` baseline, so the search returns something else only when it
            validates better); random ones fill the rest.
    """
    from sklearn.model_selection import train_test_split

    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    _check_search(x_train.shape[1], n_layers, population, cycles, tournament, fitness_seeds, start)
    x_s, x_v, y_s, y_v = train_test_split(
        x_train, y_train, test_size=val_fraction, random_state=seed, stratify=y_train
    )
    n_qubits = x_train.shape[1]
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    cache: dict[Architecture, float] = {}
    history: list[tuple[Architecture, float]] = []

    def fitness(arch: Architecture) -> float:
        if arch not in cache:
            accs = [
                accuracy(train_classifier(arch, x_s, y_s, epochs, lr, seed + k), x_v, y_v)
                for k in range(fitness_seeds)
            ]
            cache[arch] = float(np.mean(accs))
            history.append((arch, cache[arch]))
        return cache[arch]

    pop: deque[Architecture] = deque()
    for i in range(population):
        arch = start[i] if i < len(start) else random_architecture(n_qubits, n_layers, rng)
        fitness(arch)
        pop.append(arch)
    for _ in range(cycles):
        picks = rng.choice(len(pop), size=tournament, replace=False)
        parent = max((pop[int(i)] for i in picks), key=fitness)
        child = mutate(parent, rng)
        fitness(child)
        pop.append(child)
        pop.popleft()  # the oldest goes, not the worst
    best = max(cache, key=lambda a: (cache[a], -list(cache).index(a)))
    return SearchResult(
        best,
        cache[best],
        history,
        len(history),
        len(history) * fitness_seeds,
        len(history) * fitness_seeds * (epochs + 1),
        time.perf_counter() - t0,
    )


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
