"""Training schedules as trainer callbacks, on 4x4 digits at small size: layer-wise growth and
adaptive depth reach full training's accuracy with fewer circuit evaluations or parameters;
pruning freezes what it prunes; the run config's [schedule] table."""

from __future__ import annotations

import pytest
import torch

from hqml.experiment import build_hybrid, parse_config
from hqml.experiment.callbacks import TrainContext
from hqml.experiment.config import ConfigError
from hqml.experiment.models import build_circuit
from hqml.experiment.runner import load_data
from hqml.experiment.schedules import (
    AdaptiveDepth,
    CircuitCost,
    GradientPruning,
    LayerwiseGrowth,
    quantum_layer_of,
    schedule_callbacks,
)
from hqml.experiment.train import make_optimizer, train
from hqml.nn import count_parameters

CFG = {
    "seed": 0,
    "data": {"name": "digits", "size": 4, "n_classes": 4, "max_train": 240},
    "model": {"pattern": "dressed", "n_qubits": 4, "layers": 4},
    "training": {"epochs": 10, "batch_size": 24, "learning_rate": 0.05},
}


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    cfg = parse_config(CFG)
    return cfg, load_data(cfg)


def _build(cfg):
    return lambda layers: build_circuit(cfg.model.model_copy(update={"layers": layers}))


def _train(cfg, ds, callbacks, x=None, y=None):
    model = build_hybrid(cfg.model, ds.n_features, ds.n_classes, ds.x_train, 0)
    ctx = TrainContext(model, make_optimizer(cfg.training))
    x = ds.x_train if x is None else x
    y = ds.y_train if y is None else y
    hist = train(
        model,
        x,
        y,
        ds.x_test,
        ds.y_test,
        cfg.training,
        0,
        callbacks=[CircuitCost(), *callbacks],
        context=ctx,
    )
    return model, hist, ctx


def test_layerwise_and_adaptive_reach_full_accuracy_more_cheaply(setup):
    cfg, ds = setup
    full_model, full, full_ctx = _train(cfg, ds, [])
    gates_full = build_circuit(cfg.model).num_gates
    # full training's circuit cost, counted independently: every epoch, every row, all gates
    assert full_ctx.log["cost"]["gate_evaluations"] == 10 * len(ds.x_train) * gates_full
    full_params = count_parameters(full_model)
    full_cost = full_ctx.log["cost"]["gate_evaluations"]
    # "reaches full training's accuracy": within two binomial standard errors of the test split
    p = full.test_acc[-1]
    tol = 2 * (p * (1 - p) / len(ds.y_test)) ** 0.5

    lw_model, lw, lw_ctx = _train(cfg, ds, [LayerwiseGrowth(_build(cfg), 4, start=1, every=2)])
    assert lw_ctx.log["layerwise"]["depth_per_epoch"] == [1, 1, 2, 2, 3, 3, 4, 4, 4, 4]
    assert lw.test_acc[-1] >= full.test_acc[-1] - tol
    assert lw_ctx.log["cost"]["gate_evaluations"] < 0.8 * full_cost

    n_val = len(ds.x_train) // 5
    adaptive = AdaptiveDepth(
        _build(cfg), (ds.x_train[:n_val], ds.y_train[:n_val]), max_layers=6, start=1
    )
    ad_model, ad, ad_ctx = _train(cfg, ds, [adaptive], ds.x_train[n_val:], ds.y_train[n_val:])
    assert ad.test_acc[-1] >= full.test_acc[-1] - tol
    assert count_parameters(ad_model) <= full_params
    assert ad_ctx.log["cost"]["gate_evaluations"] < 0.6 * full_cost
    assert ad_ctx.log["adaptive"]["events"][0].endswith("grew to 2 layers")


def test_freezing_keeps_the_trained_layers(setup):
    cfg, ds = setup
    short = cfg.model_copy(update={"training": cfg.training.model_copy(update={"epochs": 3})})
    grow = LayerwiseGrowth(_build(cfg), 3, start=1, every=1, freeze_previous=True)
    seen = {}

    model = build_hybrid(cfg.model, ds.n_features, ds.n_classes, ds.x_train, 0)

    class After(CircuitCost):
        def on_epoch_end(self, ctx, epoch, metrics):
            w = quantum_layer_of(ctx.model).w.detach().clone()
            seen[epoch] = w

    ctx = TrainContext(model, make_optimizer(short.training))
    train(
        model,
        ds.x_train,
        ds.y_train,
        ds.x_test,
        ds.y_test,
        short.training,
        0,
        callbacks=[grow, After()],
        context=ctx,
    )
    # after epoch 0 the circuit grew to 2 layers with layer 0 copied and then frozen
    assert seen[0].shape[0] == 2 and seen[1].shape[0] == 3
    assert torch.equal(seen[1][0], seen[0][0]) and torch.equal(seen[2][:2], seen[1][:2])
    assert not torch.equal(seen[2][2], seen[1][2])  # the newest layer trains


def test_pruning_freezes_quiet_parameters_and_reports_counts(setup):
    cfg, ds = setup
    snapshots = {}

    class Snap(CircuitCost):
        def on_epoch_end(self, ctx, epoch, metrics):
            snapshots[epoch] = quantum_layer_of(ctx.model).w.detach().clone()

    prune = GradientPruning(threshold=1e-3, patience=2)
    model, hist, ctx = _train(cfg, ds, [prune, Snap()])
    log = ctx.log["pruning"]
    assert log["pruned"] > 0
    assert log["parameters_after"] == count_parameters(model) - log["pruned"]
    mask = prune.masks["w"] == 0
    last = max(snapshots)
    first = log["pruned_per_epoch"].index(log["pruned"])  # epoch the last ones were pruned
    assert torch.equal(snapshots[last][mask], snapshots[first][mask])


def test_schedule_from_the_run_config(setup):
    cfg, ds = setup
    lw = parse_config({**CFG, "schedule": {"kind": "layerwise", "every": 2}})
    cbs, x, _ = schedule_callbacks(lw, ds.x_train, ds.y_train)
    assert isinstance(cbs[0], LayerwiseGrowth) and cbs[0].final == 4 and len(x) == 240
    ad = parse_config({**CFG, "schedule": {"kind": "adaptive", "validation_fraction": 0.25}})
    cbs, x, _ = schedule_callbacks(ad, ds.x_train, ds.y_train)
    assert isinstance(cbs[0], AdaptiveDepth) and len(x) == 180 and len(cbs[0].x_val) == 60
    bad = parse_config({**CFG, "schedule": {"kind": "layerwise", "start_layers": 9}})
    with pytest.raises(ConfigError, match="schedule.start_layers"):
        schedule_callbacks(bad, ds.x_train, ds.y_train)
