"""Every provider adapter refuses a non-Hermitian observable before anything is sent, as hqml's
own simulators do (Braket and PennyLane would return its real part, Qiskit would fail after
sending), and takes a Hermitian one written with complex-typed coefficients."""

from __future__ import annotations

import importlib.util

import pytest
import torch

import hqml
from hqml import accounting
from hqml.backends.providers import UnsupportedRequest

DEVICES = [
    pytest.param("qiskit:aer_simulator", "qiskit_ibm_runtime", id="qiskit"),
    pytest.param("braket:braket_sv", "braket", id="braket"),
    pytest.param("pennylane:default.qubit", "pennylane", id="pennylane"),
]


def _circuit() -> hqml.Circuit:
    c = hqml.Circuit(2)
    w = c.weight("w", (2,))
    return c.ry(w[0], 0).ry(w[1], 1).cnot(0, 1)


W = torch.tensor([0.4, -0.9], dtype=torch.float64)


@pytest.mark.parametrize(("name", "module"), DEVICES)
def test_a_non_hermitian_observable_is_refused_before_sending(name, module):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"needs {module}")
    bad = hqml.Z(0) + 1j * hqml.X(1)
    with pytest.raises(ValueError, match="is not Hermitian") as ref:  # hqml's own refusal
        hqml.expval(_circuit(), bad, weights={"w": W})
    be = hqml.get_backend(name)
    with accounting.track() as run, pytest.raises(UnsupportedRequest) as info:
        hqml.expval(_circuit(), [hqml.Z(0), bad], weights={"w": W}, backend=be)
    msg = str(info.value)
    assert "\n" not in msg and msg == str(ref.value)
    assert run.calls == [] and be.ledger.calls == []  # nothing was sent
    # a Hermitian observable with complex-typed (real) coefficients runs and equals hqml's value
    ok = (1 + 0j) * hqml.Z(0) + (0.5 + 0j) * hqml.X(1)
    got = hqml.expval(_circuit(), ok, weights={"w": W}, backend=be)
    want = hqml.expval(_circuit(), ok, weights={"w": W}, dtype=torch.complex128)
    torch.testing.assert_close(got.double(), want.double(), atol=1e-5, rtol=0)
