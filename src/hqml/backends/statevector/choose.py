"""Which engine runs a task: every threshold in one table, decided once per request.

The engines (each implements :class:`~.engine.Engine`), fastest first where they apply:

- ``interpreter`` (:mod:`.interpreter`): the whole circuit in one compiled C call, the batch as
  the vector dimension; few to a dozen qubits, gates on up to three wires;
- ``numpy`` (:mod:`.numpy_engine`): whole-register matrices in NumPy, a handful of operations
  whatever the depth; up to :attr:`.limits.Limits.numpy_max_qubits` qubits, for the circuits the
  interpreter cannot run;
- ``dense``, ``layered`` and ``native-layers`` (:mod:`.torch_plan`): the torch plan, whose
  single-qubit layers become one dense GEMM on few qubits, chunks of neighbouring wires, or the
  compiled layer kernels of :mod:`hqml.sim.native` on many qubits on the CPU. The torch plan is
  the reference, the only engine autograd records (backprop) and the one on CUDA.

Every threshold lives in one table, :data:`.limits.LIMITS`, read at call time (tests replace
it with ``dataclasses.replace``).
"""

from __future__ import annotations

import os

import torch

from ...circuit.dynamic import require_static
from ...sim import native
from ..base import Expval, Probs, State, Task
from . import limits
from .engine import Engine, exact_on_cpu
from .interpreter import INTERPRETER
from .interpreter_program import NativeProgram, compile_program
from .numpy_engine import NUMPY, program
from .torch_plan import DENSE, LAYERED, NATIVE_LAYERS

_COMPLEX = (torch.complex64, torch.complex128)


def choose_engine(task: Task) -> Engine:
    """The engine for ``task``, decided once per request (memoised in ``task.memo``; the
    measurement is checked again on every call from ``numpy_max_qubits + 1`` qubits, since an
    observable's terms can be edited in place)."""
    memo = task.memo
    engine = memo.get("engine")
    if engine is None:
        require_static(task.circuit, "the statevector engines")
        engine = memo["engine"] = _choose(task)
    if not engine.autograd and task.circuit.n_qubits > limits.LIMITS.numpy_max_qubits:
        if not diagonal_measurement(task.measurement):
            return plan_engine(task)
    return engine


def _choose(task: Task) -> Engine:
    # what the interpreter and NumPy engines support (their supports()), checked before any
    # program is compiled: the torch plan takes everything else
    if os.environ.get("HQML_SMALL", "1") != "0" and exact_on_cpu(task):
        if interpreter_program(task) is not None:  # suits the table and compiles
            return INTERPRETER
        if _numpy_fits(task):
            return NUMPY
    return plan_engine(task)


def _numpy_fits(task: Task) -> bool:
    n, batch = task.circuit.n_qubits, task.theta.shape[0]
    if n > limits.LIMITS.numpy_max_qubits:
        return False
    per_sample = program(task.circuit, task.varying, batch > 1).per_sample
    return batch * per_sample * 4**n <= limits.LIMITS.numpy_max_elements


def plan_engine(task: Task) -> Engine:
    """The torch plan's engine for ``task``'s register, device and dtype."""
    n = task.circuit.n_qubits
    if n <= limits.LIMITS.dense_max_qubits:
        return DENSE
    if (
        n >= limits.LIMITS.native_layers_min_qubits
        and task.theta.device.type == "cpu"
        and task.dtype in _COMPLEX
        and native.available()
        and native.beats_torch("layer", task.dtype)  # measured faster than torch on this CPU
    ):
        return NATIVE_LAYERS
    return LAYERED


def diagonal_measurement(m: object) -> bool:
    """Whether the interpreter measures ``m`` itself: the state, or at most
    :attr:`.limits.Limits.diag_max_terms` diagonal columns (Z-only observables, probabilities)."""
    if isinstance(m, State):
        return True
    if isinstance(m, Probs):
        return 2 ** len(m.wires) <= limits.LIMITS.diag_max_terms
    assert isinstance(m, Expval)
    return len(m.observables) <= limits.LIMITS.diag_max_terms and all(
        p == "Z" for o in m.observables for word in o.terms for _, p in word
    )


def interpreter_program(task: Task) -> NativeProgram | None:
    """The interpreter's program for ``task``'s circuit, where the table gives it the task."""
    memo = task.memo
    if "native" not in memo:
        ok = (
            interpreter_suits(task.circuit.n_qubits, task.theta.shape[0])
            and native.interpreter_usable()
        )  # loads, and measured faster than torch here
        memo["native"] = compile_program(task.circuit) if ok else None
    return memo["native"]


def interpreter_suits(n: int, batch: int) -> bool:
    """Whether an ``n``-qubit circuit on ``batch`` samples is faster in the interpreter."""
    table = limits.LIMITS
    return n <= table.interpreter_always_qubits or (
        n <= table.interpreter_max_qubits and batch >= table.interpreter_min_batch
    )


def compiled_adjoint(task: Task) -> bool:
    """Whether a compiled engine (the interpreter or the layer kernels) or the NumPy engine runs
    ``task``'s adjoint: as fast as backprop or faster, holding two states."""
    return not choose_engine(task).autograd or plan_engine(task) is NATIVE_LAYERS
