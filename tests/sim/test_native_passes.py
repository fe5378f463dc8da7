"""The layer kernels' passes of several gates and the permutation folded into a layer's first
pass: against NumPy algebra, and bitwise equal to one gate per pass and to an index gather
followed by the layer (the same arithmetic in the same order)."""

import numpy as np
import pytest
import torch
from helpers import w2_circuit
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
    c = w2_circuit(n)
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


def test_a_first_layer_on_zero_is_written_as_a_product_state(monkeypatch):
    """A circuit that starts with a layer (some wires without a gate) on 10 qubits: the state is
    built as the product state, shared and per-sample angles, and equals dense algebra."""
    from hqml.sim import fused
    from hqml.testing import reference_state

    monkeypatch.setattr(native, "MIN_QUBITS", 6)
    monkeypatch.setenv("HQML_SMALL", "0")  # the layer kernels, not the small-register interpreter
    calls = []
    real = fused._product_state
    monkeypatch.setattr(fused, "_product_state", lambda *a: calls.append(1) or real(*a))
    n = 10
    c = hqml.Circuit(n)
    for q in range(n):
        if q % 4 != 3:  # wires 3 and 7 keep |0>
            (c.rx if q % 2 else c.ry)(0.3 + 0.41 * q, q)
    for q in range(n - 1):
        c.cnot(q, q + 1)
    for q in range(n):
        c.rz(0.2 * q - 0.5, q)
    with torch.no_grad():
        got = hqml.state(c, dtype=torch.complex128)
    assert calls
    np.testing.assert_allclose(got.numpy(), reference_state(c), atol=1e-12)
    x = torch.tensor([[0.3, -1.2], [2.0, 0.4], [1.1, 0.9]], dtype=torch.float64)
    cb = hqml.Circuit(n)
    xs = cb.input("x", 2)
    for q in range(n):
        cb.ry(xs[q % 2], q)
    cb.cnot(0, 1)
    calls.clear()
    with torch.no_grad():
        got = hqml.state(cb, inputs={"x": x}, dtype=torch.complex64)
    assert calls and got.shape == (3, 2**n)
    for b in range(3):  # each sample's circuit with its angles fixed, in dense algebra
        fixed = hqml.Circuit(n)
        for q in range(n):
            fixed.ry(float(x[b, q % 2]), q)
        fixed.cnot(0, 1)
        np.testing.assert_allclose(got[b].numpy(), reference_state(fixed), atol=2e-6)
