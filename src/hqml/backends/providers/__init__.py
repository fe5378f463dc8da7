"""Provider backends: quantum providers' devices through their own SDKs (the hardware extra).

``qiskit:<device>`` (Aer, IBM fake devices, IBM Quantum), ``braket:<device>`` and
``pennylane:<device>``; each SDK is imported only when its backend is created. The base class,
the capability checks and the typed errors import no SDK.
"""

from .base import ProviderBackend, ProviderCapabilities, Submission
from .errors import (
    CredentialsMissing,
    DeviceOffline,
    JobFailed,
    ProviderError,
    QueueFull,
    UnsupportedRequest,
)

__all__ = [
    "CredentialsMissing",
    "DeviceOffline",
    "JobFailed",
    "ProviderBackend",
    "ProviderCapabilities",
    "ProviderError",
    "QueueFull",
    "Submission",
    "UnsupportedRequest",
]
