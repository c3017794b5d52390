"""Tokens and credentials: made here, stored as SHA-256 hashes, looked up by hash."""

from __future__ import annotations

import enum
import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallarm_sidecar.cloud._models import Node, NodeGroup, Token
from wallarm_sidecar.injector import credential_key_id, derive_credential_key

DEFAULT_GROUP = "defaultSidecarGroup"
API_TOKEN_PREFIX = "wsk_"
NODE_CREDENTIAL_PREFIX = "wsn_"


class TokenUsage(enum.StrEnum):
    DEPLOYMENT = "deployment"
    READ_ONLY = "read-only"
    NODE = "node"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    *,
    usage: TokenUsage,
    group: str | None = None,
    name: str = "",
    plaintext: str | None = None,
) -> tuple[Token, str]:
    """A new token row and its plaintext (shown once, never stored)."""
    if usage is TokenUsage.NODE and not group:
        raise ValueError("a node token needs a node group")
    secret = plaintext or new_secret(API_TOKEN_PREFIX)
    token = Token(
        name=name,
        usage=usage.value,
        node_group=group if usage is TokenUsage.NODE else None,
        token_hash=hash_secret(secret),
        created_at=time.time(),
    )
    if usage is TokenUsage.DEPLOYMENT:
        # What the Cloud needs to verify scoped credentials minted from this token.
        token.derived_key = derive_credential_key(secret)
        token.key_id = credential_key_id(token.derived_key)
    if usage is TokenUsage.NODE and group:
        ensure_group(session, group)
    session.add(token)
    session.flush()
    return token, secret


def mark_token_revoked(token: Token, now: float) -> None:
    """Refuse `token` from now on (the first revocation time stays), and drop its
    scoped-credential key: every credential minted from it fails too."""
    if token.revoked_at is None:
        token.revoked_at = now
    token.derived_key = None


def mark_node_revoked(node: Node, now: float) -> None:
    """Refuse the node's credential from now on; registering again gives a new one."""
    if node.revoked_at is None:
        node.revoked_at = now


def ensure_group(session: Session, name: str) -> NodeGroup:
    """The group of this name, made if missing (a concurrent maker may win: then its row)."""
    group = session.scalar(select(NodeGroup).where(NodeGroup.name == name))
    if group is not None:
        return group
    try:
        with session.begin_nested():
            group = NodeGroup(name=name, created_at=time.time())
            session.add(group)
    except IntegrityError:
        # Another transaction made it between our look-up and our insert (PostgreSQL).
        group = session.scalars(select(NodeGroup).where(NodeGroup.name == name)).one()
    return group


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API or node token, or a registered node's credential."""

    token: Token | None = None
    node: Node | None = None
    node_group: str | None = None

    @property
    def usage(self) -> str:
        return self.token.usage if self.token is not None else "registered-node"


def find_principal(session: Session, secret: str) -> Principal | None:
    digest = hash_secret(secret)
    token = session.scalar(select(Token).where(Token.token_hash == digest))
    if token is not None:
        return None if token.revoked_at is not None else Principal(token=token)
    row = session.execute(
        select(Node, NodeGroup.name)
        .join(NodeGroup, Node.group_id == NodeGroup.id)
        .where(Node.credential_hash == digest)
    ).first()
    if row is None or row[0].revoked_at is not None:
        return None
    return Principal(node=row[0], node_group=row[1])
