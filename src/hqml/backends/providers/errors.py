"""Typed errors of provider backends: requests refused before sending, and provider failures.

A request a device cannot run as asked (too wide, exact values on a shots-only device, a gate it
cannot take) is an :class:`UnsupportedRequest` raised before anything is sent. Failures reported
by a provider's SDK become a :class:`ProviderError` subclass that keeps the provider's message.
"""

from __future__ import annotations


class UnsupportedRequest(ValueError):
    """The device cannot run the request as asked (refused before sending)."""


class ProviderError(RuntimeError):
    """A failure reported by a quantum provider; ``provider_message`` is its own text."""

    kind = "provider error"

    def __init__(self, backend: str, provider_message: str, fix: str = ""):
        self.backend, self.provider_message = backend, provider_message
        text = f"{backend}: {self.kind}: {provider_message}"
        super().__init__(f"{text}; {fix}" if fix else text)


class CredentialsMissing(ProviderError):
    kind = "no credentials"


class QueueFull(ProviderError):
    kind = "queue full"


class DeviceOffline(ProviderError):
    kind = "device offline"


class JobFailed(ProviderError):
    kind = "job failed"


# words in a provider's message -> the error it becomes (first match wins)
_PATTERNS: tuple[tuple[tuple[str, ...], type[ProviderError]], ...] = (
    (("credential", "token", "account", "unauthor", "forbidden", "403", "401"), CredentialsMissing),
    (("queue", "too many jobs", "rate limit", "throttl", "429"), QueueFull),
    (("offline", "not online", "unavailable", "maintenance", "retired", "paused"), DeviceOffline),
)


def classify(backend: str, exc: BaseException) -> ProviderError:
    """The typed error for a provider's exception, by its class name and message."""
    if isinstance(exc, ProviderError):
        return exc
    text = f"{type(exc).__name__}: {exc}".strip()
    low = text.lower()
    for words, cls in _PATTERNS:
        if any(w in low for w in words):
            return cls(backend, text)
    return JobFailed(backend, text)


def from_failure_text(text: str) -> ProviderError | None:
    """The typed error of a failure reported as ``"<class name>: <message>"`` (how the job
    service stores a job's error), or ``None`` when it is not a provider's."""
    name, sep, rest = text.partition(": ")
    cls = {c.__name__: c for c in (CredentialsMissing, QueueFull, DeviceOffline, JobFailed)}.get(
        name
    )
    if not sep or cls is None:
        return None
    backend, sep, message = rest.partition(f": {cls.kind}: ")
    return cls(backend, message) if sep else None


__all__ = [
    "CredentialsMissing",
    "DeviceOffline",
    "JobFailed",
    "ProviderError",
    "QueueFull",
    "UnsupportedRequest",
    "classify",
    "from_failure_text",
]
