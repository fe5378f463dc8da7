"""The run config's [noise] table: thermal relaxation and asymmetric readout against their
analytic effect on one qubit, and the one-line errors of what cannot be built."""

from __future__ import annotations

import math

import pytest

import hqml
from hqml.experiment import parse_config
from hqml.experiment.config import ConfigError, NoiseConfig
from hqml.experiment.models import noise_model_of


def _z_after(circuit, noise):
    return float(
        hqml.expval(circuit, hqml.Z(0), backend="density_matrix", noise_model=noise_model_of(noise))
    )


def test_t1_relaxes_the_excited_state_during_a_gate():
    # RX(pi)|0> = |1>, then relaxation for the gate's 1.0: p(1) = exp(-1/10)
    c = hqml.Circuit(1).rx(math.pi, 0)
    noise = NoiseConfig(t1=10.0, gate_time_1q=1.0)
    assert _z_after(c, noise) == pytest.approx(1 - 2 * math.exp(-0.1), abs=1e-6)


def test_t2_dephases_a_superposition_and_two_qubit_gates_relax_both_wires():
    # RY(pi/2)|0> = |+>: <X> = exp(-time/t2) after the gate
    c = hqml.Circuit(1).ry(math.pi / 2, 0)
    x = hqml.expval(
        c,
        hqml.X(0),
        backend="density_matrix",
        noise_model=noise_model_of(NoiseConfig(t1=10.0, t2=4.0, gate_time_1q=1.0)),
    )
    assert float(x) == pytest.approx(math.exp(-0.25), abs=1e-6)
    # X on wire 1, then a CZ of duration 2: wire 1 relaxes for 2 (1q gates take no time here)
    c2 = hqml.Circuit(2).x(1).cz(0, 1)
    z1 = hqml.expval(
        c2,
        hqml.Z(1),
        backend="density_matrix",
        noise_model=noise_model_of(NoiseConfig(t1=10.0, gate_time_2q=2.0)),
    )
    assert float(z1) == pytest.approx(1 - 2 * math.exp(-0.2), abs=1e-6)


def test_asymmetric_readout_flips():
    c = hqml.Circuit(1).x(0)  # |1>: read as 0 with probability 0.2
    noise = NoiseConfig(readout_flip=0.05, readout_flip_1to0=0.2)
    assert _z_after(c, noise) == pytest.approx(-1 + 2 * 0.2, abs=1e-6)
    idle = hqml.Circuit(1).rz(0.0, 0)  # |0>: read as 1 with probability 0.05
    assert _z_after(idle, noise) == pytest.approx(1 - 2 * 0.05, abs=1e-6)


@pytest.mark.parametrize(
    "table,needle",
    [
        ({"t1": 10.0}, "set noise.gate_time_1q"),
        ({"t2": 5.0}, "need noise.t1 as well"),
        ({"gate_time_1q": 1.0}, "need noise.t1 as well"),
        ({"t1": 10.0, "t2": 25.0, "gate_time_1q": 1.0}, "exceeds 2 \\* t1"),
    ],
)
def test_relaxation_settings_that_cannot_be_built_are_one_line_errors(table, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_config({"model": {"backend": "density_matrix"}, "noise": table})


def test_relaxation_is_gate_noise_for_mitigation_and_recorded():
    cfg = parse_config(
        {
            "model": {"backend": "density_matrix", "diff_method": "backprop"},
            "noise": {"t1": 50.0, "gate_time_1q": 0.1},
            "mitigation": {"method": "zne"},
        }
    )
    assert cfg.noise.active and cfg.noise.gate_noise and not cfg.noise.readout
    with pytest.raises(ConfigError, match="corrects readout errors"):
        parse_config(
            {
                "model": {"backend": "density_matrix"},
                "noise": {"t1": 50.0, "gate_time_1q": 0.1},
                "mitigation": {"method": "readout"},
            }
        )
