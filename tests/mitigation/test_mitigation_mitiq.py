"""Where Mitiq is installed, hqml's ZNE on the same folded circuits and noise gives its value."""

import numpy as np
import pytest
import torch

import hqml
from hqml.mitigation import ZNE, fold_mask
from hqml.noise import NoiseModel, depolarizing

mitiq = pytest.importorskip(
    "mitiq", reason="Mitiq is not installed (pip install 'hqml[mitigation]')"
)
cirq = pytest.importorskip("cirq", reason="Mitiq's circuits need cirq")
from mitiq import zne as mzne  # noqa: E402
from mitiq.zne import inference, scaling  # noqa: E402

NOISE = NoiseModel().add_channel(depolarizing(0.02)).add_channel(depolarizing(0.05, 2))
GATES = [
    ("h", [0]),
    ("ry", [1], 0.8),
    ("cx", [0, 1]),
    ("rz", [2], -0.6),
    ("cx", [1, 2]),
    ("rx", [0], 1.3),
    ("cz", [2, 0]),
    ("ry", [2], 0.4),
    ("cx", [0, 1]),
    ("h", [2]),
    ("rx", [1], -2.2),
]
OBS = hqml.Z(0) @ hqml.Z(1) @ hqml.Z(2)


def circuits():
    c = hqml.Circuit(3)
    q = cirq.LineQubit.range(3)
    ops = []
    for name, wires, *params in GATES:
        c.append(name, wires, params)
        gate = {"h": cirq.H, "cx": cirq.CNOT, "cz": cirq.CZ}.get(name)
        if gate is None:
            gate = {"rx": cirq.rx, "ry": cirq.ry, "rz": cirq.rz}[name](params[0])
        ops.append(gate.on(*[q[w] for w in wires]))
    # one operation per moment, so Mitiq's gate order is the circuit order
    return c, cirq.Circuit(ops, strategy=cirq.InsertStrategy.NEW)


def run_cirq(circuit):
    """Mitiq's executor: each cirq operation as an hqml unitary on the same wires, same noise."""
    c = hqml.Circuit(3)
    for op in circuit.all_operations():
        c.unitary(cirq.unitary(op), [qb.x for qb in op.qubits])
    return float(
        hqml.expval(c, OBS, backend="density_matrix", noise_model=NOISE, dtype=torch.complex128)
    )


def run_hqml(circuit):
    return hqml.expval(
        circuit, OBS, backend="density_matrix", noise_model=NOISE, dtype=torch.complex128
    )


@pytest.mark.parametrize(
    "factory,settings",
    [
        (lambda: inference.RichardsonFactory([1.0, 2.0, 3.0]), dict(scale_factors=(1, 2, 3))),
        (
            lambda: inference.LinearFactory([1.0, 1.5, 2.5, 3.0]),
            dict(scale_factors=(1, 1.5, 2.5, 3), extrapolation="linear"),
        ),
        (
            lambda: inference.PolyFactory([1.0, 1.4, 2.2, 3.0, 3.6], order=2),
            dict(scale_factors=(1, 1.4, 2.2, 3, 3.6), extrapolation="polynomial", order=2),
        ),
        (
            lambda: inference.ExpFactory([1.0, 2.0, 3.0, 5.0], asymptote=0.0),
            dict(scale_factors=(1, 2, 3, 5), extrapolation="exponential", asymptote=0.0),
        ),
    ],
)
def test_global_folding_zne_matches_mitiq(factory, settings):
    c, cc = circuits()
    want = mzne.execute_with_zne(cc, run_cirq, factory=factory(), scale_noise=scaling.fold_global)
    got = ZNE(folding="global", **settings).run(c, run_hqml)
    assert float(got.value) == pytest.approx(want, abs=1e-10)


def test_random_local_folding_matches_mitiq():
    c, cc = circuits()
    uniform = {"single": 0.5, "double": 0.5}  # equal weights, as hqml's local folding
    for scale, seed in ((1.8, 3), (2.6, 11), (3.4, 5)):
        folded = scaling.fold_gates_at_random(cc, scale, seed=seed, fidelities=uniform)
        ours = ZNE((1, scale), folding="random", seed=seed).folded(c)[1]
        assert len(ours) == len(list(folded.all_operations()))
        assert float(run_hqml(ours)) == pytest.approx(run_cirq(folded), abs=1e-10)
        mask = scaling.folding._create_fold_mask([1.0] * len(c), scale, seed=seed)
        assert fold_mask(len(c), scale, "random", seed=seed) == mask
    factory = inference.RichardsonFactory([1.0, 1.8, 2.6])
    want = mzne.execute_with_zne(
        cc,
        run_cirq,
        factory=factory,
        scale_noise=lambda k, s: scaling.fold_gates_at_random(k, s, seed=7, fidelities=uniform),
    )
    got = ZNE((1, 1.8, 2.6), folding="random", seed=7).run(c, run_hqml).value
    assert float(got) == pytest.approx(want, abs=1e-10)
    assert np.isfinite(want)
