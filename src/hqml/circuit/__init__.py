"""The circuit IR: expressions, gates, circuits, observables, OpenQASM I/O, drawing."""

from .circuit import Circuit, Operation
from .expr import Const, Expr, Symbol
from .expr_functions import (
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
from .gates import GATES, ControlledGate, Gate, UnitaryGate, controlled, get_gate
from .observables import I, PauliSum, X, Y, Z
from .symbol_array import SymbolArray

__all__ = [
    "Circuit",
    "Operation",
    "Const",
    "Expr",
    "Symbol",
    "SymbolArray",
    "Gate",
    "UnitaryGate",
    "ControlledGate",
    "GATES",
    "controlled",
    "get_gate",
    "PauliSum",
    "X",
    "Y",
    "Z",
    "I",
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
