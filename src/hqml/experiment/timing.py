"""Where an epoch's time goes: quantum simulation, classical compute, data movement.

:class:`QuantumTimer` hooks every :class:`~hqml.nn.QuantumLayer` of a model. Forward time is the
span of each quantum forward call. Backward time runs from the moment the gradient reaches the
layer's output to the moment the layer's last gradient (its weights' or its input's) is ready,
recorded with identity autograd functions and gradient-accumulation hooks. On a GPU each time
stamp first waits for the queued kernels (``torch.cuda.synchronize``): a launch is not the work.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from ..backends.base import Backend, Task
from ..nn.layer import QuantumLayer
from ..nn.patterns import AmplitudeEncoded
from .device import model_device, synchronize


class _Stamp(torch.autograd.Function):
    """Identity whose backward calls ``callback()`` when the gradient passes."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, callback: Any) -> torch.Tensor:  # type: ignore[override]
        ctx.callback = callback
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        ctx.callback()
        return grad, None


class QuantumTimer:
    """Accumulates seconds spent inside quantum layers (forward and backward)."""

    def __init__(self, model: nn.Module):
        self.seconds = 0.0
        self._handles: list[Any] = []
        self._start: dict[int, float] = {}
        self._bwd_start: float | None = None
        self._bwd_end = 0.0
        self._device = model_device(model)
        # the amplitude encoding's angles are data encoding: time the wrapper, not its layer
        wrapped = {id(m.quantum) for m in model.modules() if isinstance(m, AmplitudeEncoded)}
        for layer in model.modules():
            if isinstance(layer, AmplitudeEncoded) or (
                isinstance(layer, QuantumLayer) and id(layer) not in wrapped
            ):
                self._handles.append(layer.register_forward_pre_hook(self._pre))
                self._handles.append(layer.register_forward_hook(self._post))
                for p in layer.parameters():
                    if p.requires_grad:
                        self._handles.append(p.register_post_accumulate_grad_hook(self._grad_done))

    def _now(self) -> float:
        synchronize(self._device)
        return time.perf_counter()

    def _pre(self, module: nn.Module, args: tuple) -> tuple | None:
        self._start[id(module)] = self._now()
        if args and isinstance(args[0], torch.Tensor) and args[0].requires_grad:
            return (_Stamp.apply(args[0], self._grad_done),) + tuple(args[1:])
        return None

    def _post(self, module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
        self.seconds += self._now() - self._start.pop(id(module))
        if out.requires_grad:
            return _Stamp.apply(out, self._grad_arrives)
        return out

    def _grad_arrives(self) -> None:
        self._bwd_start = self._now()

    def _grad_done(self, *_: Any) -> None:
        self._bwd_end = self._now()

    def close_backward(self) -> None:
        """Call after ``loss.backward()``: adds the quantum part of that backward pass."""
        if self._bwd_start is not None and self._bwd_end > self._bwd_start:
            self.seconds += self._bwd_end - self._bwd_start
        self._bwd_start = None

    def pop(self) -> float:
        s, self.seconds = self.seconds, 0.0
        return s

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()


class _TimedRun:
    """A backend's prepared call (``forward``/``sweep``/``grads``), its seconds counted."""

    def __init__(self, call: Any, owner: TimedBackend):
        self.call, self.owner = call, owner

    def _timed(self, fn: Any, *args: Any) -> Any:
        synchronize(self.owner.device)
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            synchronize(self.owner.device)
            self.owner.seconds += time.perf_counter() - t0

    def forward(self, tensors: Any) -> Any:
        return self._timed(self.call.forward, tensors)

    def sweep(self, record: Any, cotangent: torch.Tensor) -> Any:
        return self._timed(self.call.sweep, record, cotangent)

    def grads(self, swept: Any, needed: Any) -> Any:
        return self._timed(self.call.grads, swept, needed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.call, name)


class TimedBackend(Backend):
    """A backend that counts the seconds spent inside another one (every hook, prepared calls
    included): time in a quantum layer but outside its backend is the data's encoding (inputs
    checked and bound to gate angles, the task built). ``wire_seconds`` is the time the inner
    backend reports on the wire (process-pool and Ray executors: ``stats["wire_s"]``).
    ``device``: the model's; on a GPU each call waits for its kernels before it is timed."""

    def __init__(self, inner: Backend, device: torch.device | None = None):
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.seconds = 0.0
        self.device = device if device is not None else torch.device("cpu")

    def _timed(self, fn: Any, *args: Any) -> Any:
        synchronize(self.device)
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            synchronize(self.device)
            self.seconds += time.perf_counter() - t0

    @property
    def wire_seconds(self) -> float:
        return float(getattr(self.inner, "stats", {}).get("wire_s", 0.0))

    @property
    def unsplit_seconds(self) -> float:
        """Seconds of remote calls whose server gave no job times: their time on the wire
        could not be told from the server's (``stats["unsplit_s"]``)."""
        return float(getattr(self.inner, "stats", {}).get("unsplit_s", 0.0))

    def execute(self, tasks: Any) -> list[torch.Tensor]:
        return self._timed(self.inner.execute, tasks)

    def rows_per_call(self, task: Any) -> int | None:
        return self.inner.rows_per_call(task)

    def prepare(self, *args: Any) -> Any:
        call = self._timed(self.inner.prepare, *args)
        return None if call is None else _TimedRun(call, self)

    def prefers_backprop(self, task: Task) -> bool:
        return self.inner.prefers_backprop(task)

    def execute_for_vjp(self, task: Task) -> tuple[torch.Tensor, Any]:
        return self._timed(self.inner.execute_for_vjp, task)

    def finish_vjp(self, saved: Any, cotangent: torch.Tensor) -> torch.Tensor:
        return self._timed(self.inner.finish_vjp, saved, cotangent)

    def vjp(self, task: Task, cotangent: torch.Tensor) -> torch.Tensor:
        return self._timed(self.inner.vjp, task, cotangent)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()
