"""``QuantumLayer``: a parametrised circuit as a PyTorch module."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..backends.base import Backend
from ..backends.mps import Truncation, worst
from ..circuit.circuit import Circuit
from ..circuit.gates import complex_dtype
from ..circuit.observables import PauliSum, as_observables
from ..execute import expval, probs
from .init import Initializer, get_initializer


class QuantumLayer(nn.Module):
    """A circuit as an ``nn.Module``: ``(B, n_inputs) -> (B, n_outputs)``.

    The circuit's weights become ``nn.Parameter`` s with the circuit's names (``layer.w``,
    state-dict key ``"w"``). The circuit has one input array (the features, flattened, fill it)
    or none (then the output does not depend on the values of ``x``, only its batch size).
    The outputs are the expectation values of ``observables`` or, with ``probs_wires``, the
    probabilities of the basis states of those wires (``2^k`` outputs).

    Parameters are float32 by default; ``layer.to(torch.float64)`` makes the simulation
    complex128. ``layer.to("cuda")`` moves the simulation to the GPU with them.

    Args:
        circuit: the circuit.
        observables: ``PauliSum`` s to measure (e.g. ``[hqml.Z(i) for i in range(n)]``).
        backend: backend name or instance.
        diff_method: "best", "backprop", "adjoint", "parameter-shift", "finite-diff" or "spsa".
        init: "uniform", "normal", "identity_block", "small_angle", "zeros" or
            ``init(name, shape, generator)``.
        seed: seeds the initialisation (and shot sampling).
        shots: ``None`` for exact values, or the number of shots per evaluation.
        probs_wires: measure probabilities of these wires instead of observables.
        noise_model: a ``hqml.noise.NoiseModel`` for noise-aware training (with a backend that
            simulates noise, e.g. ``"density_matrix"``).

    On an MPS backend (``"mps"``, an instance, or ``"auto"`` where it picks MPS) each output
    carries ``out.truncation``, and ``layer.worst_truncation`` keeps the report of the call
    that discarded most since the layer was made (``None`` until a call truncates or when no
    call ran on MPS).

    >>> import torch, hqml
    >>> from hqml.circuit.templates import angle_encoding, hardware_efficient
    >>> c = angle_encoding(2).compose(hardware_efficient(2, 1))
    >>> layer = QuantumLayer(c, [hqml.Z(0), hqml.Z(1)], seed=0)
    >>> layer(torch.zeros(5, 2)).shape, [n for n, _ in layer.named_parameters()]
    (torch.Size([5, 2]), ['w'])
    """

    worst_truncation: Truncation | None = None

    def __init__(
        self,
        circuit: Circuit,
        observables: PauliSum | Sequence[PauliSum] | None = None,
        backend: str | Backend = "statevector",
        diff_method: str = "best",
        init: str | Initializer = "uniform",
        seed: int | None = None,
        shots: int | None = None,
        probs_wires: Sequence[int] | None = None,
        noise_model: Any = None,
    ):
        super().__init__()
        if not isinstance(circuit, Circuit):
            raise TypeError(f"QuantumLayer needs an hqml Circuit, got {type(circuit).__name__}")
        if len(circuit.inputs) > 1:
            raise ValueError(
                f"QuantumLayer: the circuit has {len(circuit.inputs)} input arrays"
                f" {sorted(circuit.inputs)}; it needs one (or none): declare a single"
                " input vector and index into it"
            )
        if (observables is None) == (probs_wires is None):
            raise ValueError(
                "QuantumLayer: give observables=[...] or probs_wires=[...], exactly one"
            )
        self.circuit = circuit
        self.observables = as_observables(observables)[0] if observables is not None else None
        self.probs_wires = tuple(int(w) for w in probs_wires) if probs_wires is not None else None
        self.backend, self.diff_method, self.shots, self.seed = backend, diff_method, shots, seed
        self.noise_model = noise_model
        ((self.input_name, arr),) = circuit.inputs.items() if circuit.inputs else ((None, None),)
        self.input_shape = tuple(arr.shape) if arr is not None else None
        self.n_inputs = arr.size if arr is not None else 0
        self.n_outputs = (
            len(self.observables) if self.observables is not None else 2 ** len(self.probs_wires)
        )
        for name in circuit.weights:
            if hasattr(nn.Module, name) or name in (
                "circuit",
                "observables",
                "backend",
                "seed",
                "shots",
                "n_inputs",
                "n_outputs",
                "noise_model",
            ):
                raise ValueError(
                    f"QuantumLayer: weight name {name!r} clashes with a module"
                    " attribute; rename the weight"
                )
        initializer = get_initializer(init)
        gen = torch.Generator().manual_seed(
            seed if seed is not None else int(torch.randint(0, 2**62, (1,)).item())
        )
        for name, sym in circuit.weights.items():
            value = torch.as_tensor(initializer(name, tuple(sym.shape), gen))
            if tuple(value.shape) != tuple(sym.shape):
                raise ValueError(
                    f"init returned shape {tuple(value.shape)} for weight '{name}',"
                    f" expected {sym.shape}"
                )
            self.register_parameter(name, nn.Parameter(value.to(torch.get_default_dtype())))
        # follows .to(dtype/device) even when the circuit has no weights
        self.register_buffer("_probe", torch.zeros(0), persistent=False)
        self._generator: torch.Generator | None = None

    @property
    def weight_names(self) -> list[str]:
        return list(self.circuit.weights)

    def circuit_weights(self) -> dict[str, torch.Tensor]:
        """The current weights by circuit name."""
        return {name: getattr(self, name) for name in self.circuit.weights}

    def _sampling_generator(self) -> torch.Generator | None:
        # shots and SPSA draw random numbers: seeded layers draw them from their own generator
        if self.seed is None or (self.shots is None and self.diff_method != "spsa"):
            return None
        if self._generator is None:
            self._generator = torch.Generator(device=self._probe.device).manual_seed(self.seed)
        return self._generator

    def forward(self, x: torch.Tensor | None = None) -> torch.Tensor:
        """Evaluate on a batch ``x`` of shape ``(B, n_inputs)`` (or ``(B, *input_shape)``)."""
        dtype, device = self._probe.dtype, self._probe.device
        inputs, batch = None, None
        if x is not None:
            x = torch.as_tensor(x)
            if x.dim() == 0:
                raise ValueError("QuantumLayer: x must have a batch dimension, got a scalar")
            batch = x.shape[0]
            if self.input_name is not None:
                flat = x.reshape(batch, -1)
                if flat.shape[1] != self.n_inputs:
                    raise ValueError(
                        f"QuantumLayer: the circuit takes {self.n_inputs} input features"
                        f" ('{self.input_name}' of shape {self.input_shape}); got x of"
                        f" shape {tuple(x.shape)}"
                    )
                inputs = {
                    self.input_name: flat.to(device=device, dtype=dtype).reshape(
                        batch, *self.input_shape
                    )
                }
        elif self.input_name is not None:
            raise ValueError(
                f"QuantumLayer: the circuit needs input '{self.input_name}'; call layer(x)"
            )
        kwargs: dict[str, Any] = dict(
            inputs=inputs,
            weights=self.circuit_weights(),
            backend=self.backend,
            diff_method=self.diff_method,
            shots=self.shots,
            seed=self._sampling_generator(),
            device=device,
            noise_model=self.noise_model,
        )
        if not self.circuit.weights:
            kwargs["dtype"] = complex_dtype(dtype)
        if self.observables is not None:
            out = expval(self.circuit, self.observables, **kwargs)
        else:
            out = probs(self.circuit, self.probs_wires, **kwargs)
        report = getattr(out, "truncation", None)
        self.worst_truncation = worst(self.worst_truncation, report)
        if batch is not None and inputs is None:  # no inputs: same values for every row
            out = out.unsqueeze(0).expand(batch, *out.shape)
        result = out.to(dtype)
        if report is not None and result is not out:
            result.truncation = report  # type: ignore[attr-defined]
        return result

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_generator"] = None  # torch generators do not pickle; re-seeded on first use
        state["circuit"] = self.circuit.to_json()  # expressions pickle through their JSON form
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if isinstance(state.get("circuit"), str):
            state["circuit"] = Circuit.from_json(state["circuit"])
        self.__dict__.update(state)

    def extra_repr(self) -> str:
        what = (
            f"observables={len(self.observables)}"
            if self.observables is not None
            else f"probs_wires={list(self.probs_wires)}"
        )
        return (
            f"n_qubits={self.circuit.n_qubits}, n_inputs={self.n_inputs}, {what},"
            f" parameters={self.circuit.num_parameters}, backend={self.backend!r},"
            f" diff_method={self.diff_method!r}"
        )


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _check_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)
