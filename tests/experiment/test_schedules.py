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
    schedule_training,
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


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])  # adamw: weight decay 0.01
def test_freezing_keeps_the_trained_layers(setup, optimizer):
    cfg, ds = setup
    training = cfg.training.model_copy(update={"epochs": 3, "optimizer": optimizer})
    short = cfg.model_copy(update={"training": training})
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


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])  # adamw: weight decay 0.01
def test_pruning_freezes_quiet_parameters_and_reports_counts(setup, optimizer):
    cfg, ds = setup
    training = cfg.training.model_copy(update={"optimizer": optimizer})
    cfg = cfg.model_copy(update={"training": training})
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


def test_growth_keeps_the_trained_rows_and_their_optimizer_state(setup):
    cfg, ds = setup
    model = build_hybrid(cfg.model, ds.n_features, ds.n_classes, ds.x_train, 0)
    grow = LayerwiseGrowth(_build(cfg), 3, start=2, every=1)
    ctx = TrainContext(model, make_optimizer(cfg.training))
    ctx.rebuild_optimizer()
    grow.on_train_begin(ctx)
    for _ in range(3):  # a few Adam steps at depth 2
        ctx.optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(ds.x_train[:24]), ds.y_train[:24]).backward()
        ctx.optimizer.step()
    layer = quantum_layer_of(model)
    w_old = layer.w.detach().clone()
    state = {k: v.clone() for k, v in ctx.optimizer.state[layer.w].items()}
    grow.grow(ctx)
    w_new = layer.w
    assert w_new.shape[0] == 3 and torch.equal(w_new[:2].detach(), w_old)
    assert w_new.detach()[2].abs().max() < 0.1  # the new layer starts at small angles
    new_state = ctx.optimizer.state[w_new]
    assert torch.equal(new_state["step"], state["step"])
    assert torch.equal(new_state["exp_avg"][:2], state["exp_avg"])
    assert torch.equal(new_state["exp_avg"][2], torch.zeros_like(state["exp_avg"][0]))
    assert torch.equal(new_state["exp_avg_sq"][:2], state["exp_avg_sq"])
    expected = torch.full_like(new_state["exp_avg_sq"][2], float(state["exp_avg_sq"].mean()))
    assert torch.allclose(new_state["exp_avg_sq"][2], expected)
    # the classical layers keep their state too (same parameter objects)
    assert all(p in ctx.optimizer.state for p in model.post.parameters())


def test_adaptive_judges_each_depth_on_its_own_and_returns_the_validation_rows(setup):
    cfg, ds = setup
    n_val = len(ds.x_train) // 5
    adaptive = AdaptiveDepth(
        _build(cfg), (ds.x_train[:n_val], ds.y_train[:n_val]), max_layers=4, start=1
    )
    rows = []

    class Rows(CircuitCost):
        def on_epoch_begin(self, ctx, epoch):
            rows.append(0)

        def after_backward(self, ctx):
            rows[-1] += ctx.batch_size

    _, hist, ctx = _train(cfg, ds, [adaptive, Rows()], ds.x_train[n_val:], ds.y_train[n_val:])
    log = ctx.log["adaptive"]
    depth = log["depth_per_epoch"]
    grew = [e for e in range(1, len(depth)) if depth[e] > depth[e - 1]]
    assert grew and all(b - a >= 2 for a, b in zip(grew[:-1], grew[1:], strict=True))  # no cascade
    assert all(depth[e] - depth[e - 1] <= 1 for e in range(1, len(depth)))
    final = [e for e in log["events"] if "validation rows join training" in e]
    assert len(final) == 1
    joined = int(final[0].split(":")[0].removeprefix("epoch "))
    n_fit = len(ds.x_train) - n_val
    assert rows[: joined + 1] == [n_fit] * (joined + 1)
    assert rows[joined + 1 :] == [len(ds.x_train)] * (len(rows) - joined - 1)
    assert len(rows) == 10 and len(ctx.x_train) == len(ds.x_train)


def test_adaptive_epochs_apply_to_the_adaptive_schedule_only():
    ad = parse_config({**CFG, "schedule": {"kind": "adaptive", "adaptive_epochs": 14}})
    assert schedule_training(ad).epochs == 14 and ad.training.epochs == 10
    lw = parse_config({**CFG, "schedule": {"kind": "layerwise", "adaptive_epochs": 14}})
    assert schedule_training(lw).epochs == 10


def test_hqml_run_reports_the_schedule(tmp_path):
    import json

    from typer.testing import CliRunner

    from hqml.cli.main import app

    out = tmp_path / "runs"
    config = tmp_path / "grow.toml"
    config.write_text(
        f"""
name = "grow"
output_dir = "{out.as_posix()}"
[data]
name = "linearly_separable"
n_samples = 24
n_features = 2
[model]
n_qubits = 2
layers = 3
[training]
epochs = 3
batch_size = 12
baseline = false
[schedule]
kind = "layerwise"
every = 1
[tracking]
mlflow = false
"""
    )
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    log = json.loads((out / "grow" / "results.json").read_text())["models"]["hybrid"]
    rec = log["training_log"]["layerwise"]
    assert rec["depth_per_epoch"] == [1, 2, 3]
    report = (out / "grow" / "report.md").read_text()
    assert "## Training schedule" in report
    assert f"parameters {rec['parameters_full_before']} at full depth" in report
    assert "depth per epoch [1, 2, 3]" in report
