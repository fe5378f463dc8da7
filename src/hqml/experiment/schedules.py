"""Training schedules as trainer callbacks: layer-wise growth, adaptive depth, pruning.

- :class:`LayerwiseGrowth` (Skolik et al. 2021): start with a shallow circuit and add a layer
  every few epochs up to the full depth, the trained layers kept (warm start) and, optionally,
  frozen while the new ones train.
- :class:`AdaptiveDepth`: add a layer when the validation loss stops improving, as long as the
  gradients say the circuit is still trainable (their variance above a fraction of the first
  epoch's); stop when the variance collapses or the depth reaches its cap.
- :class:`GradientPruning`: freeze the circuit parameters whose mean absolute gradient stayed
  below a threshold for some epochs (their gates then act as fixed gates).

Each reports in ``ctx.log[name]``: the depth per epoch, the parameter count before and after,
and the circuit cost of training (``gate_evaluations``: samples x gates of the circuit at that
moment, summed over the steps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..circuit.circuit import Circuit
from ..nn.layer import QuantumLayer, count_parameters
from .callbacks import Callback, TrainContext
from .config import ConfigError, RunConfig, TrainingConfig
from .growth import grow_to, set_depth
from .models import build_circuit

CircuitBuilder = Callable[[int], Circuit]


def quantum_layer_of(model: nn.Module) -> QuantumLayer:
    layers = [m for m in model.modules() if isinstance(m, QuantumLayer)]
    if len(layers) != 1:
        raise ValueError(
            f"a depth schedule needs a model with one quantum layer, found {len(layers)}"
        )
    return layers[0]


class _DepthSchedule(Callback):
    name = "schedule"

    def __init__(self, build: CircuitBuilder, start: int, seed: int = 0):
        self.build, self.depth, self.seed = build, start, seed
        self.record: dict[str, Any] = {"depth_per_epoch": [], "gate_evaluations": 0}

    def on_train_begin(self, ctx: TrainContext) -> None:
        layer = quantum_layer_of(ctx.model)
        self.record["parameters_full_before"] = count_parameters(ctx.model)
        set_depth(layer, self.build(self.depth), self.seed)
        ctx.rebuild_optimizer()
        ctx.log[self.name] = self.record

    def after_backward(self, ctx: TrainContext) -> None:
        layer = quantum_layer_of(ctx.model)
        self.record["gate_evaluations"] += ctx.batch_size * layer.circuit.num_gates

    def grow(self, ctx: TrainContext, freeze: bool = False) -> None:
        old = self.depth
        self.depth += 1
        layer = quantum_layer_of(ctx.model)
        grow_to(ctx, layer, self.build(self.depth), self.seed + self.depth, old * freeze)

    def _end_epoch(self, ctx: TrainContext) -> None:
        self.record["depth_per_epoch"].append(self.depth)
        self.record["parameters_after"] = count_parameters(ctx.model)
        self.record["depth"] = self.depth


class LayerwiseGrowth(_DepthSchedule):
    """Grow from ``start`` layers to ``final``, one layer every ``every`` epochs.

    Args:
        build: ``layers -> circuit`` (the model's circuit at that depth).
        freeze_previous: train only the newest layer after each growth.
    """

    name = "layerwise"

    def __init__(
        self,
        build: CircuitBuilder,
        final: int,
        start: int = 1,
        every: int = 1,
        freeze_previous: bool = False,
        seed: int = 0,
    ):
        if not 1 <= start <= final or every < 1:
            raise ValueError(
                f"LayerwiseGrowth needs 1 <= start <= final and every >= 1, got"
                f" start={start}, final={final}, every={every}"
            )
        super().__init__(build, start, seed)
        self.final, self.every, self.freeze = final, every, freeze_previous

    def on_epoch_end(self, ctx: TrainContext, epoch: int, metrics: dict[str, float]) -> None:
        self._end_epoch(ctx)
        if self.depth < self.final and (epoch + 1) % self.every == 0:
            self.grow(ctx, self.freeze)


def _quantum_grad(model: nn.Module) -> torch.Tensor:
    layer = quantum_layer_of(model)
    return torch.cat(
        [
            (
                getattr(layer, n).grad
                if getattr(layer, n).grad is not None
                else torch.zeros_like(getattr(layer, n))
            )
            .detach()
            .flatten()
            .double()
            for n in layer.circuit.weights
        ]
    )


class AdaptiveDepth(_DepthSchedule):
    """Grow the circuit from gradient and validation feedback.

    After each epoch the validation loss is measured. A layer is added when the loss has not
    improved by a fraction ``min_improvement`` of the current depth's best for ``patience``
    epochs, while the quantum gradients' variance (across the epoch's steps, averaged over
    parameters) stays above ``variance_fraction`` of its first epoch's value. A new depth is
    judged against its own losses (the first epoch after a growth sets its baseline), so the
    dip a new layer causes is not read as a stall. Training stops when the variance has
    collapsed and the loss has stalled. No layer is added in the last ``settle_epochs`` epochs.

    Once the depth is final (the cap reached, or the last ``settle_epochs`` epochs begin) the
    validation rows have served their purpose: with ``return_validation`` they join the
    training rows for the remaining epochs, so the schedule ends up fitting the same data as
    full training (held out to the end, they cost the example about 0.02 of test accuracy).

    Args:
        build: ``layers -> circuit``.
        validation: ``(x, y)`` held out from the training data (never the test split).
        return_validation: add the validation rows to training once the depth is final.
    """

    name = "adaptive"

    def __init__(
        self,
        build: CircuitBuilder,
        validation: tuple[torch.Tensor, torch.Tensor],
        max_layers: int,
        start: int = 1,
        patience: int = 1,
        min_improvement: float = 0.03,
        variance_fraction: float = 0.05,
        seed: int = 0,
        settle_epochs: int = 2,
        return_validation: bool = True,
    ):
        super().__init__(build, start, seed)
        self.settle, self.return_validation = settle_epochs, return_validation
        self.x_val, self.y_val = validation
        self.max_layers, self.patience = max_layers, patience
        self.min_improvement, self.fraction = min_improvement, variance_fraction
        self.best, self.stalled = float("inf"), 0
        self.first_var: float | None = None
        self.final = False  # the depth can no longer change
        self._g: list[torch.Tensor] = []
        self.record["events"] = []

    def on_epoch_begin(self, ctx: TrainContext, epoch: int) -> None:
        self._g = []

    def after_backward(self, ctx: TrainContext) -> None:
        super().after_backward(ctx)
        self._g.append(_quantum_grad(ctx.model))

    @torch.no_grad()
    def _val_loss(self, model: nn.Module) -> float:
        model.eval()
        loss = nn.functional.cross_entropy(model(self.x_val), self.y_val).item()
        model.train()
        return loss

    def on_epoch_end(self, ctx: TrainContext, epoch: int, metrics: dict[str, float]) -> None:
        self._end_epoch(ctx)
        if not self.final:
            self._decide(ctx, epoch, self._val_loss(ctx.model))
        late = epoch + 1 >= ctx.epochs - 1 - self.settle  # no growth from the next epoch on
        if not self.final and not ctx.stop and (late or self.depth >= self.max_layers):
            self.final = True
            if self.return_validation and ctx.x_train is not None and ctx.y_train is not None:
                ctx.x_train = torch.cat([ctx.x_train, self.x_val])
                ctx.y_train = torch.cat([ctx.y_train, self.y_val])
                self.record["events"].append(
                    f"epoch {epoch}: depth final; {len(self.y_val)} validation rows join training"
                )

    def _decide(self, ctx: TrainContext, epoch: int, loss: float) -> None:
        var = float(torch.stack(self._g).var(0).mean()) if len(self._g) > 1 else float("nan")
        if self.first_var is None:
            self.first_var = var
        if loss < self.best * (1 - self.min_improvement):
            self.best, self.stalled = loss, 0
            return
        self.stalled += 1
        if self.stalled < self.patience or epoch >= ctx.epochs - 1 - self.settle:
            return  # not stalled long enough, or too late: keep training the depth reached
        if not (var == var and var > self.fraction * (self.first_var or 0.0)):
            self.record["events"].append(f"epoch {epoch}: stopped (gradient variance collapsed)")
            ctx.stop = True
        elif self.depth < self.max_layers:
            self.grow(ctx)
            # the new depth's own loss (next epoch) is the baseline its growth is judged against
            self.best, self.stalled = float("inf"), 0
            self.record["events"].append(f"epoch {epoch}: grew to {self.depth} layers")


class GradientPruning(Callback):
    """Freeze circuit parameters whose mean |gradient| over an epoch stayed below
    ``threshold`` for ``patience`` consecutive epochs (from epoch ``start_epoch`` on)."""

    name = "pruning"

    def __init__(self, threshold: float = 1e-4, patience: int = 2, start_epoch: int = 1):
        self.threshold, self.patience, self.start = threshold, patience, start_epoch
        self.record: dict[str, Any] = {"pruned_per_epoch": []}

    def on_train_begin(self, ctx: TrainContext) -> None:
        layer = quantum_layer_of(ctx.model)
        self.names = list(layer.circuit.weights)
        self.quiet = {n: torch.zeros_like(getattr(layer, n), dtype=torch.long) for n in self.names}
        self.masks = {n: torch.ones_like(getattr(layer, n)) for n in self.names}
        for n in self.names:
            getattr(layer, n).register_hook(lambda g, n=n: g * self.masks[n])
        self.record["parameters_before"] = count_parameters(ctx.model)
        ctx.log[self.name] = self.record

    def on_epoch_begin(self, ctx: TrainContext, epoch: int) -> None:
        layer = quantum_layer_of(ctx.model)
        self.sums = {n: torch.zeros_like(getattr(layer, n)) for n in self.names}
        self.steps = 0

    def after_backward(self, ctx: TrainContext) -> None:
        layer = quantum_layer_of(ctx.model)
        for n in self.names:
            g = getattr(layer, n).grad
            if g is not None:
                self.sums[n] += g.detach().abs()
        self.steps += 1

    def on_epoch_end(self, ctx: TrainContext, epoch: int, metrics: dict[str, float]) -> None:
        pruned = 0
        for n in self.names:
            quiet = (self.sums[n] / max(1, self.steps)) < self.threshold
            self.quiet[n] = torch.where(quiet, self.quiet[n] + 1, 0)
            if epoch >= self.start:
                self.masks[n][self.quiet[n] >= self.patience] = 0
            pruned += int((self.masks[n] == 0).sum())
            # zero gradient and optimiser state, and held by the trainer (weight decay)
            param = getattr(quantum_layer_of(ctx.model), n)
            state = ctx.optimizer.state.get(param, {}) if ctx.optimizer else {}
            for value in state.values():
                if isinstance(value, torch.Tensor) and value.shape == param.shape:
                    value[self.masks[n] == 0] = 0
            if bool((self.masks[n] == 0).any()):
                ctx.freeze(param, self.masks[n] == 0)
        self.record["pruned_per_epoch"].append(pruned)
        self.record["pruned"] = pruned
        self.record["parameters_after"] = self.record["parameters_before"] - pruned


class CircuitCost(Callback):
    """Counts ``gate_evaluations`` (rows x gates of the quantum layer's circuit, per training
    step) and the parameter count at the end, in ``ctx.log["cost"]``."""

    def on_train_begin(self, ctx: TrainContext) -> None:
        self.record: dict[str, Any] = {"gate_evaluations": 0}
        ctx.log["cost"] = self.record

    def after_backward(self, ctx: TrainContext) -> None:
        layers = [m for m in ctx.model.modules() if isinstance(m, QuantumLayer)]
        self.record["gate_evaluations"] += ctx.batch_size * sum(m.circuit.num_gates for m in layers)

    def on_epoch_end(self, ctx: TrainContext, epoch: int, metrics: dict[str, float]) -> None:
        self.record["parameters"] = count_parameters(ctx.model)


def schedule_training(cfg: RunConfig) -> TrainingConfig:
    """The hybrid model's training settings under the config's schedule: with the adaptive
    schedule, ``schedule.adaptive_epochs`` (when set) replaces ``training.epochs``; the baseline
    keeps ``training.epochs``."""
    if cfg.schedule.kind == "adaptive" and cfg.schedule.adaptive_epochs is not None:
        return cfg.training.model_copy(update={"epochs": cfg.schedule.adaptive_epochs})
    return cfg.training


def schedule_callbacks(
    cfg: RunConfig, x_train: torch.Tensor, y_train: torch.Tensor
) -> tuple[list[Callback], torch.Tensor, torch.Tensor]:
    """The callbacks of the config's ``[schedule]`` and the training rows left to fit on (the
    adaptive schedule holds out ``validation_fraction`` of them, seeded by ``cfg.seed``)."""
    s = cfg.schedule
    if s.kind == "none":
        return [], x_train, y_train
    if cfg.model.pattern not in ("dressed", "head"):
        raise ConfigError(f"schedule.kind {s.kind!r} needs model.pattern 'dressed' or 'head'")
    if s.kind == "pruning":
        return [GradientPruning(s.prune_threshold, s.prune_patience)], x_train, y_train

    def build(layers: int) -> Circuit:
        return build_circuit(cfg.model.model_copy(update={"layers": layers}))

    if s.kind == "layerwise":
        if s.start_layers > cfg.model.layers:
            raise ConfigError(
                f"schedule.start_layers ({s.start_layers}) exceeds model.layers"
                f" ({cfg.model.layers})"
            )
        return (
            [
                LayerwiseGrowth(
                    build, cfg.model.layers, s.start_layers, s.every, s.freeze_previous, cfg.seed
                )
            ],
            x_train,
            y_train,
        )
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(cfg.seed))
    n_val = max(1, int(round(len(x_train) * s.validation_fraction)))
    val, fit = order[:n_val], order[n_val:]
    cap = s.max_layers or cfg.model.layers
    return (
        [
            AdaptiveDepth(
                build,
                (x_train[val], y_train[val]),
                cap,
                s.start_layers,
                s.patience,
                s.min_improvement,
                s.variance_fraction,
                cfg.seed,
                s.settle_epochs,
            )
        ],
        x_train[fit],
        y_train[fit],
    )


__all__ = [
    "CircuitCost",
    "schedule_callbacks",
    "schedule_training",
    "LayerwiseGrowth",
    "AdaptiveDepth",
    "GradientPruning",
    "set_depth",
    "quantum_layer_of",
]
