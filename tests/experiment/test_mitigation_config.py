"""Mitigation in run configs: the [mitigation] table wraps the hybrid model's quantum layer
(ZNE, readout correction, PEC) against the [noise] table's model; bad settings are one-line
errors; the settings are recorded in the run's provenance."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from hqml.cli.main import app
from hqml.experiment import ConfigError, build_hybrid, parse_config
from hqml.experiment.runner import load_data, run_provenance
from hqml.mitigation import EXTRAPOLATIONS, FOLDING_METHODS

MODEL = {"pattern": "dressed", "n_qubits": 3, "layers": 2, "backend": "density_matrix"}
X = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))


def _readouts(noise=None, mitigation=None, backend="density_matrix"):
    """The quantum layer's <Z_i> on fixed inputs, the model built with seed 0 (so every
    variant has the same weights)."""
    cfg = parse_config(
        {
            "data": {"name": "iris"},
            "model": {**MODEL, "backend": backend},
            "noise": noise or {},
            "mitigation": mitigation or {},
        }
    )
    model = build_hybrid(cfg.model, 4, 3, X, 0, cfg.noise, cfg.mitigation)
    with torch.no_grad():
        return model.quantum(torch.tanh(model.pre(X)) * torch.pi / 2).double()


@pytest.fixture(scope="module")
def ideal():
    return _readouts(backend="statevector")


def test_readout_mitigation_undoes_symmetric_readout_flips(ideal):
    p = 0.1
    noisy = _readouts({"readout_flip": p})
    # a symmetric flip with probability p scales every <Z_i> by 1 - 2p (analytic)
    assert torch.allclose(noisy, (1 - 2 * p) * ideal, atol=1e-5)
    mitigated = _readouts({"readout_flip": p}, {"method": "readout"})
    assert torch.allclose(mitigated, ideal, atol=1e-5)


def test_zne_and_pec_move_the_readouts_towards_the_ideal(ideal):
    noise = {"depolarizing": 0.02}
    noisy_err = (_readouts(noise) - ideal).abs().mean()
    assert noisy_err > 0.02  # the noise matters at this size
    zne_err = (_readouts(noise, {"method": "zne"}) - ideal).abs().mean()
    assert zne_err < 0.3 * noisy_err
    pec = {"method": "pec", "num_samples": 2000, "seed": 3}
    pec_err = (_readouts(noise, pec) - ideal).abs().mean()
    assert pec_err < 0.3 * noisy_err


def test_mitigated_model_trains():
    cfg = parse_config(
        {"model": MODEL, "noise": {"depolarizing": 0.02}, "mitigation": {"method": "zne"}}
    )
    model = build_hybrid(cfg.model, 4, 3, X, 0, cfg.noise, cfg.mitigation)
    loss = torch.nn.functional.cross_entropy(model(X), torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    assert model.quantum.w.grad is not None and model.quantum.w.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "table,needle",
    [
        ({"mitigation": {"method": "zne"}}, "has no noise to mitigate: set a [noise] table"),
        (
            {"noise": {"depolarizing": 0.01}, "mitigation": {"method": "readout"}},
            "corrects readout errors: set noise.readout_flip",
        ),
        (
            {"noise": {"readout_flip": 0.1}, "mitigation": {"method": "pec"}},
            "cancels the gate noise of a [noise] table",
        ),
        (
            {"noise": {"depolarizing": 0.01, "readout_flip": 0.1}, "mitigation": {"method": "pec"}},
            "noise.readout_flip needs method 'readout'",
        ),
        (
            {
                "noise": {"readout_flip": 0.1},
                "mitigation": {"method": "readout", "folding": "random"},
            },
            "folding applies to method 'zne', not 'readout'",
        ),
        (
            {"mitigation": {"num_samples": 10}},
            "num_samples set without a method; set mitigation.method",
        ),
        (
            {
                "noise": {"depolarizing": 0.01},
                "mitigation": {"method": "zne", "scale_factors": [0.5, 3]},
            },
            "scale_factors must be >= 1",
        ),
        (
            {
                "noise": {"depolarizing": 0.01},
                "mitigation": {"method": "zne", "scale_factors": [1]},
            },
            "mitigation.scale_factors",
        ),
        (
            {
                "noise": {"depolarizing": 0.01},
                "mitigation": {"method": "zne", "extrapolation": "cubic"},
            },
            "mitigation.extrapolation",
        ),
        (
            {
                "model": {**MODEL, "diff_method": "parameter-shift"},
                "noise": {"depolarizing": 0.01},
                "mitigation": {"method": "zne"},
            },
            "needs model.diff_method in ['best', 'backprop', 'finite-diff', 'spsa']",
        ),
        (
            {
                "model": {**MODEL, "pattern": "monolithic"},
                "noise": {"depolarizing": 0.01},
                "mitigation": {"method": "zne"},
            },
            "applies to patterns 'dressed' and 'head', not 'monolithic'",
        ),
    ],
)
def test_bad_mitigation_settings_are_one_line_errors(table, needle):
    with pytest.raises(ConfigError) as err:
        parse_config({"model": MODEL, **table})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_config_names_match_hqml_mitigation():
    from hqml.experiment.config import MitigationConfig

    fields = MitigationConfig.model_fields
    assert set(fields["extrapolation"].annotation.__args__) == set(EXTRAPOLATIONS)
    assert set(fields["folding"].annotation.__args__) == set(FOLDING_METHODS)


def test_hqml_run_records_mitigation_in_provenance(tmp_path):
    out = tmp_path / "runs"
    config = tmp_path / "noisy.toml"
    config.write_text(
        f"""
name = "noisy"
seed = 2
output_dir = "{out.as_posix()}"
[data]
name = "linearly_separable"
n_samples = 24
n_features = 2
[model]
pattern = "dressed"
n_qubits = 2
layers = 1
backend = "density_matrix"
[noise]
readout_flip = 0.05
[mitigation]
method = "readout"
calibration_shots = 4000
[training]
epochs = 1
batch_size = 12
baseline = false
[tracking]
mlflow = false
"""
    )
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    prov = json.loads((out / "noisy" / "results.json").read_text())["provenance"]
    assert prov["mitigation"]["method"] == "readout"
    assert prov["mitigation"]["calibration_shots"] == 4000
    assert prov["noise"]["readout_flip"] == 0.05
    # without mitigation the entry is empty, not absent
    plain = parse_config({"model": MODEL})
    assert run_provenance(plain, load_data(plain), 0)["mitigation"] is None


def test_a_dumped_config_parses_again():
    # hqml scale and hqml study send configs to their workers as dicts (model_dump)
    cfg = parse_config(
        {
            "model": MODEL,
            "noise": {"readout_flip": 0.1},
            "mitigation": {"method": "readout", "calibration_shots": 100},
        }
    )
    assert parse_config(cfg.model_dump()) == cfg
    plain = parse_config({"model": MODEL})
    assert parse_config(plain.model_dump()) == plain
