"""Amplitude encoding by exact state preparation (Mottonen et al. 2004).

The amplitudes are the (normalised) input features; the circuit is made of ``RY``, ``RZ`` and
``CX`` gates only, so a bound copy exports to OpenQASM. Magnitudes are prepared by a tree of
uniformly controlled ``RY`` rotations, signs by a diagonal made of uniformly controlled ``RZ``
rotations (up to a global phase). A uniformly controlled rotation on ``k`` controls is
``2^k`` rotations and ``2^k`` CX gates (the Gray-code decomposition).

Gate angles are symbolic expressions of the inputs, so gradients flow to the features (useful
when a classical layer feeds the encoding). Tiny regularisers (``1e-30`` under square roots) keep
the expressions finite and differentiable at exact zeros without changing any value that
float32 or float64 can tell apart.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from ..circuit import Circuit
from ..expr import Const, Expr, as_expr
from ..expr_functions import arctan as _arctan
from ..expr_functions import sqrt
from ._common import check_count, check_qubits

_TINY = 1e-30


def _gray(i: int) -> int:
    return i ^ (i >> 1)


@functools.lru_cache(maxsize=32)
def _gray_signs(size: int) -> tuple[tuple[bool, ...], ...]:
    """``[i][j]``: whether target angle ``j`` enters gate ``i`` of a uniformly controlled
    rotation with a minus sign (``(-1)^{popcount(j & gray(i))}``)."""
    return tuple(
        tuple(bool(bin(j & _gray(i)).count("1") % 2) for j in range(size)) for i in range(size)
    )


def uniformly_controlled_rotation(
    circuit: Circuit, axis: str, angles: list[Any], controls: list[int], target: int
) -> None:
    """Append ``R_axis(angles[j])`` on ``target`` conditioned on the controls being in state ``j``.

    ``controls[0]`` is the most significant bit of ``j``. Uses ``2^k`` rotations and (for
    ``k > 0``) ``2^k`` CX gates: the rotation angles are ``M^{-1} angles`` with
    ``M[j, i] = (-1)^{popcount(j & gray(i))}``, and CX number ``i`` is controlled by the wire
    whose bit changes between ``gray(i)`` and ``gray(i + 1)``.
    """
    k = len(controls)
    size = 2**k
    if len(angles) != size:
        raise ValueError(f"uniformly controlled rotation: need {size} angles, got {len(angles)}")
    gate = {"y": "ry", "z": "rz"}[axis]
    exprs = [as_expr(a) for a in angles]
    for i, minus in enumerate(_gray_signs(size)):
        total: Expr = Const(0.0)
        for j, a in enumerate(exprs):
            total = total - a if minus[j] else total + a
        circuit.append(gate, [target], [total / size if size > 1 else total])
        if k:
            flipped = _gray(i) ^ _gray((i + 1) % size)
            bit = flipped.bit_length() - 1  # 0 = least significant = last control
            circuit.cx(controls[k - 1 - bit], target)


def amplitude_encoding(
    n_qubits: int, n_features: int | None = None, input_name: str = "x", signed: bool = True
) -> Circuit:
    """Prepare ``sum_i x_i |i> / ||x||`` (wire 0 is the most significant bit of ``i``).

    Features beyond ``n_features`` up to ``2^n_qubits`` are zero (padding). The vector is
    normalised by the circuit itself; the all-zero vector prepares ``|0...0>``.

    Args:
        n_qubits: number of qubits.
        n_features: length of the input vector, at most ``2^n_qubits`` (default: all).
        input_name: name of the input vector of shape ``(n_features,)``.
        signed: also prepare the signs of the features (adds the ``RZ`` diagonal); with
            ``False`` the circuit prepares ``|x_i|`` and is about half as long.

    Returns:
        A circuit of RY, RZ and CX gates equal to the target state up to a global phase.

    >>> amplitude_encoding(2, signed=False).count_ops()
    {'ry': 3, 'cx': 2}
    """
    n = check_qubits(n_qubits, "amplitude_encoding")
    dim = 2**n
    nf = dim if n_features is None else check_count(n_features, "n_features", "amplitude_encoding")
    if nf > dim:
        raise ValueError(
            f"amplitude_encoding: {nf} features do not fit in {n} qubits (at most"
            f" {dim}); use n_qubits >= {math.ceil(math.log2(nf))}"
        )
    c = Circuit(n)
    x = c.input(input_name, nf)
    amps: list[Expr] = [x[i] for i in range(nf)] + [Const(0.0)] * (dim - nf)
    squares = [a * a for a in amps]

    def block_norm(start: int, stop: int) -> Expr:
        total: Expr = Const(0.0)
        for s in squares[start:stop]:
            total = total + s
        return sqrt(total + _TINY)

    # magnitudes: level l rotates wire l, controlled on wires 0..l-1
    for level in range(n):
        block = dim >> level
        angles = []
        for j in range(2**level):
            start = j * block
            n0 = block_norm(start, start + block // 2)
            r = block_norm(start, start + block)
            # minus sqrt(tiny): exactly 0 for an all-zero half, so a zero block stays |0>
            n1 = block_norm(start + block // 2, start + block) - math.sqrt(_TINY)
            # 2 atan2(n1, n0) for n0, n1 >= 0, written with arctan only
            angles.append(4.0 * _arctan(n1 / (r + n0)))
        uniformly_controlled_rotation(c, "y", angles, list(range(level)), level)
    if signed:
        # phase pi on negative amplitudes; zero amplitudes get pi/2, which has no effect
        phases: list[Expr] = [(math.pi / 2) * (1.0 - a / sqrt(a * a + _TINY)) for a in amps]
        for level in range(n - 1, -1, -1):
            diffs = [phases[2 * j + 1] - phases[2 * j] for j in range(len(phases) // 2)]
            if any(not (isinstance(d, Const) and d.value == 0.0) for d in diffs):
                uniformly_controlled_rotation(c, "z", diffs, list(range(level)), level)
            phases = [(phases[2 * j] + phases[2 * j + 1]) * 0.5 for j in range(len(phases) // 2)]
    return c


def amplitude_encoding_angles(
    n_qubits: int, n_features: int | None = None, input_name: str = "angles", signed: bool = True
) -> Circuit:
    """:func:`amplitude_encoding`'s gates, each rotation angle a plain input column.

    The angles come from :func:`amplitude_angles` (a few vectorised torch operations per level,
    differentiable in the features), so a training step binds one column per gate instead of
    evaluating every angle's expression tree: much faster for batches and for
    ``2^n_qubits`` of 16 or more. Same gates, same wires, same values as
    :func:`amplitude_encoding` (to the last bits of float rounding).

    >>> amplitude_encoding_angles(2, signed=False).inputs["angles"].shape
    (3,)
    """
    ref = amplitude_encoding(n_qubits, n_features, signed=signed)
    c = Circuit(ref.n_qubits)
    angles = c.input(input_name, sum(1 for op in ref.ops if op.params))
    k = 0
    for op in ref.ops:
        if op.params:
            c.append(op.gate.name, list(op.wires), [angles[k]])
            k += 1
        else:
            c.append(op.gate.name, list(op.wires))
    return c


def _gray_mix(angles: torch.Tensor) -> torch.Tensor:
    """The uniformly controlled rotation's gate angles ``(B, 2^k)`` from its target angles."""
    size = angles.shape[-1]
    if size == 1:
        return angles
    signs = [[-1.0 if m else 1.0 for m in row] for row in _gray_signs(size)]
    mix = torch.tensor(signs, dtype=angles.dtype, device=angles.device) / size
    return angles @ mix.T


def amplitude_angles(x: torch.Tensor, n_qubits: int, signed: bool = True) -> torch.Tensor:
    """The input of :func:`amplitude_encoding_angles` for features ``x`` of shape
    ``(B, n_features)`` or ``(n_features,)``: ``(B, n_angles)`` (or ``(n_angles,)``).

    >>> a = amplitude_angles(torch.tensor([0.0, 1.0]), 1, signed=False)
    >>> round(float(a[0]), 6)  # RY(pi) takes |0> to |1>
    3.141593
    """
    single = x.dim() == 1
    x = x.unsqueeze(0) if single else x
    dim = 2**n_qubits
    if x.dim() != 2 or not 1 <= x.shape[1] <= dim:
        raise ValueError(
            f"amplitude_angles: features of shape {tuple(x.shape)} do not fit {n_qubits} qubits"
            f" (expected (batch, d) with 1 <= d <= {dim})"
        )
    amps = torch.cat([x, x.new_zeros(x.shape[0], dim - x.shape[1])], dim=1)
    squares = amps * amps
    parts = []
    for level in range(n_qubits):
        halves = squares.reshape(x.shape[0], 2**level, 2, dim >> (level + 1)).sum(-1)
        n0 = torch.sqrt(halves[..., 0] + _TINY)
        r = torch.sqrt(halves[..., 0] + halves[..., 1] + _TINY)
        n1 = torch.sqrt(halves[..., 1] + _TINY) - math.sqrt(_TINY)
        parts.append(_gray_mix(4.0 * torch.arctan(n1 / (r + n0))))
    if signed:
        phases = (math.pi / 2) * (1.0 - amps / torch.sqrt(amps * amps + _TINY))
        for _ in range(n_qubits):
            parts.append(_gray_mix(phases[:, 1::2] - phases[:, 0::2]))
            phases = (phases[:, 0::2] + phases[:, 1::2]) * 0.5
    out = torch.cat(parts, dim=1)
    return out[0] if single else out
