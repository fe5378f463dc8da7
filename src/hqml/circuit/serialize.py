"""JSON round trip of circuits (symbols kept): the exchange format of the job service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .dynamic import Bit, Condition, Conditional, Measure, Reset
from .expr_functions import expr_from_json
from .gates import gate_from_json

FORMAT = "hqml.circuit/1"


def _op_to_dict(op: Any) -> dict[str, Any]:
    if isinstance(op, Measure):
        return {"measure": op.wire, "bit": [op.bit.register, op.bit.index]}
    if isinstance(op, Reset):
        return {"reset": op.wire}
    if isinstance(op, Conditional):
        cond = op.condition
        return {
            "if": {
                "bits": [[b.register, b.index] for b in cond.bits],
                "value": cond.value,
                "equal": cond.equal,
                "register": cond.register,
            },
            "body": [_op_to_dict(o) for o in op.body],
        }
    return {
        "gate": op.gate.to_json(),
        "wires": list(op.wires),
        "params": [p.to_json() for p in op.params],
    }


def circuit_to_dict(circuit: Any) -> dict[str, Any]:
    out = {
        "format": FORMAT,
        "n_qubits": circuit.n_qubits,
        "inputs": {k: list(v.shape) for k, v in circuit.inputs.items()},
        "weights": {k: list(v.shape) for k, v in circuit.weights.items()},
        "ops": [_op_to_dict(op) for op in circuit.ops],
    }
    if circuit.cregs:
        out["cregs"] = dict(circuit.cregs)
    return out


def _append(c: Any, op: Mapping[str, Any]) -> None:
    if "measure" in op:
        c.measure(op["measure"], Bit(*op["bit"]))
    elif "reset" in op:
        c.reset(op["reset"])
    elif "if" in op:
        cond = op["if"]
        condition = Condition(
            tuple(Bit(r, i) for r, i in cond["bits"]),
            int(cond["value"]),
            bool(cond.get("equal", True)),
            cond.get("register"),
        )
        c.cond(condition, lambda: [_append(c, o) for o in op["body"]])
    else:
        c.append(
            gate_from_json(op["gate"]),
            op["wires"],
            [expr_from_json(p) for p in op.get("params", [])],
        )


def circuit_to_json(circuit: Any, indent: int | None = None) -> str:
    return json.dumps(circuit_to_dict(circuit), indent=indent)


def circuit_from_json(data: str | bytes | Mapping[str, Any], cls: Any) -> Any:
    """Read a circuit of class ``cls`` from :func:`circuit_to_json` text (or the parsed dict);
    ``Circuit.from_json`` is the way to call it.

    Raises:
        ValueError: naming what is wrong with the document.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise ValueError(f"circuit JSON is not valid JSON: {e}") from None
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ValueError(f"not an hqml circuit document (expected format {FORMAT!r})")
    try:
        c = cls(int(data["n_qubits"]))
        for name, shape in data.get("inputs", {}).items():
            c.input(name, tuple(shape))
        for name, shape in data.get("weights", {}).items():
            c.weight(name, tuple(shape))
        for name, size in data.get("cregs", {}).items():
            c.creg(name, int(size))
        for i, op in enumerate(data["ops"]):
            try:
                _append(c, op)
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"circuit JSON: operation {i}: {e}") from None
    except KeyError as e:
        raise ValueError(f"circuit JSON: missing field {e}") from None
    return c
