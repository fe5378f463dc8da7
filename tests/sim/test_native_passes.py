"""The layer kernels' passes of several gates and the permutation folded into a layer's first
pass: against NumPy algebra, and bitwise equal to one gate per pass and to an index gather
followed by the layer (the same arithmetic in the same order)."""

import numpy as np
import pytest
import torch
from native_checks import check_passes, check_permuted

import hqml
from hqml.backends.statevector.plan import Perm
from hqml.sim import native

pytestmark = pytest.mark.skipif(not native.available(), reason="native kernels not built")


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_several_gates_per_pass_equal_one_per_pass(dtype):
    check_passes(native._load(), dtype)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_permutation_folded_into_the_layer(dtype):
    check_permuted(native._load(), dtype)


def test_a_map_that_leaves_the_block_is_refused():
    """SWAP(0, n-1) moves index bit 0 to the top: no block is one input block permuted."""
    n = 17
    perm = Perm.of_gate("swap", (0, n - 1), n)
    psi = torch.randn(1, 2**n, dtype=torch.complex64)
    out = torch.empty_like(psi)
    assert (
        native.apply_layer_permuted(psi, n, perm.gather_columns(), [0], torch.eye(2)[None], out)
        is None
    )


def test_w2_runs_the_folded_path_and_matches_the_unfolded_one(monkeypatch):
    """W2's shape at 17 qubits: the CNOT chains folded into the layers (in place, one state),
    bitwise equal to the gather-then-layer path, and equal to the torch path to rounding."""
    n = 17
    c = hqml.Circuit(n)
    for layer in range(3):
        for q in range(n):
            c.rx(0.1 + 0.37 * q - 0.2 * layer, q)
        for q in range(n - 1):
            c.cnot(q, q + 1)
    calls = []
    real = native.apply_layer_permuted
    monkeypatch.setattr(
        native, "apply_layer_permuted", lambda *a, **k: calls.append(a[0] is a[-1]) or real(*a, **k)
    )
    with torch.no_grad():
        got = hqml.state(c, dtype=torch.complex64)
    assert calls and all(calls)  # every chain folded, in place
    monkeypatch.setattr(native, "apply_layer_permuted", lambda *a, **k: None)
    with torch.no_grad():
        unfolded = hqml.state(c, dtype=torch.complex64)
    assert torch.equal(got, unfolded)
    monkeypatch.setenv("HQML_NATIVE", "0")
    with torch.no_grad():
        reference = hqml.state(c.copy(), dtype=torch.complex128)  # a new request: torch
    np.testing.assert_allclose(got.numpy(), reference.numpy(), atol=1e-5)
