"""``Quanvolution2d`` (Henderson et al. 2020): a small circuit applied to every image patch."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum, Z
from ..circuit.templates import hardware_efficient
from .layer import QuantumLayer, _check_int


def default_quanv_circuit(n_qubits: int, layers: int = 1, input_scale: float = 1.0) -> Circuit:
    """``RY(input_scale * x_i)`` on wire ``i``, then ``layers`` hardware-efficient layers
    (RY, RZ, CX). Henderson et al. encode pixels in ``[0, 1]`` as ``RY(pi x)``: use
    ``input_scale=pi`` for such images, ``1`` for images already scaled to ``[0, pi]``."""
    c = Circuit(n_qubits)
    x = c.input("x", n_qubits)
    for q in range(n_qubits):
        c.ry(input_scale * x[q] if input_scale != 1.0 else x[q], q)
    return c.compose(hardware_efficient(n_qubits, layers, weight_name="w"))


class Quanvolution2d(nn.Module):
    """A quantum convolution: ``(B, C, H, W) -> (B, n_observables, H', W')``.

    Every ``kernel_size x kernel_size`` patch (all channels) is flattened into the circuit's
    input vector (``C k^2`` features, one per qubit in the default circuit); the output channels
    are the measured observables (``Z`` of every wire by default). The patches of the whole
    batch run as one batched simulation call.

    Args:
        in_channels: image channels ``C``.
        kernel_size: patch side ``k``.
        stride: step between patches (default ``k``: non-overlapping).
        circuit: a circuit with one input of ``C k^2`` features (default:
            :func:`default_quanv_circuit`, pixels as RY angles times ``input_scale``).
        observables: measured observables (default ``Z`` on every wire).
        trainable: train the circuit's weights; ``False`` keeps the random circuit fixed.
        layers: layers of the default circuit.
        seed: seeds the random weights.
        input_scale: pixel-to-angle factor of the default circuit (``pi`` for pixels in ``[0, 1]``).
        padding: zero padding of the images.
    """

    def __init__(
        self,
        in_channels: int = 1,
        kernel_size: int = 2,
        stride: int | None = None,
        *,
        circuit: Circuit | None = None,
        observables: Sequence[PauliSum] | None = None,
        trainable: bool = False,
        layers: int = 1,
        seed: int = 0,
        padding: int = 0,
        backend: str = "statevector",
        diff_method: str = "best",
        init: str = "uniform",
        input_scale: float = math.pi,
    ):
        super().__init__()
        self.in_channels = _check_int(in_channels, "in_channels")
        self.kernel_size = _check_int(kernel_size, "kernel_size")
        self.stride = _check_int(stride if stride is not None else kernel_size, "stride")
        self.padding = _check_int(padding, "padding", 0)
        n_features = self.in_channels * self.kernel_size**2
        if circuit is None:
            circuit = default_quanv_circuit(n_features, layers, input_scale)
        if observables is None:
            observables = [Z(q) for q in range(circuit.n_qubits)]
        self.quantum = QuantumLayer(
            circuit, observables, backend=backend, diff_method=diff_method, init=init, seed=seed
        )
        if self.quantum.n_inputs != n_features:
            raise ValueError(
                f"Quanvolution2d: the circuit takes {self.quantum.n_inputs} inputs, but a"
                f" patch has {n_features} values ({in_channels} channel(s) x"
                f" {kernel_size}x{kernel_size})"
            )
        self.quantum.requires_grad_(trainable)

    @property
    def out_channels(self) -> int:
        return self.quantum.n_outputs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"Quanvolution2d expects images (B, {self.in_channels}, H, W), got"
                f" {tuple(images.shape)}"
            )
        b, _, h, w = images.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        patches = F.unfold(images, k, padding=p, stride=s)  # (B, C k^2, L)
        flat = patches.transpose(1, 2).reshape(b * ho * wo, -1)  # (B L, C k^2)
        out = self.quantum(flat)  # one simulation call
        return out.reshape(b, ho, wo, -1).permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, out_channels={self.out_channels},"
            f" kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        )
