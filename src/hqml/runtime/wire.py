"""The wire format shared by executors, the job service and its client.

A :class:`~hqml.backends.base.Task` travels as a plain dict: the circuit as hqml JSON, the
measurement by kind, ``theta`` as a tensor. :func:`to_jsonable` turns the tensors of such a dict
into exact base64 documents (bit for bit, so remote results equal local ones) and
:func:`from_jsonable` reads them back.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..backends.base import Expval, Measurement, Probs, Sample, State, Task
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum

TENSOR_FORMAT = "hqml.tensor/1"
_DTYPES = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
        torch.int64,
        torch.int32,
        torch.bool,
    )
}


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def parse_dtype(name: str) -> torch.dtype:
    """``"complex64"`` -> ``torch.complex64``; raises ValueError naming the allowed names."""
    try:
        return _DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; use one of {', '.join(_DTYPES)}") from None


def tensor_to_json(t: torch.Tensor) -> dict[str, Any]:
    """An exact JSON document of a tensor (raw little-endian bytes in base64)."""
    t = t.detach().cpu().contiguous()
    data = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
    return {
        "format": TENSOR_FORMAT,
        "dtype": dtype_name(t.dtype),
        "shape": list(t.shape),
        "data": base64.b64encode(data).decode("ascii"),
    }


def tensor_from_json(doc: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Read :func:`tensor_to_json` output, or a nested list of numbers (then cast to ``dtype``).

    Raises:
        ValueError: for a malformed document.
    """
    if isinstance(doc, Mapping) and doc.get("format") == TENSOR_FORMAT:
        dt = parse_dtype(str(doc.get("dtype"))[:40])
        shape = doc.get("shape", ())
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) > 32
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in shape)
        ):
            raise ValueError(
                "bad tensor document: 'shape' must be a list of at most 32"
                f" non-negative integers, got {str(shape)[:100]}"
            )
        np_dt = torch.empty(0, dtype=dt).numpy().dtype.newbyteorder("<")
        try:
            raw = base64.b64decode(doc["data"], validate=True)
            if len(raw) != np_dt.itemsize * math.prod(shape):
                raise ValueError(f"{len(raw)} bytes of data do not fill shape {tuple(shape)}")
            arr = np.frombuffer(raw, dtype=np_dt).reshape(tuple(shape))
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"bad tensor document: {str(e)[:200]}") from None
        out = torch.from_numpy(arr.astype(np_dt.newbyteorder("="), copy=True))
        return out if dtype is None else out.to(dtype)
    try:
        return torch.tensor(doc, dtype=dtype if dtype is not None else torch.float64)
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise ValueError(
            f"expected a tensor document or a nested list of numbers: {str(e)[:200]}"
        ) from None


def to_jsonable(obj: Any) -> Any:
    """Replace every tensor inside dicts/lists by its exact JSON document."""
    if isinstance(obj, torch.Tensor):
        return tensor_to_json(obj)
    if isinstance(obj, Mapping):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def from_jsonable(obj: Any) -> Any:
    """Inverse of :func:`to_jsonable`."""
    if isinstance(obj, Mapping):
        if obj.get("format") == TENSOR_FORMAT:
            return tensor_from_json(obj)
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    return obj


def measurement_to_dict(m: Measurement) -> dict[str, Any]:
    if isinstance(m, Expval):
        return {"type": "expval", "observables": [o.to_json() for o in m.observables]}
    if isinstance(m, Probs):
        return {"type": "probs", "wires": list(m.wires)}
    if isinstance(m, Sample):
        return {"type": "sample", "wires": list(m.wires)}
    if isinstance(m, State):
        return {"type": "state"}
    raise TypeError(f"unknown measurement {m!r}")


def measurement_from_dict(d: Mapping[str, Any]) -> Measurement:
    """Raises ValueError naming the problem."""
    kind = d.get("type")
    if kind == "expval":
        obs = d.get("observables")
        if not isinstance(obs, list) or not obs:
            raise ValueError("an expval measurement needs a non-empty list of observables")
        return Expval(tuple(PauliSum.from_json(o) for o in obs))
    if kind in ("probs", "sample"):
        wires = tuple(int(w) for w in d.get("wires", ()))
        return Probs(wires) if kind == "probs" else Sample(wires)
    if kind == "state":
        return State()
    raise ValueError(f"unknown measurement type {kind!r}; use expval, probs, sample or state")


def seed_of(task: Task) -> int | None:
    """A seed for remote sampling, drawn from the task's generator (None without shots)."""
    if task.shots is None:
        return None
    g = task.generator
    return int(torch.randint(0, 2**62, (1,), generator=g).item())


def task_to_dict(task: Task, circuit_json: str | None = None) -> dict[str, Any]:
    """A picklable / JSON-able description of ``task`` (theta stays a tensor).

    Options that are not plain JSON values (e.g. a noise model object) are refused.
    """
    for k, v in task.options.items():
        if v is not None and not isinstance(v, (str, int, float, bool, list, dict)):
            raise ValueError(
                f"task option {k!r} ({type(v).__name__}) cannot be sent to another"
                " process; run it in-process"
            )
    return {
        "circuit": circuit_json if circuit_json is not None else task.circuit.to_json(),
        "theta": task.theta.detach(),
        "measurement": measurement_to_dict(task.measurement),
        "dtype": dtype_name(task.dtype),
        "shots": task.shots,
        "seed": seed_of(task),
        "varying": list(task.varying) if task.varying is not None else None,
        "options": {k: v for k, v in task.options.items() if v is not None},
    }


class CircuitCache:
    """Parsed circuits by the hash of their JSON, so a warm worker parses each circuit once."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: dict[str, Circuit] = {}

    def get(self, text: str) -> Circuit:
        key = hashlib.sha256(text.encode()).hexdigest()
        c = self._items.get(key)
        if c is None:
            c = Circuit.from_json(text)
            if len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = c
        return c


def task_from_dict(d: Mapping[str, Any], cache: CircuitCache | None = None) -> Task:
    """Inverse of :func:`task_to_dict` (the circuit parsed through ``cache`` when given)."""
    circuit = cache.get(d["circuit"]) if cache is not None else Circuit.from_json(d["circuit"])
    theta = d["theta"]
    if not isinstance(theta, torch.Tensor):
        theta = tensor_from_json(theta)
    seed = d.get("seed")
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    varying = tuple(bool(v) for v in d["varying"]) if d.get("varying") is not None else None
    return Task(
        circuit,
        theta,
        measurement_from_dict(d["measurement"]),
        parse_dtype(d["dtype"]),
        d.get("shots"),
        gen,
        varying,
        dict(d.get("options") or {}),
    )
