"""The ``train`` program: a hybrid model's training loop run next to the simulator.

The circuit has one input array (the features) and weights; the model's outputs are the
expectations of ``observables``, fitted to the targets by mean squared error with Adam or SGD
over shuffled mini-batches. Gradients come from the backend's adjoint method by default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from ..backends.base import Backend
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum
from ..execute import expval
from .cost import Limits, check_result, check_rows, check_steps
from .execution import JobContext, JobRejected, JobStopped, load_circuit
from .optim import DescentStep, initial_weights
from .schemas import ProgramRequest
from .wire import parse_dtype, tensor_from_json, tensor_to_json


@dataclass
class PreparedTraining:
    request: ProgramRequest
    circuit: Circuit
    observables: tuple[PauliSum, ...]
    x: torch.Tensor
    y: torch.Tensor


def prepare_training(req: ProgramRequest, limits: Limits) -> PreparedTraining:
    """Price and validate a ``train`` request (raises JobRejected naming the problem)."""
    c = load_circuit(req.circuit, req.qasm, limits)
    max_rows = limits.max_rows
    if len(c.inputs) != 1 or not c.weights:
        raise JobRejected(
            "a train circuit needs exactly one input array (the features) and at"
            f" least one weight; it has inputs {list(c.inputs)}, weights"
            f" {list(c.weights)}"
        )
    obs = []
    for i, d in enumerate(req.observables or []):
        try:
            o = PauliSum.from_json(d)
        except (ValueError, TypeError) as e:
            raise JobRejected(f"observable {i}: {e}") from None
        if o.wires and max(o.wires) >= c.n_qubits:
            raise JobRejected(f"observable {i} acts on wire {max(o.wires)}, outside the circuit")
        obs.append(o)
    rdt = torch.float64 if parse_dtype(req.dtype) == torch.complex128 else torch.float32
    try:
        x, y = tensor_from_json(req.data_x, rdt), tensor_from_json(req.data_y, rdt)
    except ValueError as e:
        raise JobRejected(f"training data: {e}") from None
    if not bool(torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise JobRejected("training data hold NaN or infinite values")
    ((name, arr),) = c.inputs.items()
    if x.dim() != 2 or x.shape[1] != arr.size or not 0 < x.shape[0] <= max_rows:
        raise JobRejected(
            f"data_x must have shape (N, {arr.size}) with 1 <= N <= {max_rows},"
            f" got {tuple(x.shape)}"
        )
    y = y.reshape(-1, 1) if y.dim() == 1 else y
    if tuple(y.shape) != (x.shape[0], len(obs)):
        raise JobRejected(
            f"data_y must have shape ({x.shape[0]},) or ({x.shape[0]},"
            f" {len(obs)}), got {tuple(y.shape)}"
        )
    if x.numel() + y.numel() > limits.max_dataset_values:
        raise JobRejected(
            f"the training data hold {x.numel() + y.numel()} values; this server"
            f" accepts at most {limits.max_dataset_values}"
        )
    check_rows(
        min(req.batch_size, x.shape[0]),
        c.n_qubits,
        req.backend,
        limits,
        what="a mini-batch",
        options=req.options,
    )
    steps = req.epochs * -(-x.shape[0] // req.batch_size)
    check_steps(
        steps, limits, f"epochs x batches = {req.epochs} x {-(-x.shape[0] // req.batch_size)}"
    )
    n_weights = sum(a.size for a in c.weights.values())
    check_result(
        steps * 24 + n_weights * 11, limits, "the loss history and weights", base64=False
    )  # 8 bytes a weight, 4/3 of them in base64
    initial_weights(c, req.initial_weights, req.seed, rdt)  # checks names and shapes
    return PreparedTraining(req, c, tuple(obs), x, y)


def run_training(p: PreparedTraining, backend: Backend, ctx: JobContext) -> dict[str, Any]:
    """Train; progress ``{"iteration", "epoch", "loss", "elapsed_s"}`` after every step."""
    req = p.request
    cdt = parse_dtype(req.dtype)
    ((name, arr),) = p.circuit.inputs.items()
    params = {
        k: v.requires_grad_(True)
        for k, v in initial_weights(p.circuit, req.initial_weights, req.seed, p.x.dtype).items()
    }
    opt = DescentStep(
        params, req.optimizer if req.optimizer in ("adam", "sgd") else "adam", req.learning_rate
    )
    gen = torch.Generator().manual_seed(req.seed)
    history: list[float] = []
    epoch_losses: list[float] = []
    t0 = time.perf_counter()
    n = p.x.shape[0]
    for epoch in range(req.epochs):
        order = torch.randperm(n, generator=gen) if req.shuffle else torch.arange(n)
        total = 0.0
        for start in range(0, n, req.batch_size):
            idx = order[start : start + req.batch_size]
            xb = p.x[idx].reshape((len(idx), *arr.shape))
            pred = expval(
                p.circuit,
                list(p.observables),
                inputs={name: xb},
                weights=params,
                backend=backend,
                diff_method=req.diff_method,
                dtype=cdt,
            )
            loss = torch.mean((pred - p.y[idx]) ** 2)
            opt.step(torch.autograd.grad(loss, list(params.values())))
            history.append(float(loss.detach()))
            total += history[-1] * len(idx)
            ctx.report(
                {
                    "iteration": len(history),
                    "epoch": epoch + 1,
                    "loss": history[-1],
                    "elapsed_s": round(time.perf_counter() - t0, 4),
                }
            )
            reason = ctx.should_stop()
            if reason:
                raise JobStopped(reason)
        epoch_losses.append(total / n)
    return {
        "weights": {k: tensor_to_json(v.detach()) for k, v in params.items()},
        "history": history,
        "epoch_losses": epoch_losses,
        "iterations": len(history),
    }
