import numpy as np
import pytest
import torch

import hqml
from hqml.backends import Backend, Capabilities, get_backend, register_backend
from hqml.backends.registry import _FACTORIES, _PROVIDERS, _load
from hqml.backends.statevector import StatevectorBackend


class ShotsOnly(Backend):
    """A custom backend that only samples: declares it and is used through the same front door."""

    name = "shots-only"
    capabilities = Capabilities(
        max_qubits=3, diff_methods=frozenset({"parameter-shift"}), shots_only=True
    )

    def __init__(self):
        self.inner = StatevectorBackend()
        self.calls = 0

    def execute(self, tasks):
        self.calls += len(tasks)
        return self.inner.execute(tasks)


def test_register_and_use_a_custom_backend():
    register_backend("test-shots-only", ShotsOnly)
    try:
        be = get_backend("test-shots-only")
        assert isinstance(be, ShotsOnly) and "test-shots-only" in hqml.available_backends()
        c = hqml.Circuit(1)
        w = c.weight("w")
        c.ry(w, 0)
        v = torch.tensor(0.6, dtype=torch.float64, requires_grad=True)
        out = hqml.expval(c, hqml.Z(0), weights={"w": v}, backend=be, shots=4000, seed=1)
        out.backward()  # best with shots -> parameter-shift, the method it declares
        assert abs(out.item() - np.cos(0.6)) < 5 / np.sqrt(4000)
        assert abs(v.grad.item() + np.sin(0.6)) < 5 * np.sqrt(0.5 / 4000)
        with pytest.raises(ValueError, match="does not support diff_method 'adjoint'"):
            hqml.expval(c, hqml.Z(0), weights={"w": v}, backend=be, diff_method="adjoint")
        with pytest.raises(ValueError, match="at most 3 qubits"):
            hqml.expval(hqml.Circuit(4), hqml.Z(0), backend=be)
    finally:
        _FACTORIES.pop("test-shots-only")


def test_unknown_and_unavailable_backends_name_the_fix():
    with pytest.raises(ValueError, match="unknown backend 'nope'; available: .*statevector"):
        get_backend("nope")
    register_backend("test-missing", "hqml.does_not_exist:Backend")
    try:
        with pytest.raises(ValueError, match="not available"):
            get_backend("test-missing")
    finally:
        _FACTORIES.pop("test-missing")
    register_backend("test-extra", "hqml_fake_optional_pkg.sub:Backend")
    try:
        with pytest.raises(ImportError, match="hqml_fake_optional_pkg.*pip install"):
            get_backend("test-extra")
    finally:
        _FACTORIES.pop("test-extra")
    with pytest.raises(TypeError, match="backend must be a name"):
        get_backend(3)


def test_noise_needs_a_noise_capable_backend():
    register_backend("test-shots-only", ShotsOnly)
    try:
        with pytest.raises(ValueError, match="does not simulate noise"):
            hqml.expval(hqml.Circuit(1), hqml.Z(0), backend="test-shots-only", noise_model=object())
    finally:
        _FACTORIES.pop("test-shots-only")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    from helpers import random_circuit

    c = random_circuit(rng, 6, 40)
    x = torch.tensor(rng.normal(size=(8, 3)))
    w = torch.tensor(rng.normal(size=4))
    cpu = hqml.expval(c, [hqml.Z(0), hqml.X(5)], inputs={"x": x}, weights={"w": w})
    wc = w.cuda().requires_grad_(True)
    gpu = hqml.expval(c, [hqml.Z(0), hqml.X(5)], inputs={"x": x.cuda()}, weights={"w": wc})
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu)
    gpu.sum().backward()
    assert wc.grad.device.type == "cuda"


def test_every_listed_backend_name_resolves_to_code_that_exists():
    """A name is listed only when its backend exists in this version (qiskit.aer and
    pennylane were listed and raised "not available")."""
    for name in hqml.available_backends():
        provider, sep, _ = name.partition(":")
        factory = _PROVIDERS[provider][0] if sep else _FACTORIES[name]
        if isinstance(factory, str):
            try:
                assert callable(_load(factory, name))
            except ImportError as e:  # an optional extra: the message names it
                assert "pip install 'hqml[" in str(e)
    assert not {"qiskit.aer", "pennylane"} & set(hqml.available_backends())
    assert "mps" in hqml.available_backends()
