"""``hqml run`` on the MPS backend: wide models are allowed there, and the run reports what
the truncations discarded (printed, in results.json and in report.md)."""

from __future__ import annotations

import json
import warnings

import pytest
from typer.testing import CliRunner

from hqml.backends.mps import TruncatedGradientWarning
from hqml.cli.main import app
from hqml.experiment import ConfigError, load_config
from hqml.experiment.models import model_backend
from hqml.experiment.report import truncation_line

WIDE = """
name = "wide"
seed = 1
output_dir = "{out}"

[data]
name = "linearly_separable"
n_samples = 12
n_features = 2

[model]
pattern = "dressed"
n_qubits = 21
layers = 2
backend = "mps"
backend_options = {{ max_bond = {bond} }}

[training]
epochs = 1
batch_size = 12
baseline = false

[tracking]
mlflow = false
"""


@pytest.mark.parametrize("bond, exact", [(2, False), (64, True)])
def test_hqml_run_reports_the_mps_truncation(tmp_path, bond, exact):
    config = tmp_path / "wide.toml"
    config.write_text(WIDE.format(out=tmp_path.as_posix(), bond=bond))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedGradientWarning)
        result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    # training through truncations is allowed, and said: its gradients are approximate
    assert any(w.category is TruncatedGradientWarning for w in caught) is not exact
    results = json.loads((tmp_path / "wide" / "results.json").read_text())
    t = results["truncation"]
    assert t["exact"] is exact and t["max_bond"] <= bond
    assert t["full_rank"] is exact  # bond 2 cuts, bond 64 never does
    assert (t["max_discarded_weight"] > 0) is not exact
    if exact:
        assert "MPS backend: exact" in result.output
    else:
        assert "MPS backend: truncated; discarded weight up to" in result.output
        assert 0 < t["min_fidelity_estimate"] < 1
    assert "MPS backend:" in (tmp_path / "wide" / "report.md").read_text()


def test_wide_models_need_the_mps_backend(tmp_path):
    config = tmp_path / "wide.toml"
    text = WIDE.format(out=tmp_path.as_posix(), bond=4).replace('backend = "mps"\n', "")
    config.write_text(text)
    with pytest.raises(ConfigError, match="n_qubits = 21 .*backend = 'mps'"):
        load_config(config)
    config.write_text(WIDE.format(out=tmp_path.as_posix(), bond=4).replace("max_bond", "bond"))
    with pytest.raises(ConfigError, match="backend_options.*bond"):
        model_backend(load_config(config).model)


@pytest.mark.parametrize("backend", ["mps", "auto"])
def test_the_run_reports_the_truncation_without_backend_options(tmp_path, backend):
    # by name only (no options: the layers hold the name, not an instance), or picked by
    # "auto" at 31 qubits: each layer keeps its outputs' reports, so the run still says it
    text = WIDE.format(out=tmp_path.as_posix(), bond=64)
    text = text.replace("max_bond = 64", "").replace("backend_options = {  }\n", "")
    text = text.replace('backend = "mps"', f'backend = "{backend}"').replace("= 21", "= 31")
    assert "backend_options" not in text and "n_qubits = 31" in text
    config = tmp_path / "wide.toml"
    config.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "auto" says that it picked the MPS backend
        result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    assert "MPS backend: exact" in result.output
    t = json.loads((tmp_path / "wide" / "results.json").read_text())["truncation"]
    assert t["exact"] is True and t["full_rank"] is True and 2 <= t["max_bond"] <= 64


def test_the_line_says_when_exact_values_came_with_dropped_directions():
    t = {"exact": True, "full_rank": False, "max_bond": 4}
    assert "gradients may have missed directions" in truncation_line(t)
    assert truncation_line({**t, "full_rank": True}).startswith("MPS backend: exact (")
