"""Monte Carlo trajectories converge to the density-matrix result within statistical error."""

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.backends import trajectories
from hqml.backends.base import Expval, Task
from hqml.backends.trajectories import trajectory_states
from hqml.circuit.params import bind_parameters
from hqml.noise import (
    NoiseModel,
    ReadoutError,
    amplitude_damping,
    depolarizing,
    phase_damping,
    thermal_relaxation,
)
from hqml.sim import measure


def noise_model(readout=True):
    nm = (
        NoiseModel()
        .add_channel(depolarizing(0.06))
        .add_channel(depolarizing(0.1, 2))
        .add_channel(amplitude_damping(0.15), gates=["cx", "cz", "cy", "swap"], each_wire=True)
        .add_channel(thermal_relaxation(20.0, 15.0, 2.0), gates=["ry", "rx", "h"])
        .add_channel(phase_damping(0.3), gates=["unitary"], each_wire=True)
    )
    if readout:
        nm.add_readout_error(ReadoutError.from_flips(0.04, 0.09))
    return nm


@pytest.mark.parametrize("seed", range(2))
def test_trajectory_means_within_statistical_error(seed):
    rng = np.random.default_rng(7 + seed)
    n = 3
    c = random_circuit(rng, n, 12)
    nm = noise_model(readout=False)
    x = torch.tensor(rng.uniform(-2, 2, (2, 3)))
    w = torch.tensor(rng.uniform(-2, 2, 4))
    labels = ["ZZI", "IXY", "ZIZ", "YII"]
    obs = [hqml.PauliSum.from_list([(lb, 1.0)]) for lb in labels]
    exact = hqml.expval(
        c, obs, inputs={"x": x}, weights={"w": w}, backend="density_matrix", noise_model=nm
    )
    t = 2000
    be = hqml.get_backend("statevector", trajectories=t)
    est = hqml.expval(
        c, obs, inputs={"x": x}, weights={"w": w}, backend=be, noise_model=nm, seed=seed
    )
    # the standard error from the per-trajectory values of the same run
    b = bind_parameters(c, {"x": x}, {"w": w}, None, None)
    task = Task(
        c,
        b.theta,
        Expval(tuple(obs)),
        torch.complex128,
        varying=b.varying,
        options={"noise_model": nm},
    )
    states = trajectory_states(task, t, torch.Generator().manual_seed(seed))
    words = [next(iter(o.terms)) for o in obs]
    per = measure.expval_words(states, n, words).reshape(2, t, -1)
    torch.testing.assert_close(per.mean(1), est)  # same seed, same trajectories
    se = per.std(1) / t**0.5
    assert ((est - exact).abs() <= 4 * se + 1e-9).all(), (est, exact, se)
    assert se.max() < 0.025


def test_probs_samples_and_readout_match_density():
    c = hqml.Circuit(3).h(0).cnot(0, 1).ry(0.8, 2).cz(1, 2).rx(0.3, 0)
    nm = noise_model()
    exact = hqml.probs(c, backend="density_matrix", noise_model=nm)
    be = hqml.get_backend("statevector", trajectories=4000)
    est = hqml.probs(c, backend=be, noise_model=nm, seed=11)
    assert est.shape == exact.shape == (8,)
    assert (est - exact).abs().max() < 0.02
    again = hqml.probs(c, backend=be, noise_model=nm, seed=11)
    torch.testing.assert_close(est, again)  # seeded: reproducible
    obs = [hqml.Z(0) @ hqml.Z(1), hqml.X(0), hqml.Y(2) @ hqml.Z(1)]
    ev_exact = hqml.expval(c, obs, backend="density_matrix", noise_model=nm)
    ev = hqml.expval(c, obs, backend=be, noise_model=nm, seed=2)
    assert (ev - ev_exact).abs().max() < 0.05
    bits = hqml.sample(c, 20, backend=be, noise_model=nm, seed=3)
    assert bits.shape == (20, 3) and set(bits.unique().tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="density_matrix"):
        hqml.state(c, backend=be, noise_model=nm)
    with pytest.raises(ValueError, match="trajectories"):
        hqml.probs(c, backend=hqml.get_backend("statevector", trajectories=0), noise_model=nm)


def test_chunked_trajectories_are_the_mean_of_their_chunks(monkeypatch):
    """Trajectories run in chunks by memory: the estimate is the mean over chunks drawn in turn
    from one generator, and agrees with the density matrix within statistical error."""
    rng = np.random.default_rng(3)
    c = random_circuit(rng, 3, 10)
    nm = NoiseModel().add_channel(depolarizing(0.05), each_wire=True)
    nm.add_channel(amplitude_damping(0.2), each_wire=True)
    x, w = torch.tensor(rng.uniform(-2, 2, (2, 3))), torch.tensor(rng.uniform(-2, 2, 4))
    obs = [hqml.Z(0), hqml.Z(1) @ hqml.X(2)]
    kw = dict(inputs={"x": x}, weights={"w": w}, noise_model=nm)
    exact = hqml.expval(c, obs, backend="density_matrix", **kw)
    monkeypatch.setattr(trajectories, "CHUNK_AMPLITUDES", 2 * 8 * 300)  # 300 per chunk
    est = hqml.expval(c, obs, backend=hqml.get_backend("statevector", trajectories=1000),
                      seed=5, **kw)  # fmt: skip
    b = bind_parameters(c, {"x": x}, {"w": w}, None, None)
    task = Task(c, b.theta, Expval(tuple(obs)), torch.complex128, varying=b.varying,
                options={"noise_model": nm})  # fmt: skip
    gen = torch.Generator().manual_seed(5)
    words = [((0, "Z"),), ((1, "Z"), (2, "X"))]
    per = torch.cat(
        [
            measure.expval_words(trajectory_states(task, t, gen), 3, words).reshape(2, t, -1)
            for t in (300, 300, 300, 100)
        ],
        dim=1,
    )
    torch.testing.assert_close(per.mean(1), est)
    se = per.std(1) / 1000**0.5
    assert ((est - exact).abs() <= 4 * se + 1e-9).all(), (est, exact, se)


def test_per_row_one_wire_operators_match_dense_algebra(monkeypatch):
    """A drawn (non-unitary) 2x2 operator per trajectory on one wire: the native layer kernel
    where it runs (n >= 6), the torch path otherwise, both against einsum on the plain state."""
    from hqml.sim import native

    rng = np.random.default_rng(11)
    n, rows = 7, 5
    psi = rng.normal(size=(rows, 2**n)) + 1j * rng.normal(size=(rows, 2**n))
    state = torch.tensor(psi, dtype=torch.complex128)
    calls = []
    real_apply = native.apply_layer
    monkeypatch.setattr(
        native, "apply_layer", lambda *a, **k: calls.append(1) or real_apply(*a, **k)
    )
    monkeypatch.setenv("HQML_NATIVE", "1")
    have = native.usable(torch.device("cpu"), torch.complex128, n)
    for flag in ("1", "0"):
        monkeypatch.setenv("HQML_NATIVE", flag)
        for wire in (0, 3, 6):
            m = rng.normal(size=(rows, 2, 2)) + 1j * rng.normal(size=(rows, 2, 2))
            got = trajectories._apply_rows(state, n, torch.tensor(m), (wire,))
            t = psi.reshape((rows,) + (2,) * n)
            ref = np.moveaxis(
                np.einsum("rab,r...b->r...a", m, np.moveaxis(t, 1 + wire, -1)), -1, 1 + wire
            )
            np.testing.assert_allclose(got.numpy(), ref.reshape(rows, -1), atol=1e-10)
        if flag == "1":
            assert len(calls) == (3 if have else 0)
    assert len(calls) == (3 if have else 0)  # HQML_NATIVE=0: the torch path


def test_reduced_density_matrices_match_dense_algebra():
    """The reduced density matrix of the wires a gate draws its noise from, on every path (per
    leading index, the wires' axis moved, the Gram matrix, wires apart), against NumPy."""
    rng = np.random.default_rng(4)
    n, rows = 8, 3
    psi = rng.normal(size=(rows, 2**n)) + 1j * rng.normal(size=(rows, 2**n))
    state = torch.tensor(psi)
    for wires in [(1,), (2, 3), (4,), (4, 5), (6,), (6, 7), (7,), (5, 1)]:
        axes = [1 + w for w in wires]
        t = np.moveaxis(psi.reshape((rows,) + (2,) * n), axes, list(range(1, 1 + len(wires))))
        t = t.reshape(rows, 2 ** len(wires), -1)
        ref = t @ np.conj(np.swapaxes(t, 1, 2))
        got = trajectories._reduced(state, n, wires)
        np.testing.assert_allclose(got.numpy(), ref, atol=1e-10, err_msg=str(wires))
