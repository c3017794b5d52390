"""The Cloud's tables (SQLAlchemy 2, typed). Times are Unix seconds (float) everywhere.

The first Alembic revision (`migrations/versions/0001_initial.py`) creates exactly
these; a test compares the two, so a change here needs a new revision.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names fixed by convention, so migrations name them the same on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Token(Base):
    """An API token (`deployment`, `read-only`) or a node token (`node`, with a group)."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    usage: Mapped[str] = mapped_column(String(20))
    node_group: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: SHA-256 of the token, hex: the plaintext is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Deployment tokens: the scoped-credential key (docs/scoped-credential.md) and its id.
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    derived_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class NodeGroup(Base):
    __tablename__ = "node_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class Node(Base):
    """One registered node: an injected pod's proxy (or helper), or a postanalytics."""

    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("group_id", "name", name="uq_nodes_group_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(253))
    group_id: Mapped[int] = mapped_column(ForeignKey("node_groups.id"), index=True)
    namespace: Mapped[str] = mapped_column(String(63), default="")
    pod: Mapped[str] = mapped_column(String(253), default="")
    #: SHA-256 of the node credential handed out at registration.
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), nullable=True)
    registered_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Attack(Base):
    """Hits of one type from one source against one target within a window."""

    __tablename__ = "attacks"
    __table_args__ = (
        Index("ix_attacks_grouping", "attack_type", "client_ip", "host", "path", "last_seen"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attack_type: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(2048))
    node_group: Mapped[str] = mapped_column(String(200), index=True)
    application: Mapped[str] = mapped_column(String(200), default="")
    first_seen: Mapped[float] = mapped_column(Float, index=True)
    last_seen: Mapped[float] = mapped_column(Float)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    blocked_hits: Mapped[int] = mapped_column(Integer, default=0)


class Hit(Base):
    """One detection in one request; `(request_id, point, attack_type)` makes ingest idempotent."""

    __tablename__ = "hits"
    __table_args__ = (
        UniqueConstraint("request_id", "point", "attack_type", name="uq_hits_idempotency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128))
    point: Mapped[str] = mapped_column(String(512))
    attack_type: Mapped[str] = mapped_column(String(64))
    fragment: Mapped[str] = mapped_column(String(2048), default="")
    rule_id: Mapped[str] = mapped_column(String(128), default="")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    time: Mapped[float] = mapped_column(Float, index=True)
    node_name: Mapped[str] = mapped_column(String(253), default="")
    node_group: Mapped[str] = mapped_column(String(200), default="")
    application: Mapped[str] = mapped_column(String(200), default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(16), default="")
    host: Mapped[str] = mapped_column(String(255), default="")
    path: Mapped[str] = mapped_column(String(2048), default="")
    status: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(20), default="")
    attack_id: Mapped[int] = mapped_column(ForeignKey("attacks.id"), index=True)
    received_at: Mapped[float] = mapped_column(Float)


class ModeRule(Base):
    """A filtering mode for a node group and application; "" in either means any."""

    __tablename__ = "mode_rules"
    __table_args__ = (UniqueConstraint("node_group", "application", name="uq_mode_rules_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_group: Mapped[str] = mapped_column(String(200), default="")
    application: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(20))


class IpListEntry(Base):
    __tablename__ = "ip_list_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list: Mapped[str] = mapped_column(String(8), index=True)
    ip: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    application: Mapped[str | None] = mapped_column(String(200), nullable=True)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[float] = mapped_column(Float)


class ApiEndpoint(Base):
    """API inventory: one endpoint (path template and method) seen by postanalytics."""

    __tablename__ = "api_endpoints"
    __table_args__ = (
        UniqueConstraint("application", "host", "method", "path", name="uq_api_endpoints_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application: Mapped[str] = mapped_column(String(200), default="")
    host: Mapped[str] = mapped_column(String(255), default="")
    method: Mapped[str] = mapped_column(String(16))
    #: The path template, ids collapsed: `/api/users/{id}`.
    path: Mapped[str] = mapped_column(String(1024))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float, index=True)


class ApiParameter(Base):
    """A parameter (request point and value type) of an inventoried endpoint."""

    __tablename__ = "api_parameters"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "point", "value_type", name="uq_api_parameters_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("api_endpoints.id"), index=True)
    point: Mapped[str] = mapped_column(String(512))
    value_type: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
