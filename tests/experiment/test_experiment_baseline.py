"""The baseline of equal size: every candidate shape matches the budget, the choice follows the
documented rule, and a model that stayed at chance is flagged in results, report and table."""

from __future__ import annotations

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from hqml.cli.main import app
from hqml.experiment import parse_config
from hqml.experiment.baseline import at_chance, chance_level, choose_baseline
from hqml.experiment.models import BASELINE_SHAPES, build_baseline
from hqml.experiment.report import summary_lines
from hqml.nn import count_parameters


@pytest.mark.parametrize("budget", [34, 57, 142, 1000])
def test_every_shape_matches_the_budget(budget):
    for shape in BASELINE_SHAPES:
        model = build_baseline(16, 2, budget, seed=0, shape=shape, image_shape=(1, 4, 4))
        if shape != "linear" or budget <= 16 * 2 + 2 + 18:
            assert count_parameters(model) == budget, shape
        else:  # a linear model tops out at 16 * 2 + 2 (+ 18 gains): it drops out of the choice
            assert count_parameters(model) < budget, shape
        out = model(torch.rand(5, 1, 4, 4))
        assert out.shape == (5, 2)
    with pytest.raises(ValueError, match="needs images"):
        build_baseline(16, 2, 34, seed=0, shape="cnn")
    with pytest.raises(ValueError, match="unknown baseline shape"):
        build_baseline(16, 2, 34, seed=0, shape="rnn")


def test_linear_shape_is_logistic_regression_or_low_rank():
    full = build_baseline(16, 2, 34, seed=0, shape="linear")
    assert isinstance(full.net, torch.nn.Linear)  # 16 * 2 + 2 = 34: logistic regression
    x = torch.rand(3, 16)
    torch.testing.assert_close(full(x), x @ full.net.weight.T + full.net.bias)
    low = build_baseline(16, 10, 40, seed=0, shape="linear")
    assert low.rank == 1 and count_parameters(low) == 40


def test_chance_level_and_flag_by_hand():
    assert chance_level(torch.tensor([0, 1, 1, 1])) == 0.75
    se = math.sqrt(0.5 * 0.5 / 100)
    assert at_chance(0.5 + se, 0.5, 100) and not at_chance(0.5 + se + 1e-9, 0.5, 100)
    assert at_chance(0.3, 0.5, 100)  # below chance is at chance too


def bars(n=120, seed=0):
    """Noisy 4x4 bars (class 0, columns on) and stripes (class 1, rows on)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    on = torch.rand(n, 4, generator=g) < 0.5
    img = torch.where(
        y[:, None, None] == 0,
        on[:, None, :].expand(n, 4, 4).float(),
        on[:, :, None].expand(n, 4, 4).float(),
    )
    img = img + 0.3 * torch.randn(n, 4, 4, generator=g)
    return img[:, None], y


def test_choice_follows_the_rule_on_images():
    x, y = bars()
    training = parse_config({"training": {"epochs": 8, "learning_rate": 0.05}}).training
    model, info = choose_baseline(16, 2, 34, x, y, training, seed=0)
    scores = info["validation_accuracy"]
    assert set(scores) == set(BASELINE_SHAPES)  # all four match 34 parameters on images
    assert info["shape"] == max(scores, key=scores.get)
    assert count_parameters(model) == 34
    flat, info_flat = choose_baseline(16, 2, 34, x.flatten(1), y, training, seed=0)
    assert "cnn" not in info_flat["validation_accuracy"]  # not images: no convolution


def test_run_flags_models_at_chance(tmp_path):
    config = tmp_path / "stuck.toml"
    config.write_text(f'''
name = "stuck"
output_dir = "{(tmp_path / "runs").as_posix()}"
[data]
name = "iris"
[model]
pattern = "dressed"
n_qubits = 2
layers = 1
[training]
epochs = 1
learning_rate = 1e-9
[tracking]
mlflow = false
''')
    result = CliRunner().invoke(app, ["run", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "runs" / "stuck" / "results.json").read_text())
    chance = results["data"]["chance_accuracy"]
    assert 0.3 <= chance <= 0.5  # iris test split: about a third per class
    for name, m in results["models"].items():
        expected = m["test_acc"] <= chance + math.sqrt(chance * (1 - chance) / 38)
        assert m["at_chance"] == expected, name
    stuck = [n for n, m in results["models"].items() if m["at_chance"]]
    assert stuck, "a learning rate of 1e-9 for one epoch cannot learn iris"
    report = (tmp_path / "runs" / "stuck" / "report.md").read_text()
    for name in stuck:
        assert f"**{name} stayed at chance**" in report
        assert f"{name} stayed at chance" in " ".join(summary_lines(results))
    assert "at chance" in result.output and "stayed at chance level" in result.output
    assert results["baseline_choice"]["shape"] in BASELINE_SHAPES
