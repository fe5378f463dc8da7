"""A small VQC trained on IBM fake devices (real coupling maps, basis gates and noise, shots)
reaches the accuracy of the same model trained on the exact simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml

pytest.importorskip("qiskit_ibm_runtime", reason="needs the hardware extra")


def data(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.2, 1.2, (n, 2))
    y = (x[:, 0] + 0.6 * x[:, 1] > 0).astype(np.float64)
    return torch.tensor(x), torch.tensor(y)


def train(backend, shots: int | None) -> tuple[float, float]:
    """Accuracy on held-out points of the model trained on ``backend``: judged exactly, and
    judged on ``backend`` itself."""
    c = hqml.Circuit(2)
    x, w = c.input("x", 2), c.weight("w", (2, 2))
    c.ry(x[0] * 1.3, 0).ry(x[1] * 1.3, 1)
    c.ry(w[0, 0], 0).ry(w[0, 1], 1).cnot(0, 1).ry(w[1, 0], 0).ry(w[1, 1], 1)
    torch.manual_seed(0)
    model = hqml.nn.QuantumLayer(
        c, hqml.Z(0), backend=backend, shots=shots, seed=3, diff_method="parameter-shift"
    )
    with torch.no_grad():
        model.w.copy_(torch.tensor([[0.1, -0.2], [0.3, 0.05]]))
    opt = torch.optim.Adam(model.parameters(), lr=0.15)
    xtr, ytr = data(1, 16)
    for _ in range(12):
        opt.zero_grad()
        out = model(xtr).reshape(-1)
        loss = ((out - (1 - 2 * ytr)) ** 2).mean()  # class 0 -> <Z> = +1, class 1 -> -1
        loss.backward()
        opt.step()
    xte, yte = data(2, 24)
    with torch.no_grad():
        exact = hqml.expval(c, hqml.Z(0), inputs={"x": xte}, weights={"w": model.w})
        measured = model(xte).reshape(-1)
    return tuple(float(((o < 0).double() == yte).double().mean()) for o in (exact, measured))


@pytest.mark.slow
@pytest.mark.parametrize("device", ["fake_manila", "fake_jakarta"])  # 5 and 7 qubits
def test_vqc_on_a_fake_device_reaches_the_exact_accuracy(device):
    exact, _ = train("statevector", None)
    learnt, measured = train(hqml.get_backend(f"qiskit:{device}", seed=5), 1000)
    assert exact >= 0.9
    assert learnt >= exact - 1 / 12  # within two of 24 test points
    assert measured >= exact - 1 / 12
