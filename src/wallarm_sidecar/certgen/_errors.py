"""One exception family for the certificate jobs; every message is one line for the operator."""

from __future__ import annotations


class CertgenError(Exception):
    """The job cannot do its work; the message says why in one line."""


class KubeError(CertgenError):
    """A call to the Kubernetes API failed."""


class KubeUnreachable(KubeError):
    """The API server could not be reached (after retrying transient failures)."""


class KubeApiError(KubeError):
    """The API server answered with an error status."""

    def __init__(self, message: str, *, status: int, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
