"""Split-pattern modules train; a hybrid model learns a linearly separable task; quanvolution
equals an explicit loop over patches."""

import numpy as np
import pytest
import torch
from torch import nn

import hqml
from hqml.circuit.templates import angle_encoding, hardware_efficient, strongly_entangling
from hqml.datasets import make_linearly_separable
from hqml.nn import (
    DressedQuantumLayer,
    PCAReduction,
    QuantumClassifier,
    QuantumFeatureModel,
    QuantumHead,
    QuantumKitchenSinks,
    QuantumLayer,
    Quanvolution2d,
)


def layer(n=2, layers=2, seed=0):
    return QuantumLayer(
        angle_encoding(n).compose(hardware_efficient(n, layers)),
        [hqml.Z(q) for q in range(n)],
        seed=seed,
    )


def train(model, x, y, epochs=25, lr=0.1):
    torch.manual_seed(0)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture(scope="module")
def task():
    ds = make_linearly_separable(160, 4, margin=0.1, seed=3, as_tensors=True)
    return ds


def test_hybrid_model_reaches_90_percent_on_linearly_separable(task):
    torch.manual_seed(1)
    model = nn.Sequential(
        layer(4, 2, seed=1), nn.Linear(4, 2)
    )  # features straight into the circuit
    train(model, task.x_train, task.y_train, epochs=40, lr=0.1)
    with torch.no_grad():
        acc = (model(task.x_test).argmax(1) == task.y_test).float().mean().item()
    assert acc >= 0.9, acc


def test_every_split_pattern_trains(task):
    x, y = task.x_train[:64], task.y_train[:64]
    torch.manual_seed(0)
    models = {
        "feature": QuantumFeatureModel(
            QuantumKitchenSinks(4, n_qubits=3, n_episodes=4, seed=0), nn.Linear(4 + 12, 2)
        ),
        "head": QuantumHead(PCAReduction(4, 2).fit(x), layer(2, 2), n_outputs=2),
        "dressed": DressedQuantumLayer(4, 2, layer(2, 2)),
        "monolithic": QuantumClassifier(
            angle_encoding(4).compose(strongly_entangling(4, 2)), 2, seed=0
        ),
    }
    for name, model in models.items():
        before = [p.detach().clone() for p in model.parameters() if not p.requires_grad]
        losses = train(model, x, y, epochs=15)
        assert losses[-1] < losses[0] - 0.05, (name, losses[0], losses[-1])
        after = [p for p in model.parameters() if not p.requires_grad]
        same = all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
        assert same, f"{name}: frozen part changed"


def test_quantum_classifier_logits_are_log_readout_probabilities():
    c = angle_encoding(3).compose(hardware_efficient(3, 1))
    clf = QuantumClassifier(c, 3, seed=2)
    x = torch.rand(4, 3)
    p = hqml.probs(c, [0, 1], inputs={"x": x}, weights={"w": clf.quantum.w.detach()})
    assert torch.allclose(clf(x).exp(), p[:, :3], atol=1e-6)
    with pytest.raises(ValueError, match="fewer than 5 classes"):
        QuantumClassifier(c, 5, wires=[0, 1])


def test_kitchen_sinks_equal_explicit_episodes():
    qks = QuantumKitchenSinks(3, n_qubits=2, n_episodes=3, seed=1)
    x = torch.rand(5, 3)
    out = qks(x)
    c = qks.layer.circuit
    for e in range(3):
        angles = x @ qks.omega[e].T + qks.beta[e]
        want = hqml.expval(c, [hqml.Z(0), hqml.Z(1)], inputs={"theta": angles})
        assert torch.allclose(out[:, 2 * e : 2 * e + 2], want, atol=1e-6)


@pytest.mark.parametrize("stride,padding,channels", [(2, 0, 1), (1, 0, 1), (2, 1, 2)])
def test_quanvolution_equals_patch_loop(stride, padding, channels):
    torch.manual_seed(0)
    q = Quanvolution2d(channels, kernel_size=2, stride=stride, padding=padding, seed=3, layers=1)
    imgs = torch.rand(2, channels, 4, 5)
    out = q(imgs)
    padded = nn.functional.pad(imgs, (padding,) * 4)
    ho, wo = (4 + 2 * padding - 2) // stride + 1, (5 + 2 * padding - 2) // stride + 1
    assert out.shape == (2, q.out_channels, ho, wo)
    w = q.quantum.w.detach()
    for b in range(2):
        for i in range(ho):
            for j in range(wo):
                patch = padded[
                    b, :, i * stride : i * stride + 2, j * stride : j * stride + 2
                ].reshape(-1)
                want = hqml.expval(
                    q.quantum.circuit, q.quantum.observables, inputs={"x": patch}, weights={"w": w}
                )
                assert torch.allclose(out[b, :, i, j], want, atol=1e-6)


def test_quanvolution_calls_the_backend_once_and_trains():
    calls = []
    q = Quanvolution2d(1, 2, trainable=True, seed=0)
    original = q.quantum.forward
    q.quantum.forward = lambda x: calls.append(x.shape) or original(x)
    model = nn.Sequential(q, nn.Flatten(), nn.Linear(4 * 4, 2))
    imgs = torch.rand(8, 1, 4, 4)
    y = (imgs.mean((1, 2, 3)) > 0.5).long()
    model(imgs)
    assert calls == [(8 * 4, 4)]
    losses = train(model, imgs, y, epochs=10)
    assert losses[-1] < losses[0]
    assert q.quantum.w.grad is not None and np.isfinite(q.quantum.w.grad.numpy()).all()
