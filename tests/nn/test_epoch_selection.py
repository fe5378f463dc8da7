"""Choosing the retraining length on a validation split of the training data
(hqml.nn.selection): the validation curve against trainings run from scratch here, the pick
against the rule recomputed here, and the architecture-search example's selection blind to its
test split."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split
from torch import nn

from hqml.nn.search import fixed_ansatz, train_classifier
from hqml.nn.selection import choose_epochs, validation_curve

ROOT = Path(__file__).resolve().parents[2]


def linear(seed: int, n_classes: int) -> nn.Module:
    torch.manual_seed(seed)  # test-only factory; the library never touches the global RNG
    return nn.Linear(2, n_classes)


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, np.pi, (n, 2))
    y = (x[:, 0] + 0.3 * rng.normal(size=n) > np.pi / 2).astype(int)
    return x, y


def _score(model, x, y):
    with torch.no_grad():
        logits = model(torch.as_tensor(x, dtype=torch.float32))
    yt = torch.as_tensor(y)
    acc = float((logits.argmax(1) == yt).float().mean())
    return acc, float(nn.functional.cross_entropy(logits, yt))


def test_validation_curve_equals_separate_trainings_of_each_length():
    x, y = _data()
    xf, xv, yf, yv = x[:40], x[40:], y[:40], y[40:]
    for model in (linear, fixed_ansatz(2, 1)):
        accs, losses = validation_curve(model, xf, yf, xv, yv, (3, 8), 2, lr=0.1, seed=1)
        for i, e in enumerate((3, 8)):  # one training to 8 epochs == fresh trainings of 3 and 8
            ref = _score(train_classifier(model, xf, yf, e, lr=0.1, seed=1), xv, yv)
            assert accs[i] == pytest.approx(ref[0]) and losses[i] == pytest.approx(ref[1])


def test_choose_epochs_applies_the_rule_to_the_seed_averaged_curves():
    x, y = _data(80, seed=2)
    grid, seeds = (1, 4, 30), (0, 1)
    choice = choose_epochs(linear, x, y, grid, seeds, lr=0.1, val_fraction=0.25, split_seed=3)
    xf, xv, yf, yv = train_test_split(x, y, test_size=0.25, random_state=3, stratify=y)
    assert (choice.fit_rows, choice.val_rows) == (60, 20)
    curves = np.array(
        [[_score(train_classifier(linear, xf, yf, e, 0.1, s), xv, yv) for e in grid] for s in seeds]
    )  # (seeds, grid, [acc, loss])
    acc, loss = curves[..., 0].mean(0), curves[..., 1].mean(0)
    np.testing.assert_allclose(choice.val_accuracy, acc, atol=1e-6)
    np.testing.assert_allclose(choice.val_loss, loss, rtol=1e-5)
    top = np.flatnonzero(np.isclose(acc, acc.max()))
    assert choice.epochs == grid[min(top, key=lambda i: loss[i])]
    with pytest.raises(ValueError, match="grid"):
        choose_epochs(linear, x, y, grid=())
    with pytest.raises(ValueError, match="callable"):
        choose_epochs("fixed", x, y)


def test_example_selection_never_reads_the_test_split():
    """The example's choices (searched circuit, every model's retraining length and validation
    curve) are identical whether its test split is the real one or one with rotated labels, on
    which the test accuracies move the other way; a selection that read test rows would differ."""
    ex = runpy.run_path(str(ROOT / "examples" / "architecture_search.py"))
    x_tr, y_tr, x_te, y_te = ex["prepare"]("iris")
    x_tr, y_tr = x_tr[::2], y_tr[::2]  # 56 rows: a small, fast run
    settings = {"layers": 1, "population": 3, "cycles": 1, "search_epochs": (2, 4),
                "fitness_seeds": 1, "fitness": "log_likelihood", "folds": 1, "grid": (2, 15),
                "criterion": "accuracy", "seeds": (0,)}  # fmt: skip
    rows = [
        ex["run_dataset"]("iris", x_tr, y_tr, x_te, yt, settings) for yt in (y_te, (y_te + 1) % 3)
    ]
    chosen = ("searched", "search_fitness", "fixed_fitness", "epoch_selection")
    assert all(rows[0][k] == rows[1][k] for k in chosen)
    assert rows[0]["retrain_epochs"] == rows[1]["retrain_epochs"]
    assert rows[0]["test_accuracy"] != rows[1]["test_accuracy"]  # the test split did change


def test_cross_validated_choice_averages_every_fold_and_seed():
    from sklearn.model_selection import StratifiedKFold

    x, y = _data(45, seed=4)
    grid = (2, 12)
    choice = choose_epochs(linear, x, y, grid, (0, 1), lr=0.1, split_seed=5, folds=3)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=5).split(x, y))
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(45))
    curves = np.array(
        [
            [_score(train_classifier(linear, x[f], y[f], e, 0.1, s), x[v], y[v]) for e in grid]
            for f, v in folds
            for s in (0, 1)
        ]
    )
    np.testing.assert_allclose(choice.val_accuracy, curves[..., 0].mean(0), atol=1e-6)
    np.testing.assert_allclose(choice.val_loss, curves[..., 1].mean(0), rtol=1e-5)
    assert (choice.folds, choice.fit_rows, choice.val_rows) == (3, 30, 15)
    with pytest.raises(ValueError, match="folds"):
        choose_epochs(linear, x, y, grid, folds=0)


def test_example_features_and_budget_options_reach_the_run(tmp_path, monkeypatch):
    """``--features`` projects onto that many principal components of the training part (the
    columns come out uncorrelated, scaled to [0, pi] on the training rows) and sets the qubit
    count; ``--population``/``--cycles`` set the search budget recorded in the JSON."""
    ex = runpy.run_path(str(ROOT / "examples" / "architecture_search.py"))
    x_tr, _, x_te, _ = ex["prepare"]("wine", 8)
    assert x_tr.shape == (133, 8) and x_te.shape == (45, 8)
    np.testing.assert_allclose(np.corrcoef(x_tr.T), np.eye(8), atol=1e-9)  # raw wine: |r| to 0.86
    np.testing.assert_allclose(x_tr.min(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x_tr.max(0), np.pi, rtol=1e-12)
    argv = "--datasets iris --features 3 --layers 1 --population 3 --cycles 1 --seeds 1"
    argv += f" --search-epochs 2 --epoch-grid 2,3 --folds 1 --out {tmp_path}"
    monkeypatch.setattr("sys.argv", ["architecture_search.py", *argv.split()])
    plotted = []
    monkeypatch.setitem(ex["main"].__globals__, "plot_report", lambda rows, out: plotted.append(1))
    ex["main"]()  # the plot is skipped (importing matplotlib alone takes seconds)
    assert plotted == [1]
    (row,) = json.loads((tmp_path / "search.json").read_text())
    assert (row["qubits"], row["parameters"]) == (3, 2 * 3 * 1)
    assert (row["settings"]["population"], row["settings"]["cycles"]) == (3, 1)
    assert row["search_candidates"] <= 4  # 3 initial + 1 child (fewer if the child repeats)
    assert "3 qubits, 6 circuit parameters" in (tmp_path / "search.md").read_text()
