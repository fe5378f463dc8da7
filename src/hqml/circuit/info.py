"""What a circuit says about itself: gate counts, layers, depth, resources, a text drawing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .drawing import draw_text
from .dynamic import Conditional, Measure, is_dynamic_op
from .dynamic_builder import op_name
from .operation import Operation


class InfoMixin:
    """Counting and drawing methods of :class:`~hqml.circuit.circuit.Circuit` (which has
    ``n_qubits``, ``ops``, ``inputs``, ``weights``, ``cregs`` and the dynamic helpers)."""

    n_qubits: int
    ops: list[Operation]
    inputs: dict[str, Any]
    weights: dict[str, Any]
    cregs: dict[str, int]

    def count_ops(self) -> dict[str, int]:
        """Gate counts per kind, in order of first appearance."""
        return dict(Counter(op_name(op) for op in self.ops))

    @property
    def num_gates(self) -> int:
        return len(self.ops)

    @property
    def num_two_qubit_gates(self) -> int:
        return sum(1 for op in self.ops if not is_dynamic_op(op) and len(op.wires) == 2)

    @property
    def num_multi_qubit_gates(self) -> int:
        return sum(1 for op in self.ops if not is_dynamic_op(op) and len(op.wires) >= 2)

    def layers(self) -> list[list[Operation]]:
        """Greedy ASAP layering: each operation in the first layer after its wires are free."""
        front = [0] * self.n_qubits
        bits: dict[Any, int] = {}  # classical bits: a condition waits for the measurement
        layers: list[list[Operation]] = []
        for op in self.ops:
            read = op.condition.bits if isinstance(op, Conditional) else ()
            written = (op.bit,) if isinstance(op, Measure) else ()
            level = max([front[w] for w in op.wires] + [bits.get(b, 0) for b in read + written])
            if level == len(layers):
                layers.append([])
            layers[level].append(op)
            for w in op.wires:
                front[w] = level + 1
            for b in read + written:
                bits[b] = level + 1
        return layers

    def depth(self) -> int:
        """Circuit depth (longest path in layers of gates)."""
        return len(self.layers())

    def resources(self) -> dict[str, Any]:
        """A summary: qubits, gates (total, per kind, two-qubit), depth, parameters, inputs;
        for a dynamic circuit also classical bits, measurements, resets and conditionals."""
        out = {
            "n_qubits": self.n_qubits,
            "gates": self.num_gates,
            "gate_counts": self.count_ops(),
            "two_qubit_gates": self.num_two_qubit_gates,
            "multi_qubit_gates": self.num_multi_qubit_gates,
            "depth": self.depth(),
            "parameters": self.num_parameters,
            "inputs": self.num_inputs,
            "parametrized_gates": sum(1 for op in self.ops if op.params),
        }
        if self.cregs or self.is_dynamic:
            out.update(self._dynamic_resources())
        return out

    def draw(self, max_width: int = 120) -> str:
        """A text drawing, one line per wire."""
        return draw_text(self, max_width=max_width)
