"""Changing the depth of a trained quantum layer: warm-started weights and the optimiser's
state carried over.

Used by the depth schedules of :mod:`hqml.experiment.schedules`:

- a grown weight keeps its trained rows, and the optimiser keeps their state (Adam's moments
  and step count) instead of restarting every row with a fresh optimiser's first steps; new
  rows start with zero momentum and the trained rows' mean second moment, so their first
  steps are of the usual size;
- new layers start at small angles. For the hardware-efficient ansatz a new layer at zero
  angles is still not the identity (its CX chain stays), so a growth costs a dip in accuracy
  that the next epochs recover. Moving the new chain into the readout (each ``Z_i`` conjugated
  into a Z-parity, which makes growth exactly function-preserving) was tried on the example
  of ``hqml scale`` and trained worse (0.808 against 0.824 test accuracy for layer-wise growth,
  8 seeds): the readouts become many-qubit parities, whose gradients are small.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..circuit.circuit import Circuit
from ..nn.layer import QuantumLayer
from ..trainability import warm_start
from .callbacks import TrainContext

_SECOND_MOMENTS = frozenset({"exp_avg_sq", "max_exp_avg_sq", "square_avg"})


def set_depth(layer: QuantumLayer, circuit: Circuit, seed: int, freeze_rows: int = 0) -> None:
    """Give ``layer`` ``circuit``; weights warm-started from the old ones (their leading layers
    copied, new layers at small angles; a circuit shallower than the weights starts from small
    angles throughout); the first ``freeze_rows`` layers frozen."""
    old = {name: getattr(layer, name).detach() for name in layer.circuit.weights}
    device = layer._probe.device  # the layer's (a model trained on a GPU grows there)
    for name in old:
        delattr(layer, name)
    layer.circuit = circuit
    for name, arr in circuit.weights.items():
        shape = tuple(arr.shape)
        fits = name in old and old[name].shape[1:] == shape[1:] and old[name].shape[0] <= shape[0]
        trained = old[name].cpu() if fits else torch.zeros((0, *shape[1:]))
        value = warm_start(trained, shape, seed=seed)
        param = nn.Parameter(value.to(device=device, dtype=torch.get_default_dtype()))
        if freeze_rows:
            mask = torch.ones_like(param)
            mask[:freeze_rows] = 0
            param.register_hook(lambda g, m=mask: g * m)
        setattr(layer, name, param)


def grow_to(
    ctx: TrainContext, layer: QuantumLayer, circuit: Circuit, seed: int, freeze_rows: int = 0
) -> None:
    """Deepen ``layer`` to ``circuit`` (:func:`set_depth`) and rebuild the optimiser, the grown
    weights' trained rows keeping their optimiser state (:func:`carry_optimizer_state`)."""
    opt = ctx.optimizer
    before = {}
    for name in layer.circuit.weights:
        param = getattr(layer, name)
        before[name] = (param, opt.state.get(param) if opt is not None else None)
    set_depth(layer, circuit, seed, freeze_rows)
    ctx.rebuild_optimizer()
    carry_optimizer_state(ctx.optimizer, before, layer, freeze_rows)
    if freeze_rows:  # held by the trainer too: a zero gradient does not stop weight decay
        for name in circuit.weights:
            param = getattr(layer, name)
            mask = torch.zeros_like(param, dtype=torch.bool)
            mask[:freeze_rows] = True
            ctx.freeze(param, mask)


def carry_optimizer_state(
    optimizer: torch.optim.Optimizer | None,
    before: dict[str, tuple[nn.Parameter, dict[str, Any] | None]],
    layer: QuantumLayer,
    freeze_rows: int = 0,
) -> None:
    """After a growth, the optimiser state of each grown weight's leading rows is the state its
    trained rows had (Adam's moments and step count), the new rows' moments zero: the trained
    layers keep their step sizes instead of restarting with a fresh optimiser's full-size
    first steps, which would throw them off what they learned. The first ``freeze_rows`` rows
    lose their momentum (a frozen row must not keep moving on it)."""
    if optimizer is None:
        return
    for name, (old, state) in before.items():
        new = getattr(layer, name, None)
        if not state or new is None or new is old or new.shape[1:] != old.shape[1:]:
            continue
        grown = {}
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.shape == old.shape and value.dim():
                # second moments (Adam, RMSprop): the trained rows' mean, so the new rows'
                # first steps are of the usual size (zero would blow them up ~1/sqrt(1-beta2))
                fill = value.mean() if key in _SECOND_MOMENTS else 0.0
                pad = torch.full(new.shape, float(fill), dtype=value.dtype, device=value.device)
                pad[: old.shape[0]] = value
                if key not in _SECOND_MOMENTS:
                    pad[:freeze_rows] = 0
                grown[key] = pad
            else:
                grown[key] = value.clone() if isinstance(value, torch.Tensor) else value
        optimizer.state[new] = grown


__all__ = ["set_depth", "grow_to", "carry_optimizer_state"]
