"""The statevector engines' cost model: every size threshold in one table.

Read by :mod:`.choose` (which engine), :mod:`.plan` and :mod:`.materialize` (how the torch plan
lays out its steps) at call time, so a test or a CPU-specific tuning replaces :data:`LIMITS` in
one place. The figures were measured on W1 (L = 4, 2 threads) on an AMD EPYC with AVX-512.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The cost model: where each engine is the fastest."""

    # the interpreter always up to here (8 qubits: 0.8 ms a step against 3.6 ms for the layer
    # kernels at B = 1) and up to ``interpreter_max_qubits`` with ``interpreter_min_batch``
    # samples (11 qubits, B = 16: 4.0 ms against 5.5; 12 qubits, B = 64: 17 against 22); beyond,
    # the layer kernels' cache blocking wins (14 qubits: 97 ms against 79)
    interpreter_always_qubits: int = 10
    interpreter_max_qubits: int = 12
    interpreter_min_batch: int = 4
    # measured columns the interpreter reduces itself (Z words, probabilities); from
    # ``numpy_max_qubits + 1`` qubits other measurements go to the torch plan, where a dense
    # ``2^n x 2^n`` observable would cost more than the circuit
    diag_max_terms: int = 64
    # NumPy whole-register matrices: registers and per-sample matrix elements held at once
    numpy_max_qubits: int = 5
    numpy_max_elements: int = 2**23
    # torch plan: full-register dense layers up to here (one GEMM beats many tiny kernels)
    dense_max_qubits: int = 5
    dense_max_batched_elements: int = 2**22
    # whole-register gathers for CNOT/SWAP ladders up to here (the int64 index grows as 2^n)
    perm_max_qubits: int = 24
    chunk: int = 4  # wires per fused chunk on many qubits
    # consecutive diagonal-generator gates (RZ, RZZ, ...) applied as one phase from here: two
    # small matrix products and one pass, where each gate alone is a pass (hqml.sim.zwords)
    phase_min_gates: int = 4
    # the compiled layer kernels from here (CPU, complex64/128, library loaded)
    native_layers_min_qubits: int = 6
    # memory backprop may use for its saved states (about one per fused step); "best" picks
    # adjoint beyond, and always where an interpreter or the layer kernels run the adjoint
    backprop_budget_bytes: int = 2**30


LIMITS = Limits()
