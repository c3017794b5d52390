"""The scoped credential that pods get instead of the organisation's API token (DESIGN §4).

`wsc1.<payload>.<signature>`, both parts base64url without padding. The payload is the
JSON `{"g": node group, "ns": namespace, "iat": issued at, "kid": key id}`; the signature
is HMAC-SHA256 over `wsc1.<payload>` with a key derived from the token, so the controller
mints it offline and the Cloud, which keeps the derived key of each token, verifies it.
It only lets a node register into its group; revoking the token revokes every credential
minted from it. See docs/scoped-credential.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Final

PREFIX: Final = "wsc1"
_DERIVATION_LABEL: Final = b"wallarm-sidecar scoped credential v1"


class CredentialError(ValueError):
    """A scoped credential that is malformed, signed with another key, or of another scope."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialClaims:
    group: str
    namespace: str
    issued_at: int
    key_id: str


def derive_credential_key(token: str) -> bytes:
    """The key the Cloud stores for a token: HMAC-SHA256(token, label)."""
    if not token:
        raise CredentialError("an API token is needed to derive the credential key")
    return hmac.new(token.encode("utf-8"), _DERIVATION_LABEL, hashlib.sha256).digest()


def credential_key_id(derived_key: bytes) -> str:
    """Short public id of a derived key, so the Cloud finds the key without trying each."""
    return _b64(hashlib.sha256(derived_key).digest()[:9])


def mint_scoped_credential(token: str, group: str, namespace: str, *, issued_at: int = 0) -> str:
    key = derive_credential_key(token)
    claims = {"g": group, "ns": namespace, "iat": int(issued_at), "kid": credential_key_id(key)}
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed = f"{PREFIX}.{payload}"
    return f"{signed}.{_b64(_sign(key, signed))}"


def verify_scoped_credential(credential: str, derived_key: bytes) -> CredentialClaims:
    """The claims of a credential signed with `derived_key`, or `CredentialError`."""
    parts = credential.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise CredentialError(f"not a {PREFIX} scoped credential")
    signed = f"{parts[0]}.{parts[1]}"
    try:
        signature = _unb64(parts[2])
        raw = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error):
        raise CredentialError("the credential is not well formed") from None
    if not hmac.compare_digest(signature, _sign(derived_key, signed)):
        raise CredentialError("the credential's signature does not match")
    if not isinstance(raw, dict):
        raise CredentialError("the credential's payload is not an object")
    group, namespace, issued_at, key_id = (
        raw.get("g"),
        raw.get("ns"),
        raw.get("iat"),
        raw.get("kid"),
    )
    if not (
        isinstance(group, str)
        and group
        and isinstance(namespace, str)
        and isinstance(issued_at, int)
        and isinstance(key_id, str)
    ):
        raise CredentialError("the credential's payload lacks g, ns, iat or kid")
    return CredentialClaims(group=group, namespace=namespace, issued_at=issued_at, key_id=key_id)


def _sign(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
