"""Property tests: normalisation, inverse returns |0...0>, a batch of one equals no batch."""

import numpy as np
import torch
from helpers import random_circuit
from hypothesis import given, settings
from hypothesis import strategies as st

import hqml

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), ops=st.integers(1, 30))
def test_norm_is_preserved(seed, n, ops):
    rng = np.random.default_rng(seed)
    c = random_circuit(rng, n, ops)
    x = torch.tensor(rng.normal(size=(4, 3)))
    psi = hqml.state(c, inputs={"x": x}, weights={"w": torch.tensor(rng.normal(size=4))})
    torch.testing.assert_close(psi.abs().square().sum(dim=1), torch.ones(4, dtype=torch.float64))


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), ops=st.integers(1, 30))
def test_circuit_then_inverse_is_identity(seed, n, ops):
    rng = np.random.default_rng(seed)
    c = random_circuit(rng, n, ops)
    both = c.compose(c.inverse())
    x = torch.tensor(rng.normal(size=(3, 3)))
    psi = hqml.state(both, inputs={"x": x}, weights={"w": torch.tensor(rng.normal(size=4))})
    zero = torch.zeros(3, 2**n, dtype=psi.dtype)
    zero[:, 0] = 1
    torch.testing.assert_close(psi, zero, atol=1e-10, rtol=0)


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), ops=st.integers(1, 30))
def test_batch_of_one_equals_unbatched(seed, n, ops):
    rng = np.random.default_rng(seed)
    c = random_circuit(rng, n, ops)
    x = torch.tensor(rng.normal(size=3))
    w = torch.tensor(rng.normal(size=4))
    obs = [hqml.Z(0), hqml.X(n - 1) + 0.5 * hqml.Y(0)]
    one = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w})
    batch = hqml.expval(c, obs, inputs={"x": x[None]}, weights={"w": w})
    assert one.shape == (2,) and batch.shape == (1, 2)
    torch.testing.assert_close(batch[0], one)
