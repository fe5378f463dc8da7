"""`hqml run`'s amplitude encoding: the model binds the encoding's gate angles computed by
vectorised torch, and its quantum part equals a layer on the symbolic encoding (same weights)."""

from __future__ import annotations

import pytest
import torch

import hqml
from hqml.circuit.templates import amplitude_encoding, hardware_efficient
from hqml.experiment import build_hybrid
from hqml.experiment.config import ModelConfig
from hqml.nn import AmplitudeEncoded, QuantumLayer


def _reference(inner: QuantumLayer, n: int, layers: int) -> QuantumLayer:
    """The same layer on the symbolic amplitude encoding, with the inner layer's weights."""
    circuit = amplitude_encoding(n).compose(hardware_efficient(n, layers))
    kw = (
        {"probs_wires": list(inner.probs_wires)}
        if inner.probs_wires is not None
        else {"observables": [hqml.Z(q) for q in range(n)]}
    )
    ref = QuantumLayer(circuit, **kw)
    ref.load_state_dict(inner.state_dict())
    return ref


@pytest.mark.parametrize("pattern", ["dressed", "head", "monolithic"])
def test_amplitude_models_equal_the_symbolic_encoding_values_and_gradients(pattern):
    n, layers = 3, 2
    cfg = ModelConfig(pattern=pattern, n_qubits=n, layers=layers, encoding="amplitude")
    n_features = 2**n
    x_train = torch.randn(20, n_features, dtype=torch.float64)
    model = build_hybrid(cfg, n_features, 2, x_train, seed=3)
    (wrapped,) = [m for m in model.modules() if isinstance(m, AmplitudeEncoded)]
    (inner,) = [m for m in model.modules() if isinstance(m, QuantumLayer)]
    assert wrapped.quantum is inner and wrapped.n_inputs == n_features
    ref = _reference(inner, n, layers)

    x = torch.randn(5, n_features, dtype=torch.float64)
    x[1] = -x[1].abs()  # every sign negative
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = wrapped(xa), ref(xb)
    torch.testing.assert_close(out, expected, atol=2e-6, rtol=0)  # complex64 layers
    w = torch.randn_like(out)
    (out * w).sum().backward()
    (expected * w).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=2e-5, rtol=1e-4)
    for name, p in inner.named_parameters():
        torch.testing.assert_close(
            p.grad, dict(ref.named_parameters())[name].grad, atol=2e-5, rtol=1e-4
        )
    assert model(x.float() if next(model.parameters()).dtype == torch.float32 else x).shape == (
        5,
        2,
    )


def test_a_layer_not_on_the_angles_is_refused():
    layer = QuantumLayer(amplitude_encoding(2), [hqml.Z(0)])
    with pytest.raises(ValueError, match="start its circuit with amplitude_encoding_angles"):
        AmplitudeEncoded(layer, 2)


def test_the_quantum_timer_counts_the_angles_as_encoding_once():
    from hqml.experiment.timing import QuantumTimer

    cfg = ModelConfig(pattern="dressed", n_qubits=2, layers=1, encoding="amplitude")
    model = build_hybrid(cfg, 4, 2, torch.randn(10, 4), seed=0)
    (wrapped,) = [m for m in model.modules() if isinstance(m, AmplitudeEncoded)]
    timer = QuantumTimer(model)
    assert len(wrapped._forward_pre_hooks) == 1 and len(wrapped._forward_hooks) == 1
    assert not wrapped.quantum._forward_pre_hooks and not wrapped.quantum._forward_hooks
    model(torch.randn(3, 4)).sum().backward()
    timer.close_backward()
    assert timer.seconds > 0
