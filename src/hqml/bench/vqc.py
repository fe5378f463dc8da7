"""The VQC ansatz of W1 and W3 in every framework.

Circuit on n qubits: RY(x_i) on every qubit, then L layers of [RY(w[l,i,0]), RZ(w[l,i,1]) on
every qubit i; CNOT i -> (i+1) mod n for i = 0..n-1]. ``x`` is ``(B, n)`` (a batch, W1) or
``(n,)`` (one sample, W3). The step evaluates e_i = <Z_i>, a scalar loss (``"vqc"``: batch mean
of sum_i e_i^2; ``"sum"``: sum_i e_i) and its gradient with respect to all 2nL weights.

Each builder returns a :class:`~hqml.bench.registry.Prepared` whose values are
``{"expval": e, "loss": loss, "grad_w": dloss/dw (L, n, 2)}``. Each takes ``device``
(``"cpu"`` or ``"cuda"``) and on ``cuda`` runs its framework's GPU variant; the workload files
declare which variant that is and how to tell it is installed (``Impl.gpu``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hqml.bench.devices import jax_device
from hqml.bench.registry import Prepared
from hqml.bench.tq_compat import import_torchquantum
from hqml.circuit import Circuit, Z
from hqml.execute import expval


def _values(out: Any) -> dict[str, np.ndarray]:
    e, loss, grad = out
    return {"expval": _np(e), "loss": _np(loss), "grad_w": _np(grad)}


def _np(v: Any) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)


def _torch_loss(e: Any, loss: str) -> Any:
    return (e**2).sum(-1).mean() if loss == "vqc" else e.sum()


def hqml_circuit(n: int, layers: int) -> Circuit:
    """The ansatz as an hqml circuit with input ``x`` (n,) and weight ``w`` (layers, n, 2)."""
    c = Circuit(n)
    xs, ws = c.input("x", n), c.weight("w", (layers, n, 2))
    for i in range(n):
        c.ry(xs[i], i)
    for layer in range(layers):
        for i in range(n):
            c.ry(ws[layer, i, 0], i).rz(ws[layer, i, 1], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return c


def hqml_vqc(
    x: np.ndarray,
    w: np.ndarray,
    *,
    loss: str,
    diff_method: str = "best",
    device: str = "cpu",
    shots: int | None = None,
    backend: Any = "statevector",
    noise_model: Any = None,
) -> Prepared:
    """hqml, complex64, ``diff_method`` (default "best"), inputs and weights on ``device``;
    with ``shots``, every expectation value is estimated from that many samples (seeded);
    ``backend`` and ``noise_model`` as for :func:`hqml.expval` (W6's noisy runs)."""
    import torch

    n, layers = w.shape[1], w.shape[0]
    c = hqml_circuit(n, layers)
    obs = [Z(i) for i in range(n)]
    dev = torch.device(device)
    xt = torch.tensor(x, dtype=torch.float32, device=dev)
    wt = torch.tensor(w, dtype=torch.float32, device=dev, requires_grad=True)

    def step() -> Any:
        wt.grad = None
        e = expval(
            c,
            obs,
            inputs={"x": xt},
            weights={"w": wt},
            diff_method=diff_method,
            device=dev,
            shots=shots,
            seed=None if shots is None and noise_model is None else 7,
            backend=backend,
            noise_model=noise_model,
        )
        value = _torch_loss(e, loss)
        value.backward()
        return e.detach(), value.detach(), wt.grad

    sampled = f", {shots} shots" if shots else ""
    return Prepared(step, _values, f"complex64, diff_method={diff_method}{sampled}, {device}")


def torch_vqc(x: np.ndarray, w: np.ndarray, *, loss: str, device: str = "cpu") -> Prepared:
    """A plain hand-written PyTorch statevector (complex64, autograd) on ``device``."""
    import torch

    n, layers = w.shape[1], w.shape[0]
    xt = torch.tensor(np.atleast_2d(x), dtype=torch.float32, device=device)
    wt = torch.tensor(w, dtype=torch.float32, device=device, requires_grad=True)
    batch = xt.shape[0]
    bshape = (batch,) + (1,) * (n - 1)  # broadcasts a per-sample angle over one amplitude half

    def rot(psi: Any, theta: Any, q: int, kind: str) -> Any:
        p0, p1 = psi.select(q + 1, 0), psi.select(q + 1, 1)
        theta = theta.reshape(bshape) if theta.dim() else theta
        if kind == "ry":
            c, s = torch.cos(theta / 2), torch.sin(theta / 2)
            return torch.stack([c * p0 - s * p1, s * p0 + c * p1], dim=q + 1)
        phase = torch.polar(torch.ones_like(theta), -theta / 2)
        return torch.stack([p0 * phase, p1 * phase.conj()], dim=q + 1)

    def cnot(psi: Any, ctrl: int, tgt: int) -> Any:
        p0, p1 = psi.select(ctrl + 1, 0), psi.select(ctrl + 1, 1)
        return torch.stack([p0, p1.flip(tgt + 1 if tgt < ctrl else tgt)], dim=ctrl + 1)

    def expz() -> Any:
        psi = torch.zeros((batch,) + (2,) * n, dtype=torch.complex64, device=device)
        psi[(slice(None),) + (0,) * n] = 1
        for i in range(n):
            psi = rot(psi, xt[:, i], i, "ry")
        for layer in range(layers):
            for i in range(n):
                psi = rot(rot(psi, wt[layer, i, 0], i, "ry"), wt[layer, i, 1], i, "rz")
            for i in range(n):
                psi = cnot(psi, i, (i + 1) % n)
        probs = (psi.real**2 + psi.imag**2).reshape(batch, -1)
        out = []
        for q in range(n):
            pz = probs.reshape(batch, 2**q, 2, -1).sum((1, 3))
            out.append(pz[:, 0] - pz[:, 1])
        return torch.stack(out, dim=-1)

    def step() -> Any:
        wt.grad = None
        e = expz()
        e = e if x.ndim == 2 else e[0]
        value = _torch_loss(e, loss)
        value.backward()
        return e.detach(), value.detach(), wt.grad

    return Prepared(step, _values, f"complex64, autograd, {device}")


def _pennylane_qnode(
    n: int, layers: int, device: Any, diff_method: str, shots: int | None = None
) -> Any:
    import pennylane as qml

    @qml.qnode(device, interface="torch", diff_method=diff_method, shots=shots)
    def circuit(x: Any, w: Any) -> Any:
        for i in range(n):
            qml.RY(x[..., i], wires=i)
        for layer in range(layers):
            for i in range(n):
                qml.RY(w[layer, i, 0], wires=i)
                qml.RZ(w[layer, i, 1], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return circuit


def pennylane_vqc(
    x: np.ndarray,
    w: np.ndarray,
    *,
    loss: str,
    pl_device: str = "default.qubit",
    diff_method: str = "backprop",
    device: str = "cpu",
    shots: int | None = None,
) -> Prepared:
    """PennyLane with the torch interface; batches use parameter broadcasting; ``shots``
    estimates every expectation value from that many samples (the device seeded).

    ``default.qubit`` runs in complex128 (its default), ``lightning.qubit`` in complex64. On
    ``device="cuda"`` default.qubit gets torch CUDA tensors (so its backprop simulation runs on
    the GPU) and ``lightning.qubit`` becomes ``lightning.gpu`` (same dtype and method; its
    parameters stay on the host, where Lightning reads them).
    """
    import pennylane as qml
    import torch

    n, layers = w.shape[1], w.shape[0]
    lightning = pl_device.startswith("lightning.")
    if lightning and device == "cuda":
        pl_device = "lightning.gpu"
    kwargs: dict[str, Any] = {"c_dtype": np.complex64} if lightning else {}
    kwargs.update({"seed": 7} if shots else {})
    circuit = _pennylane_qnode(
        n, layers, qml.device(pl_device, wires=n, **kwargs), diff_method, shots
    )
    real = torch.float32 if lightning else torch.float64
    where = "cpu" if lightning else device
    xt = torch.tensor(x, dtype=real, device=where)
    wt = torch.tensor(w, dtype=real, device=where, requires_grad=True)

    def step() -> Any:
        wt.grad = None
        e = torch.stack(list(circuit(xt, wt)), dim=-1)
        value = _torch_loss(e, loss)
        value.backward()
        return e.detach(), value.detach(), wt.grad

    dtype = "complex64" if lightning else "complex128"
    tensors = ", torch CUDA tensors" if where == "cuda" else ""
    sampled = f", {shots} shots" if shots else ""
    return Prepared(step, _values, f"{pl_device}, {diff_method}, {dtype}{sampled}{tensors}")


def qiskit_ml_vqc(
    x: np.ndarray, w: np.ndarray, *, loss: str, device: str = "cpu", shots: int | None = None
) -> Prepared:
    """Qiskit Machine Learning: EstimatorQNN (Aer EstimatorV2, exact) + TorchConnector; on
    ``device="cuda"`` Aer simulates on the GPU. With ``shots``, the estimator's precision is
    ``1/sqrt(shots)``: Aer's EstimatorV2 then adds normal noise of that standard deviation to
    each exact value (its model of shots; it does not sample)."""
    import torch
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer.primitives import EstimatorV2
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    n, layers = w.shape[1], w.shape[0]
    xp, wp = ParameterVector("x", n), ParameterVector("w", layers * n * 2)
    qc = QuantumCircuit(n)
    for i in range(n):
        qc.ry(xp[i], i)
    for layer in range(layers):
        for i in range(n):
            qc.ry(wp[(layer * n + i) * 2], i)
            qc.rz(wp[(layer * n + i) * 2 + 1], i)
        for i in range(n):
            qc.cx(i, (i + 1) % n)
    obs = [SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], num_qubits=n) for i in range(n)]
    backend_options: dict[str, Any] = {"max_parallel_threads": 2}
    if device == "cuda":
        backend_options["device"] = "GPU"
    precision = 1 / np.sqrt(shots) if shots else 0.0
    run_options = {"seed_simulator": 7} if shots else {}
    estimator = EstimatorV2(
        options={
            "backend_options": backend_options,
            "default_precision": precision,
            "run_options": run_options,
        }
    )
    qnn = EstimatorQNN(
        circuit=qc,
        observables=obs,
        input_params=list(xp),
        weight_params=list(wp),
        estimator=estimator,
        gradient=ParamShiftEstimatorGradient(estimator),
        default_precision=precision,
    )
    model = TorchConnector(qnn, initial_weights=torch.tensor(w.reshape(-1), dtype=torch.float64))
    xt = torch.tensor(np.atleast_2d(x), dtype=torch.float64)

    def step() -> Any:
        model.zero_grad()
        e = model(xt)
        e = e if x.ndim == 2 else e[0]
        value = _torch_loss(e, loss)
        value.backward()
        return e.detach(), value.detach(), model.weight.grad.reshape(layers, n, 2)

    aer = "Aer EstimatorV2 on the GPU" if device == "cuda" else "Aer EstimatorV2"
    how = f"{shots} shots" if shots else "exact"
    return Prepared(step, _values, f"{aer} ({how}), parameter shift, complex128")


def tensorcircuit_ansatz(tc: Any, n: int, layers: int, xi: Any, wv: Any) -> Any:
    """The W1 ansatz as a TensorCircuit-NG circuit: RY(x) encoding, then ``layers`` of RY, RZ on
    every qubit and a CNOT ring."""
    c = tc.Circuit(n)
    for i in range(n):
        c.ry(i, theta=xi[i])
    for layer in range(layers):
        for i in range(n):
            c.ry(i, theta=wv[layer, i, 0])
            c.rz(i, theta=wv[layer, i, 1])
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return c


def tensorcircuit_vqc(x: np.ndarray, w: np.ndarray, *, loss: str, device: str = "cpu") -> Prepared:
    """TensorCircuit-NG on JAX, complex64, jit(value_and_grad) with vmap over the batch; the
    arrays are placed on JAX's CPU or GPU device per ``device`` (jit runs where they are)."""
    import jax
    import tensorcircuit as tc

    K = tc.set_backend("jax")
    tc.set_dtype("complex64")
    n, layers = w.shape[1], w.shape[0]

    def expz(xi: Any, wv: Any) -> Any:
        c = tensorcircuit_ansatz(tc, n, layers, xi, wv)
        return K.stack([K.real(c.expectation_ps(z=[i])) for i in range(n)])

    if x.ndim == 2:
        vexpz = K.vmap(expz, vectorized_argnums=0)

        def objective(wv: Any, xv: Any) -> Any:
            e = vexpz(xv, wv)
            return K.mean(K.sum(e**2, axis=1)), e
    else:

        def objective(wv: Any, xv: Any) -> Any:
            e = expz(xv, wv)
            return (K.sum(e) if loss == "sum" else K.sum(e**2)), e

    vg = K.jit(K.value_and_grad(objective, has_aux=True))
    where = jax_device(device)
    xj = jax.device_put(x.astype(np.float32), where)
    wj = jax.device_put(w.astype(np.float32), where)

    def step() -> Any:
        (value, e), grad = vg(wj, xj)
        grad.block_until_ready()
        return e, value, grad

    return Prepared(step, _values, f"jax on {where.platform}, jit + vmap, complex64")


def torchquantum_vqc(x: np.ndarray, w: np.ndarray, *, loss: str, device: str = "cpu") -> Prepared:
    """TorchQuantum 0.1.8 (its own venv), complex64, autograd, its device on ``device``."""
    import torch
    import torchquantum.functional as tqf
    from torchquantum.measurement import expval

    tq = import_torchquantum()
    n, layers = w.shape[1], w.shape[0]
    xt = torch.tensor(np.atleast_2d(x), dtype=torch.float32, device=device)
    wt = torch.tensor(w, dtype=torch.float32, device=device, requires_grad=True)
    batch = xt.shape[0]
    observables = [tq.PauliZ() for _ in range(n)]

    def step() -> Any:
        wt.grad = None
        qdev = tq.QuantumDevice(n_wires=n, bsz=batch, device=device)
        for i in range(n):
            tqf.ry(qdev, wires=i, params=xt[:, i])
        for layer in range(layers):
            for i in range(n):
                tqf.ry(qdev, wires=i, params=wt[layer, i, 0].expand(batch))
                tqf.rz(qdev, wires=i, params=wt[layer, i, 1].expand(batch))
            for i in range(n):
                tqf.cnot(qdev, wires=[i, (i + 1) % n])
        e = expval(qdev, wires=list(range(n)), observables=observables)
        e = e if x.ndim == 2 else e[0]
        value = _torch_loss(e, loss)
        value.backward()
        return e.detach(), value.detach(), wt.grad

    return Prepared(step, _values, f"complex64, autograd, {device}")
