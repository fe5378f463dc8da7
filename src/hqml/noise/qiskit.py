"""Conversion from a Qiskit Aer ``NoiseModel`` (needs the qiskit extra)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .channels import Channel, ReadoutError


def _require_qiskit() -> Any:
    try:
        from qiskit.quantum_info import Kraus
    except ModuleNotFoundError:
        raise ImportError(
            "converting Qiskit noise models needs qiskit and qiskit-aer: pip install 'hqml[qiskit]'"
        ) from None
    return Kraus


def _reverse_qubits(m: np.ndarray, k: int) -> np.ndarray:
    """Reverse qubit order: Qiskit's first qubit is least significant, hqml's most."""
    t = m.reshape((2,) * (2 * k))
    order = list(range(k - 1, -1, -1))
    return t.transpose(order + [k + i for i in order]).reshape(2**k, 2**k)


def channel_from_qiskit(error: Any) -> Channel:
    """A :class:`Channel` from a Qiskit ``QuantumError`` (its qubit 0 becomes the first wire)."""
    kraus_cls = _require_qiskit()
    k = int(error.num_qubits)
    ops = kraus_cls(error.to_quantumchannel()).data
    return Channel([_reverse_qubits(np.asarray(m), k) for m in ops], f"qiskit({k}q)").simplified()


def from_qiskit(noise_model: Any, model_cls: Any) -> Any:
    """Convert an Aer ``NoiseModel`` with quantum errors after gates and one-qubit readout errors.

    Gate names are kept (Qiskit's ``u3``/``u1`` map to hqml's ``u``/``p``); errors added for all
    qubits become rules for any wires, errors for given qubits rules for those wires; the latter
    replace the former on their wires, as in Aer. ``model_cls`` is the ``NoiseModel`` class to
    fill (``NoiseModel.from_qiskit`` passes itself: this module sits below it).

    Raises:
        ValueError: for correlated (multi-qubit) readout errors or non-local errors.
    """
    _require_qiskit()
    if not all(
        hasattr(noise_model, a) for a in ("_default_quantum_errors", "_local_quantum_errors")
    ):
        raise TypeError(f"expected a qiskit_aer.noise.NoiseModel, got {type(noise_model).__name__}")
    nm = model_cls()
    for gate, error in noise_model._default_quantum_errors.items():
        nm.add_channel(channel_from_qiskit(error), gates=[gate])
    for gate, per_qubits in noise_model._local_quantum_errors.items():
        for qubits, error in per_qubits.items():
            nm.add_channel(channel_from_qiskit(error), gates=[gate], wires=tuple(qubits))
    if getattr(noise_model, "_nonlocal_quantum_errors", None):
        raise ValueError(
            "non-local Qiskit quantum errors (on other qubits than the gate's) are not"
            " supported; attach errors to the gate's own qubits"
        )
    default_ro = noise_model._default_readout_error
    if default_ro is not None:
        nm.add_readout_error(_readout(default_ro))
    for qubits, ro in noise_model._local_readout_errors.items():
        nm.add_readout_error(_readout(ro), wires=list(qubits))
    return nm


def _readout(error: Any) -> ReadoutError:
    probs = np.asarray(error.probabilities, dtype=float)
    if probs.shape != (2, 2):
        raise ValueError(
            "only one-qubit (uncorrelated) Qiskit readout errors can be converted; got"
            f" one on {error.number_of_qubits} qubits"
        )
    return ReadoutError(probs)
