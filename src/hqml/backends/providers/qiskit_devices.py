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
