"""The training loop of ``hqml run``: mini-batches, per-epoch metrics and time split."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .callbacks import Callback, TrainContext
from .config import TrainingConfig
from .device import model_device, synchronize
from .timing import QuantumTimer

_OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


@dataclass
class History:
    """Per-epoch curves and the time split of each epoch (seconds)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    quantum_s: list[float] = field(default_factory=list)
    classical_s: list[float] = field(default_factory=list)
    data_s: list[float] = field(default_factory=list)
    epoch_s: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.__dict__.items()}


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        out = model(x[i : i + batch_size])
        loss += nn.functional.cross_entropy(out, y[i : i + batch_size], reduction="sum").item()
        correct += (out.argmax(1) == y[i : i + batch_size]).sum().item()
    model.train()
    return loss / len(x), correct / len(x)


def _steps(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    order: torch.Tensor,
    cfg: TrainingConfig,
    ctx: TrainContext,
    timer: QuantumTimer,
    callbacks: Sequence[Callback],
    on_batch: Callable[[], Any] | None,
) -> tuple[float, float, int, int]:
    """One epoch's optimisation steps: (data seconds, summed loss, correct, rows)."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    data_s, total, correct, n = 0.0, 0.0, 0, 0
    for i in range(0, len(x), cfg.batch_size):
        td = time.perf_counter()
        idx = order[i : i + cfg.batch_size]
        xb, yb = x[idx].to(device), y[idx].to(device)
        data_s += time.perf_counter() - td
        opt = ctx.optimizer
        assert opt is not None
        opt.zero_grad(set_to_none=True)
        out = model(xb)
        loss = nn.functional.cross_entropy(out, yb)
        loss.backward()
        timer.close_backward()
        ctx.batch_size = len(yb)
        for cb in callbacks:
            cb.after_backward(ctx)
        opt.step()
        ctx.restore_frozen()
        ctx.steps += 1
        ctx.samples_seen += len(yb)
        total += loss.item() * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
        n += len(yb)
        if on_batch:
            on_batch()
    return data_s, total, correct, n


def make_optimizer(cfg: TrainingConfig) -> Callable[[list], torch.optim.Optimizer]:
    """``params -> optimiser`` of the config's kind and learning rate."""
    return lambda params: _OPTIMIZERS[cfg.optimizer](params, lr=cfg.learning_rate)


def train(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    cfg: TrainingConfig,
    seed: int,
    on_epoch: Callable[[int, dict[str, float]], Any] | None = None,
    on_batch: Callable[[], Any] | None = None,
    callbacks: Sequence[Callback] = (),
    context: TrainContext | None = None,
) -> History:
    """Train with cross-entropy; evaluate on the test split after every epoch.

    The batch order comes from a generator seeded with ``seed``. Each epoch's wall time is split
    into quantum simulation (inside quantum layers, forward and backward), data movement
    (shuffling, slicing and moving the batches) and classical compute (everything else).
    ``callbacks`` (:class:`~hqml.experiment.callbacks.Callback`) run around the steps and may
    stop training or change the model; ``context`` (else a fresh one) holds their state.
    """
    ctx = context or TrainContext(model, make_optimizer(cfg))
    ctx.epochs = cfg.epochs
    ctx.x_train, ctx.y_train = x_train, y_train
    ctx.rebuild_optimizer()
    for cb in callbacks:
        cb.on_train_begin(ctx)
    gen = torch.Generator().manual_seed(seed)
    timer = QuantumTimer(model)
    hist = History()
    try:
        for epoch in range(cfg.epochs):
            for cb in callbacks:
                cb.on_epoch_begin(ctx, epoch)
            t0 = time.perf_counter()
            td = time.perf_counter()
            x_fit, y_fit = ctx.x_train, ctx.y_train  # a callback may have changed them
            order = torch.randperm(len(x_fit), generator=gen)
            data_s = time.perf_counter() - td
            more_data_s, total, correct, n = _steps(
                model, x_fit, y_fit, order, cfg, ctx, timer, callbacks, on_batch
            )
            data_s += more_data_s
            synchronize(model_device(model))  # a GPU's queued work belongs to this epoch
            epoch_s = time.perf_counter() - t0
            quantum_s = timer.pop()
            for cb in callbacks:
                cb.before_evaluate(ctx, epoch)
            test_loss, test_acc = evaluate(model, x_test, y_test)
            timer.pop()  # evaluation is not part of the training epoch's split
            hist.train_loss.append(total / n)
            hist.train_acc.append(correct / n)
            hist.test_loss.append(test_loss)
            hist.test_acc.append(test_acc)
            hist.quantum_s.append(quantum_s)
            hist.data_s.append(data_s)
            hist.classical_s.append(max(0.0, epoch_s - quantum_s - data_s))
            hist.epoch_s.append(epoch_s)
            metrics = {
                "train_loss": total / n,
                "train_acc": correct / n,
                "test_loss": test_loss,
                "test_acc": test_acc,
                "quantum_s": quantum_s,
                "epoch_s": epoch_s,
            }
            if on_epoch:
                on_epoch(epoch, metrics)
            for cb in callbacks:
                cb.on_epoch_end(ctx, epoch, metrics)
            if ctx.stop:
                break
    finally:
        timer.remove()
    return hist
