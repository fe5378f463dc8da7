"""JSON round trip of circuits (symbols kept): the exchange format of the job service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .expr import expr_from_json
from .gates import gate_from_json

FORMAT = "hqml.circuit/1"


def circuit_to_dict(circuit: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "n_qubits": circuit.n_qubits,
        "inputs": {k: list(v.shape) for k, v in circuit.inputs.items()},
        "weights": {k: list(v.shape) for k, v in circuit.weights.items()},
        "ops": [
            {
                "gate": op.gate.to_json(),
                "wires": list(op.wires),
                "params": [p.to_json() for p in op.params],
            }
            for op in circuit.ops
        ],
    }


def circuit_to_json(circuit: Any, indent: int | None = None) -> str:
    return json.dumps(circuit_to_dict(circuit), indent=indent)


def circuit_from_json(data: str | bytes | Mapping[str, Any]) -> Any:
    """Read a circuit from :func:`circuit_to_json` text (or the parsed dict).

    Raises:
        ValueError: naming what is wrong with the document.
    """
    from .circuit import Circuit

    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise ValueError(f"circuit JSON is not valid JSON: {e}") from None
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ValueError(f"not an hqml circuit document (expected format {FORMAT!r})")
    try:
        c = Circuit(int(data["n_qubits"]))
        for name, shape in data.get("inputs", {}).items():
            c.input(name, tuple(shape))
        for name, shape in data.get("weights", {}).items():
            c.weight(name, tuple(shape))
        for i, op in enumerate(data["ops"]):
            try:
                c.append(
                    gate_from_json(op["gate"]),
                    op["wires"],
                    [expr_from_json(p) for p in op.get("params", [])],
                )
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"circuit JSON: operation {i}: {e}") from None
    except KeyError as e:
        raise ValueError(f"circuit JSON: missing field {e}") from None
    return c
