"""hqml: hybrid quantum-classical machine learning.

>>> import torch, hqml
>>> c = hqml.Circuit(2)
>>> x = c.input("x", 2)
>>> _ = c.ry(x[0], 0).ry(x[1], 1).cnot(0, 1)
>>> hqml.expval(c, hqml.Z(1), inputs={"x": torch.zeros(3, 2)}).shape
torch.Size([3])
"""

from importlib import import_module
from typing import Any

from .backends import Backend, available_backends, get_backend, register_backend
from .circuit import (
    Circuit,
    I,
    PauliSum,
    X,
    Y,
    Z,
    arccos,
    arcsin,
    arctan,
    cos,
    cosh,
    exp,
    log,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
)
from .derived import counts, overlaps
from .execute import expval, probs, sample, state

__version__ = "0.1.0"

_LAZY = {
    "qasm": "hqml.circuit.qasm",
    "testing": "hqml.testing",
    "nn": "hqml.nn",
    "kernels": "hqml.kernels",
    "algorithms": "hqml.algorithms",
    "optimize": "hqml.optimize",
    "datasets": "hqml.datasets",
    "backends": "hqml.backends",
    "sim": "hqml.sim",
    "grad": "hqml.grad",
    "chem": "hqml.chem",
    "noise": "hqml.noise",
    "mitigation": "hqml.mitigation",
    "runtime": "hqml.runtime",
    "tracking": "hqml.tracking",
    "trainability": "hqml.trainability",
    "accounting": "hqml.accounting",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(_LAZY[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'hqml' has no attribute {name!r}")


__all__ = [
    "Circuit",
    "PauliSum",
    "X",
    "Y",
    "Z",
    "I",
    "expval",
    "probs",
    "sample",
    "state",
    "counts",
    "overlaps",
    "Backend",
    "get_backend",
    "register_backend",
    "available_backends",
    "sin",
    "cos",
    "tan",
    "exp",
    "log",
    "sqrt",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
]
