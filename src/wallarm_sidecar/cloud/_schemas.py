"""Request and response bodies of the API: bounded, validated once, named in 422s."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wallarm_sidecar.cloud._tokens import TokenUsage

MAX_RECORDS = 500
MAX_HITS_PER_RECORD = 64
MAX_PAGE = 500
MAX_RULES = 1000

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
Mode = Literal["off", "monitoring", "safe_blocking", "block"]
ListKind = Literal["allow", "deny", "gray"]
ItemT = TypeVar("ItemT")


class _Body(BaseModel):
    # NaN and infinities are no times, counts or sizes a client can mean
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorOut(BaseModel):
    """Every refusal but a 422: what went wrong, in one line."""

    detail: str


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    limit: int
    offset: int
    #: The offset of the next page, or null on the last one.
    next_offset: int | None


class TokenCreate(_Body):
    usage: TokenUsage
    group: Name | None = None
    name: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _node_tokens_have_a_group(self) -> TokenCreate:
        if self.usage is TokenUsage.NODE and not self.group:
            raise ValueError("group: a node token needs a node group")
        if self.usage is not TokenUsage.NODE and self.group:
            raise ValueError("group: only node tokens have a node group")
        return self


class TokenOut(BaseModel):
    id: int
    name: str
    usage: str
    group: str | None
    created_at: float
    revoked_at: float | None


class TokenCreated(TokenOut):
    #: The token itself: shown here once, stored only as a hash.
    token: str


class NodeRegister(_Body):
    name: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[^\x00-\x1f]+$")]
    group: Name | None = None
    namespace: Annotated[str, Field(max_length=63)] = ""
    pod: Annotated[str, Field(max_length=253)] = ""


class NodeOut(BaseModel):
    id: int
    name: str
    group: str
    namespace: str
    pod: str
    registered_at: float
    last_seen: float


class NodeRegistered(NodeOut):
    #: The node's own credential, for every later call (hits, config); shown once.
    node_credential: str


class HitIn(_Body):
    attack_type: Annotated[str, Field(min_length=1, max_length=64)]
    point: Annotated[str, Field(max_length=512)]
    fragment: Annotated[str, Field(max_length=2048)] = ""
    rule_id: Annotated[str, Field(max_length=128)] = ""
    blocked: bool = False


class RecordIn(_Body):
    """A request record as on the wire (docs/wire-protocol.md), its hits attached."""

    model_config = ConfigDict(extra="ignore")

    request_id: Annotated[str, Field(min_length=1, max_length=128)]
    time: Annotated[float, Field(ge=0)]
    node: Annotated[str, Field(max_length=253)] = ""
    application: Annotated[str, Field(max_length=200)] = ""
    client_ip: Annotated[str, Field(max_length=64)] = ""
    method: Annotated[str, Field(max_length=16)] = ""
    host: Annotated[str, Field(max_length=255)] = ""
    path: Annotated[str, Field(max_length=2048)] = ""
    status: Annotated[int, Field(ge=0, le=999)] = 0
    blocked: bool = False
    mode: Annotated[str, Field(max_length=20)] = ""
    hits: Annotated[list[HitIn], Field(max_length=MAX_HITS_PER_RECORD)] = []


class HitsIngest(_Body):
    records: Annotated[list[RecordIn], Field(max_length=MAX_RECORDS)]


class IngestResult(BaseModel):
    stored: int
    duplicates: int


class HitOut(BaseModel):
    id: int
    attack_id: int
    request_id: str
    time: float
    attack_type: str
    point: str
    fragment: str
    rule_id: str
    blocked: bool
    node: str
    node_group: str
    application: str
    client_ip: str
    method: str
    host: str
    path: str
    status: int
    mode: str


class AttackOut(BaseModel):
    id: int
    attack_type: str
    client_ip: str
    host: str
    path: str
    node_group: str
    application: str
    first_seen: float
    last_seen: float
    hits: int
    blocked_hits: int
    blocked: bool


class ModeRuleIn(_Body):
    #: null: every node group.
    node_group: Name | None = None
    #: null: every application (the group's own mode).
    application: Name | None = None
    mode: Mode


class SettingsDoc(_Body):
    rules: Annotated[list[ModeRuleIn], Field(max_length=MAX_RULES)]

    @field_validator("rules")
    @classmethod
    def _one_rule_per_scope(cls, rules: list[ModeRuleIn]) -> list[ModeRuleIn]:
        scopes = [(rule.node_group, rule.application) for rule in rules]
        if len(set(scopes)) != len(scopes):
            raise ValueError("two rules for the same node group and application")
        return rules


class IpListEntryIn(_Body):
    list: ListKind
    ip: Annotated[str, Field(min_length=1, max_length=64)]
    #: Unix time after which the entry no longer applies; null: never expires.
    expires_at: Annotated[float, Field(gt=0)] | None = None
    #: One application (WALLARM_APPLICATION), or null for all.
    application: Name | None = None
    comment: Annotated[str, Field(max_length=500)] = ""

    @field_validator("ip")
    @classmethod
    def _address_or_cidr(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError("must be an IP address or CIDR") from None


class IpListEntryOut(BaseModel):
    id: int
    list: str
    ip: str
    expires_at: float | None
    application: str | None
    comment: str
    created_at: float
