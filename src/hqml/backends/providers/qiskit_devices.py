"""Qiskit devices by name: Aer, the IBM fake devices, IBM Quantum devices (saved account)."""

from __future__ import annotations

import functools
import os
from typing import Any

from .errors import CredentialsMissing


def require_qiskit() -> None:
    try:
        import qiskit  # noqa: F401
        import qiskit_aer  # noqa: F401
        import qiskit_ibm_runtime  # noqa: F401
    except ModuleNotFoundError as e:
        raise ImportError(
            f"qiskit backends need {e.name!r}: pip install 'hqml[hardware]'"
        ) from None


@functools.cache
def fake_device(name: str) -> Any:
    from qiskit_ibm_runtime import fake_provider

    stem = "".join(part.capitalize() for part in name.split("_")[1:])
    for cls_name in (f"Fake{stem}V2", f"Fake{stem}"):
        cls = getattr(fake_provider, cls_name, None)
        if cls is not None:
            return cls()
    known = sorted(
        "fake_" + n[4:].removesuffix("V2").lower()
        for n in dir(fake_provider)
        if n.startswith("Fake") and not n.startswith(("FakeProvider", "FakeFractional"))
    )
    raise ValueError(f"unknown IBM fake device {name!r}; known: {', '.join(known)}")


@functools.cache
def aer_device() -> Any:
    from qiskit_aer import AerSimulator

    return AerSimulator()


# Noisy circuits of at least this many active qubits that Aer would simulate as one statevector
# trajectory per shot (its automatic method when shots <= 2^active qubits) run on Aer's
# matrix-product-state method: the same trajectories (the same samples for the same seed),
# several times faster on a device's shallow, routed circuits (W10 at n = 8: 13 active qubits).
MPS_FROM_QUBITS = 10


def active_qubits(qc: Any) -> int:
    """How many qubits of a transpiled circuit an instruction touches (what Aer simulates)."""
    return len({q for inst in qc.data if inst.operation.name != "barrier" for q in inst.qubits})


def trajectory_device(
    device: str, options: dict[str, Any], circuits: list[Any], shots: int | None
) -> Any:
    """hqml's instance of the fake ``device`` on Aer's ``"matrix_product_state"`` method for a
    job whose widest circuit Aer would simulate as one statevector trajectory per shot on
    ``MPS_FROM_QUBITS`` or more qubits; ``None`` where Aer's automatic choice stays (the
    density matrix when shots > 2^active qubits), for other devices and exact values, and
    when ``options`` (``simulator_options``) name a method."""
    if not device.startswith("fake_") or shots is None or "method" in options:
        return None
    active = max(active_qubits(c) for c in circuits)
    if active < MPS_FROM_QUBITS or shots > 2**active:
        return None
    opts = {**options, "method": "matrix_product_state"}
    return simulator_device(device, tuple(sorted(opts.items())))


def simulator_settings(name: str, local: bool, given: dict[str, Any] | None) -> dict[str, Any]:
    """The Aer options hqml sets on a local device ``name`` (``"qiskit:<device>"``): ``given``,
    checked; a device that is not simulated here takes none."""
    if not local:
        if given:
            raise ValueError(
                f"simulator_options set a local simulator's options; {name} is a device: drop"
                " them (IBM Runtime options go through its primitives)"
            )
        return {}
    out: dict[str, Any] = {}
    for key, value in (given or {}).items():
        if not isinstance(value, (bool, int, float, str)):
            raise ValueError(
                f"simulator_options[{key!r}] must be a bool, number or string, got"
                f" {type(value).__name__}; a fake device simulates its own noise model"
            )
        out[key] = value
    return out


@functools.cache
def simulator_device(device: str, options: tuple[tuple[str, Any], ...]) -> Any:
    """A private instance of a local device (``"aer_simulator"`` or ``"fake_<name>"``) with
    Aer ``options`` set through the backend's ``set_options``; the shared instances of
    :func:`fake_device` and :func:`aer_device` (which other code may hold) stay untouched."""
    if device == "aer_simulator":
        from qiskit_aer import AerSimulator

        dev = AerSimulator()
    else:
        dev = fake_device.__wrapped__(device)
    for key, value in options:
        try:
            dev.set_options(**{key: value})
        except Exception as e:  # AttributeError (fake devices), AerError (Aer)
            raise ValueError(
                f"simulator_options: {key}={value!r} is not an option of {device}'s simulator"
                f" ({e}); see Qiskit Aer's AerSimulator options"
            ) from None
    return dev


def has_saved_ibm_account() -> bool:
    """Whether ``QiskitRuntimeService()`` would find an account (read locally, no network)."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    if os.environ.get("QISKIT_IBM_TOKEN"):
        return True
    try:
        return bool(QiskitRuntimeService.saved_accounts())
    except Exception:  # an unreadable account file is no account
        return False


def ibm_device(name: str, service: Any, instance: str | None) -> Any:
    from qiskit_ibm_runtime import QiskitRuntimeService

    if service is None:
        if not has_saved_ibm_account():
            raise CredentialsMissing(
                f"qiskit:{name}",
                "no saved IBM Quantum account",
                "save one with QiskitRuntimeService.save_account(token=..., set_as_default=True)"
                " or pass service=; offline, use a fake device such as 'qiskit:fake_manila'",
            )
        service = QiskitRuntimeService(instance=instance) if instance else QiskitRuntimeService()
    return service.backend(name)


class RuntimeMode:
    """What a device's primitives run in: the device itself, a ``qiskit_ibm_runtime`` ``Session``
    or ``Batch`` the caller gives, or one that hqml opens on first use (``"session"`` or
    ``"batch"``) and closes with :meth:`close` (an hqml job-service session closes its warm
    backend, so all its jobs share one runtime session or batch)."""

    def __init__(self, backend: Any, mode: Any):
        if isinstance(mode, str) and mode not in ("session", "batch"):
            raise ValueError(
                f"mode must be 'session', 'batch', a qiskit_ibm_runtime Session or Batch, or"
                f" None; got {mode!r}"
            )
        self.backend, self.mode, self.opened = backend, mode, None

    def get(self) -> Any:
        if self.mode is None:
            return self.backend
        if not isinstance(self.mode, str):
            return self.mode
        if self.opened is None:
            from qiskit_ibm_runtime import Batch, Session

            self.opened = (Session if self.mode == "session" else Batch)(backend=self.backend)
        return self.opened

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()
            self.opened = None


def queue_seconds(job: Any) -> float:
    """Seconds an IBM Runtime job waited in the queue (0 for local jobs)."""
    try:
        ts = job.metrics()["timestamps"]
        from datetime import datetime

        created, running = (datetime.fromisoformat(ts[k]) for k in ("created", "running"))
        return max(0.0, (running - created).total_seconds())
    except Exception:  # local jobs have no metrics
        return 0.0
