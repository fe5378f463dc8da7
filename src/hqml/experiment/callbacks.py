"""Trainer callbacks: what :func:`hqml.experiment.train.train` calls around its steps.

A callback overrides any of :meth:`Callback.on_train_begin`, :meth:`Callback.on_epoch_begin`,
:meth:`Callback.after_backward` (gradients are in ``.grad``, before the optimiser step),
:meth:`Callback.before_evaluate` and :meth:`Callback.on_epoch_end`. It
sees a :class:`TrainContext`: the model, the optimiser, the step and circuit-evaluation
counters, and ``stop`` (set it to end training after this epoch). A callback that changes the
model's parameters (a schedule growing the circuit) calls :meth:`TrainContext.rebuild_optimizer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class TrainContext:
    model: nn.Module
    make_optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer]
    optimizer: torch.optim.Optimizer | None = None
    steps: int = 0
    samples_seen: int = 0  # forward evaluations of one sample (circuit runs for a hybrid model)
    batch_size: int = 0  # rows of the current step's batch
    epochs: int = 0  # the epochs training is configured for
    stop: bool = False
    log: dict[str, Any] = field(default_factory=dict)  # what callbacks report (results.json)
    # the rows training fits (set by train(); a callback may replace them between epochs)
    x_train: torch.Tensor | None = None
    y_train: torch.Tensor | None = None
    # frozen entries: id(param) -> (param, mask (True = frozen), their values); restored after
    # every optimiser step, since a zero gradient alone does not stop weight decay (AdamW)
    frozen: dict[int, tuple[nn.Parameter, torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def freeze(self, param: nn.Parameter, mask: torch.Tensor) -> None:
        """Hold ``param``'s entries where ``mask`` is true at their present values (replaces
        an earlier mask of the same parameter)."""
        mask = mask.to(torch.bool)
        self.frozen[id(param)] = (param, mask.clone(), param.detach().clone())

    def frozen_mask(self, param: nn.Parameter) -> torch.Tensor | None:
        entry = self.frozen.get(id(param))
        return entry[1] if entry is not None and entry[0] is param else None

    @torch.no_grad()
    def restore_frozen(self) -> None:
        """Put every frozen entry back to its value (the trainer calls it after each step)."""
        for param, mask, value in self.frozen.values():
            param[mask] = value[mask]

    def rebuild_optimizer(self) -> None:
        """A new optimiser over the model's trainable parameters (after the model changed); the
        parameters it had before keep their optimiser state (moments, step counts)."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        live = {id(p) for p in params}
        self.frozen = {k: v for k, v in self.frozen.items() if k in live}  # replaced ones go
        old = self.optimizer
        self.optimizer = self.make_optimizer(params)
        if old is not None:
            for p in params:
                if p in old.state:
                    self.optimizer.state[p] = old.state[p]


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, ctx: TrainContext) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, ctx: TrainContext, epoch: int) -> None:
        """Before an epoch's first step."""

    def after_backward(self, ctx: TrainContext) -> None:
        """After ``loss.backward()``, before the optimiser step (gradients in ``.grad``)."""

    def before_evaluate(self, ctx: TrainContext, epoch: int) -> None:
        """After an epoch's last step, before its evaluation on the test split."""

    def on_epoch_end(self, ctx: TrainContext, epoch: int, metrics: dict[str, float]) -> None:
        """After an epoch's evaluation; ``metrics`` holds train/test loss and accuracy."""


__all__ = ["Callback", "TrainContext"]
