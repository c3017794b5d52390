"""The scoped credential: minted offline from the token, verified with the derived key."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallarm_sidecar.injector import (
    CredentialError,
    credential_key_id,
    derive_credential_key,
    mint_scoped_credential,
    verify_scoped_credential,
)


def test_round_trip() -> None:
    credential = mint_scoped_credential("tok", "shop", "team-a", issued_at=123)
    key = derive_credential_key("tok")
    claims = verify_scoped_credential(credential, key)
    assert (claims.group, claims.namespace, claims.issued_at, claims.key_id) == (
        "shop",
        "team-a",
        123,
        credential_key_id(key),
    )


def test_shape_and_the_token_is_not_inside() -> None:
    credential = mint_scoped_credential("super-secret-token", "g", "ns", issued_at=1)
    prefix, payload, signature = credential.split(".")
    assert prefix == "wsc1" and "=" not in credential
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(claims) == {"g", "ns", "iat", "kid"}
    assert "super-secret-token" not in credential
    assert len(base64.urlsafe_b64decode(signature + "=")) == 32


def _tamper_payload(credential: str) -> str:
    prefix, payload, signature = credential.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["g"] = "admins"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{forged}.{signature}"


@pytest.mark.parametrize(
    ("credential", "key_token"),
    [
        pytest.param(mint_scoped_credential("tok", "g", "n"), "other", id="other-token"),
        pytest.param(
            _tamper_payload(mint_scoped_credential("tok", "g", "n")), "tok", id="tampered"
        ),
        pytest.param("wsc2.e30.AAAA", "tok", id="other-version"),
        pytest.param("wsc1.only-two", "tok", id="two-parts"),
        pytest.param("wsc1.!!!.???", "tok", id="not-base64"),
        pytest.param("", "tok", id="empty"),
    ],
)
def test_bad_credentials_are_refused(credential: str, key_token: str) -> None:
    with pytest.raises(CredentialError):
        verify_scoped_credential(credential, derive_credential_key(key_token))


def test_no_token_no_credential() -> None:
    with pytest.raises(CredentialError):
        mint_scoped_credential("", "g", "n")


@given(
    token=st.text(min_size=1, max_size=40),
    group=st.text(min_size=1, max_size=40),
    namespace=st.text(max_size=63),
    issued_at=st.integers(0, 2**40),
)
def test_any_scope_round_trips(token: str, group: str, namespace: str, issued_at: int) -> None:
    credential = mint_scoped_credential(token, group, namespace, issued_at=issued_at)
    claims = verify_scoped_credential(credential, derive_credential_key(token))
    assert (claims.group, claims.namespace, claims.issued_at) == (group, namespace, issued_at)
