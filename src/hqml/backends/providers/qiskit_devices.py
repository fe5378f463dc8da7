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
