"""Random circuits against the dense reference: states, expectation values, batches, dtypes."""

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.circuit.observables import PauliSum
from hqml.testing import reference_state


def random_observable(rng, n, terms=3):
    return PauliSum.from_list(
        [("".join(rng.choice(list("IXYZ"), n)), float(rng.normal())) for _ in range(terms)]
    )


@pytest.mark.parametrize("seed", range(200))
def test_random_circuit_matches_dense(seed):
    """200 seeded circuits, 1-8 qubits, every gate kind, batched inputs, both precisions."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    c = random_circuit(rng, n, int(rng.integers(1, 25)))
    batch = 3
    x64 = torch.tensor(rng.uniform(-2, 2, (batch, 3)))
    w64 = torch.tensor(rng.uniform(-2, 2, 4))
    obs = [random_observable(rng, n), hqml.Z(n - 1)]
    wants = [reference_state(c, {"x": x64[b]}, {"w": w64}) for b in range(batch)]
    for dtype, atol in ((torch.complex64, 1e-5), (torch.complex128, 1e-10)):
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        x, w = x64.to(real), w64.to(real)
        psi = hqml.state(c, inputs={"x": x}, weights={"w": w}, dtype=dtype)
        assert psi.shape == (batch, 2**n) and psi.dtype == dtype
        ev = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, dtype=dtype)
        assert ev.shape == (batch, 2)
        for b, want in enumerate(wants):
            if dtype == torch.complex64:  # the reference used float64 values of float32 inputs
                want = reference_state(c, {"x": x[b].double()}, {"w": w.double()})
            np.testing.assert_allclose(psi[b].numpy(), want, atol=atol)
            for k, o in enumerate(obs):
                ref = np.vdot(want, o.to_matrix(n) @ want).real
                np.testing.assert_allclose(ev[b, k].item(), ref, atol=atol * 10)


def test_probs_marginal_and_order(rng):
    c = random_circuit(rng, 4, 20, n_inputs=0, n_weights=0)
    psi = reference_state(c)
    p = hqml.probs(c, wires=[2, 0], dtype=torch.complex128).numpy()
    full = (np.abs(psi) ** 2).reshape(2, 2, 2, 2)
    want = full.sum(axis=(1, 3)).T.reshape(-1)  # order (wire 2, wire 0)
    np.testing.assert_allclose(p, want, atol=1e-12)
    assert hqml.probs(c).shape == (16,)
