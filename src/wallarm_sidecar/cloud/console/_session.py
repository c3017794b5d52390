"""Console sessions: a signed cookie naming an API token, and CSRF tokens tied to it.

There is no session table: the cookie is `v1.<token id>.<expires>.<nonce>.<mac>`, the MAC
over those fields and the token's stored hash, keyed by the Console's secret. Every request
looks the token up again, so revoking the token ends its sessions at once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

SESSION_COOKIE = "wallarm_console"
#: A random value set by the login page, so the login form carries a CSRF token too.
LOGIN_COOKIE = "wallarm_console_login"
SESSION_LIFETIME = 12 * 3600
SECRET_FILE = "console-secret"
_VERSION = "v1"
_MAX_COOKIE = 300


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """A session cookie's fields, well formed and unexpired but not yet verified."""

    token_id: int
    expires: int
    nonce: str
    mac: str

    @property
    def signed(self) -> str:
        return f"{_VERSION}.{self.token_id}.{self.expires}.{self.nonce}"


def _mac(key: bytes, purpose: str, message: str) -> str:
    digest = hmac.new(key, f"{purpose}\0{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_session(
    key: bytes, *, token_id: int, token_hash: str, now: float, lifetime: int = SESSION_LIFETIME
) -> str:
    """A new session cookie value for this token, valid for `lifetime` seconds."""
    nonce = secrets.token_urlsafe(12)
    claims = SessionClaims(token_id, int(now) + lifetime, nonce, "")
    return f"{claims.signed}.{_mac(key, 'session', claims.signed + '.' + token_hash)}"


def parse_session(value: str | None, now: float) -> SessionClaims | None:
    """The claims of a well-formed, unexpired cookie; None for anything else."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    parts = value.split(".")
    if len(parts) != 5 or parts[0] != _VERSION:
        return None
    _, token_id, expires, nonce, mac = parts
    if not (_digits(token_id) and _digits(expires) and len(token_id) < 19 and len(expires) < 19):
        return None
    if int(expires) <= now or not nonce or not mac:
        return None
    return SessionClaims(int(token_id), int(expires), nonce, mac)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def verify_session(key: bytes, claims: SessionClaims, token_hash: str) -> bool:
    """The MAC matches this key and the token's current stored hash."""
    expected = _mac(key, "session", claims.signed + "." + token_hash)
    return hmac.compare_digest(expected, claims.mac)


def csrf_token(key: bytes, bound_to: str) -> str:
    """The form token for a session (or for a login cookie's value)."""
    return _mac(key, "csrf", bound_to)[:32]


def csrf_ok(key: bytes, bound_to: str | None, given: str | None) -> bool:
    if not bound_to or not given:
        return False
    return hmac.compare_digest(csrf_token(key, bound_to), given)


class ConsoleSecret:
    """The signing key, read from (or made once in) a file beside the SQLite database.

    Without a file (PostgreSQL, or a data directory that cannot be written) the key lives
    in this process only: sessions then end when it restarts.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._key: bytes | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._load()
            return self._key

    def _load(self) -> bytes:
        if self.path is None:
            return secrets.token_bytes(32)
        try:
            return _read_or_create(self.path)
        except (OSError, ValueError) as error:
            print(
                f"wallarm-sidecar cloud: cannot use the Console secret {self.path} ({error}); "
                "using a key of this process only (Console sessions end at restart)",
                file=sys.stderr,
                flush=True,
            )
            return secrets.token_bytes(32)


def _read_or_create(path: Path) -> bytes:
    """Create the secret atomically (link of a written file), or read the existing one."""
    if not path.exists():
        staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
            # Another process may have made it first: then theirs is used.
            with contextlib.suppress(FileExistsError):
                os.link(staging, path)
        finally:
            staging.unlink(missing_ok=True)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if len(text) < 64:
        raise ValueError("it holds fewer than 32 bytes in hex")
    return bytes.fromhex(text)
