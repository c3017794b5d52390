"""One exception family for everything that goes wrong between a node and the Cloud."""

from __future__ import annotations


class CloudError(Exception):
    """The Cloud could not be reached or answered an error; `retryable`: waiting may help."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class CredentialRejected(CloudError):
    """The Cloud refused the credential (401 or 403): unknown, revoked, or of the wrong scope."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status, retryable=False)


__all__ = ["CloudError", "CredentialRejected"]
