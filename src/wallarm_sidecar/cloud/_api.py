"""The REST API under /api/v1 (DESIGN §8): FastAPI routes over the store."""

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy import Select, and_, delete, insert, or_, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from wallarm_sidecar import __version__
from wallarm_sidecar.cloud import _schemas as s
from wallarm_sidecar.cloud._db import Database, storable
from wallarm_sidecar.cloud._inventory import inventory_router
from wallarm_sidecar.cloud._models import Attack, Hit, IpListEntry, ModeRule, Node, NodeGroup, Token
from wallarm_sidecar.cloud._tokens import (
    DEFAULT_GROUP,
    NODE_CREDENTIAL_PREFIX,
    Principal,
    TokenUsage,
    create_token,
    ensure_group,
    find_principal,
    hash_secret,
    mark_node_revoked,
    mark_token_revoked,
    new_secret,
)
from wallarm_sidecar.injector import CredentialClaims, CredentialError, verify_scoped_credential

#: Hits of one type from one source against one target this close in time are one attack.
ATTACK_WINDOW = 900.0
MAX_BODY = 8 * 1024 * 1024
#: Row ids are PostgreSQL `integer`s: a larger one is a 422, not an overflow (a 500).
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@dataclass
class HitFilters:
    """The query filters the hit and attack lists share."""

    type: Annotated[str | None, Query(max_length=64)] = None
    since: Annotated[float | None, Query(ge=0)] = None
    until: Annotated[float | None, Query(ge=0)] = None
    node_group: Annotated[str | None, Query(max_length=200)] = None
    application: Annotated[str | None, Query(max_length=200)] = None
    blocked: bool | None = None


Filters = Annotated[HitFilters, Depends()]
SCOPED_PREFIX = "wsc1."

#: The refusals any operation may answer, documented in the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": s.ErrorOut, "description": "a body that is not JSON"},
    401: {"model": s.ErrorOut, "description": "no token, or an unknown or revoked one"},
    403: {"model": s.ErrorOut, "description": "this credential may not do this"},
    404: {"model": s.ErrorOut, "description": "no such object"},
    413: {"model": s.ErrorOut, "description": f"a body over {MAX_BODY} bytes"},
}

_bearer = HTTPBearer(auto_error=False, description="API token, node token or node credential")

#: Who may call what (the registered node's credential is "registered-node").
WRITE = frozenset({TokenUsage.DEPLOYMENT.value})
READ = frozenset({TokenUsage.DEPLOYMENT.value, TokenUsage.READ_ONLY.value})
REGISTER = frozenset({TokenUsage.DEPLOYMENT.value, TokenUsage.NODE.value, "scoped"})
NODE_SYNC = frozenset({*READ, "registered-node"})
INGEST = frozenset({TokenUsage.DEPLOYMENT.value, "registered-node"})


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    #: Set when the caller used a scoped credential (which only registers nodes).
    claims: CredentialClaims | None = None

    @property
    def role(self) -> str:
        return "scoped" if self.claims is not None else self.principal.usage


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def create_app(database: Database) -> FastAPI:
    """The Cloud's ASGI application over a migrated database."""
    app = FastAPI(
        title="wallarm-sidecar Cloud API",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.database = database

    def sessions() -> Iterator[Session]:
        with database.read() as session:
            yield session

    def caller(request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise _unauthorized("a Bearer token is required")
        with database.read() as session:
            if secret.startswith(SCOPED_PREFIX):
                return _scoped_caller(session, secret)
            principal = find_principal(session, secret)
        if principal is None:
            raise _unauthorized("unknown or revoked token")
        return Caller(principal)

    def allow(roles: frozenset[str]) -> Callable[..., Caller]:
        def check(
            who: Annotated[Caller, Depends(caller)],
            _scheme: Annotated[Any, Depends(_bearer)] = None,
        ) -> Caller:
            if who.role not in roles:
                raise HTTPException(403, f"a {who.role} credential may not do this")
            return who

        return check

    Reader = Annotated[Caller, Depends(allow(READ))]
    Writer = Annotated[Caller, Depends(allow(WRITE))]
    Db = Annotated[Session, Depends(sessions)]
    Limit = Annotated[int, Query(ge=1, le=s.MAX_PAGE)]
    Offset = Annotated[int, Query(ge=0, le=10_000_000)]

    api = APIRouter(prefix="/api/v1")

    # -- tokens --------------------------------------------------------------------------
    @api.post("/tokens", status_code=201, response_model=s.TokenCreated)
    def create_api_token(body: s.TokenCreate, _who: Writer) -> s.TokenCreated:
        with database.write() as session:
            token, secret = create_token(
                session, usage=body.usage, group=body.group, name=body.name
            )
            return s.TokenCreated(**_token_out(token).model_dump(), token=secret)

    @api.get("/tokens", response_model=s.Page[s.TokenOut])
    def list_tokens(_who: Reader, db: Db, limit: Limit = 100, offset: Offset = 0) -> Any:
        query = select(Token).order_by(Token.id)
        return _page(db, query, limit, offset, _token_out)

    @api.post("/tokens/{token_id}/revoke", response_model=s.TokenOut)
    def revoke_token(token_id: Id, _who: Writer) -> s.TokenOut:
        with database.write() as session:
            token = session.get(Token, token_id)
            if token is None:
                raise HTTPException(404, "no such token")
            mark_token_revoked(token, time.time())
            return _token_out(token)

    @api.delete("/tokens/{token_id}", response_model=s.TokenOut)
    def delete_token(token_id: Id, who: Writer) -> s.TokenOut:
        return revoke_token(token_id, who)

    # -- nodes ---------------------------------------------------------------------------
    @api.post("/nodes/register", response_model=s.NodeRegistered)
    def register_node(
        body: s.NodeRegister, who: Annotated[Caller, Depends(allow(REGISTER))]
    ) -> s.NodeRegistered:
        namespace = body.namespace
        if who.claims is not None:
            group = who.claims.group
            namespace = who.claims.namespace
        elif who.principal.usage == TokenUsage.NODE.value:
            group = who.principal.token.node_group or "" if who.principal.token else ""
        else:
            group = body.group or DEFAULT_GROUP
        if body.group is not None and body.group != group:
            raise HTTPException(403, f"this credential registers nodes into group {group!r} only")
        secret = new_secret(NODE_CREDENTIAL_PREFIX)
        now = time.time()
        with database.write() as session:
            node_group = ensure_group(session, group)
            node = _ensure_node(session, node_group.id, body.name, now)
            node.namespace = namespace
            node.pod = body.pod or body.name
            node.credential_hash = hash_secret(secret)
            node.registered_by = who.principal.token.id if who.principal.token else None
            node.last_seen = now
            node.revoked_at = None
            session.flush()
            return s.NodeRegistered(**_node_out(node, group).model_dump(), node_credential=secret)

    @api.get("/nodes", response_model=s.Page[s.NodeOut])
    def list_nodes(
        _who: Reader,
        db: Db,
        group: Annotated[str | None, Query(max_length=200)] = None,
        seen_since: Annotated[float | None, Query(ge=0)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        query = select(Node, NodeGroup.name).join(NodeGroup, Node.group_id == NodeGroup.id)
        if group is not None:
            query = query.where(NodeGroup.name == group)
        if seen_since is not None:
            query = query.where(Node.last_seen >= seen_since)
        query = query.order_by(NodeGroup.name, Node.name)
        return _page(db, query, limit, offset, lambda row: _node_out(row[0], row[1]), rows=True)

    @api.post("/nodes/{node_id}/revoke", response_model=s.NodeOut)
    def revoke_node(node_id: Id, _who: Writer) -> s.NodeOut:
        """Refuse this node's credential from now on (it may register again)."""
        with database.write() as session:
            row = session.execute(
                select(Node, NodeGroup.name)
                .join(NodeGroup, Node.group_id == NodeGroup.id)
                .where(Node.id == node_id)
            ).first()
            if row is None:
                raise HTTPException(404, "no such node")
            mark_node_revoked(row[0], time.time())
            return _node_out(row[0], row[1])

    @api.get("/nodes/config")
    def node_config(
        who: Annotated[Caller, Depends(allow(NODE_SYNC))],
        group: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """What a node syncs: `node-config.json` and `ip-lists.json` (docs/proxy.md)."""
        principal = who.principal
        if principal.node is not None:
            if group is not None and group != principal.node_group:
                raise HTTPException(403, "a node reads its own group's configuration only")
            group = principal.node_group
            with database.write() as session:
                node = session.get(Node, principal.node.id)
                if node is not None:
                    node.last_seen = time.time()
        with database.read() as session:
            return {
                "node_config": _node_config(session, group or DEFAULT_GROUP),
                "ip_lists": _ip_lists_document(session, time.time()),
            }

    # -- hits and attacks ----------------------------------------------------------------
    @api.post("/hits", response_model=s.IngestResult)
    def ingest_hits(
        body: s.HitsIngest, who: Annotated[Caller, Depends(allow(INGEST))]
    ) -> s.IngestResult:
        with database.write() as session:
            if who.principal.node is not None:
                node = session.get(Node, who.principal.node.id)
                if node is not None:
                    node.last_seen = time.time()
            return _ingest(session, body.records, who.principal)

    @api.get("/hits", response_model=s.Page[s.HitOut])
    def list_hits(
        *,
        _who: Reader,
        db: Db,
        attack_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        where: Filters,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        query = _where_equal(
            select(Hit).order_by(Hit.time.desc(), Hit.id.desc()),
            (Hit.attack_id, attack_id),
            (Hit.attack_type, where.type),
            (Hit.node_group, where.node_group),
            (Hit.application, where.application),
            (Hit.blocked, where.blocked),
        )
        if where.since is not None:
            query = query.where(Hit.time >= where.since)
        if where.until is not None:
            query = query.where(Hit.time <= where.until)
        return _page(db, query, limit, offset, _hit_out)

    @api.get("/attacks", response_model=s.Page[s.AttackOut])
    def list_attacks(
        *,
        _who: Reader,
        db: Db,
        where: Filters,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        query = _where_equal(
            select(Attack).order_by(Attack.last_seen.desc(), Attack.id.desc()),
            (Attack.attack_type, where.type),
            (Attack.node_group, where.node_group),
            (Attack.application, where.application),
        )
        # an attack is in the window when it overlaps it
        if where.since is not None:
            query = query.where(Attack.last_seen >= where.since)
        if where.until is not None:
            query = query.where(Attack.first_seen <= where.until)
        if where.blocked is not None:
            blocked = Attack.blocked_hits > 0 if where.blocked else Attack.blocked_hits == 0
            query = query.where(blocked)
        return _page(db, query, limit, offset, _attack_out)

    # -- settings and IP lists -----------------------------------------------------------
    @api.get("/settings", response_model=s.SettingsDoc)
    def get_settings(_who: Reader, db: Db) -> s.SettingsDoc:
        return _settings_doc(db)

    @api.put("/settings", response_model=s.SettingsDoc)
    def put_settings(body: s.SettingsDoc, _who: Writer) -> s.SettingsDoc:
        with database.write() as session:
            session.execute(delete(ModeRule))
            session.add_all(
                ModeRule(
                    node_group=rule.node_group or "",
                    application=rule.application or "",
                    mode=rule.mode,
                )
                for rule in body.rules
            )
            session.flush()
            return _settings_doc(session)

    @api.get("/ip-lists", response_model=s.Page[s.IpListEntryOut])
    def list_ip_lists(
        *,
        _who: Reader,
        db: Db,
        list: s.ListKind | None = None,
        application: Annotated[str | None, Query(max_length=200)] = None,
        include_expired: bool = False,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        query = select(IpListEntry).order_by(IpListEntry.id)
        if list is not None:
            query = query.where(IpListEntry.list == list)
        if application is not None:
            query = query.where(IpListEntry.application == application)
        if not include_expired:
            query = query.where(_unexpired(time.time()))
        return _page(db, query, limit, offset, _entry_out)

    @api.post("/ip-lists", status_code=201, response_model=s.IpListEntryOut)
    def add_ip_list_entry(body: s.IpListEntryIn, _who: Writer) -> s.IpListEntryOut:
        with database.write() as session:
            entry = IpListEntry(**body.model_dump(), created_at=time.time())
            session.add(entry)
            session.flush()
            return _entry_out(entry)

    @api.delete("/ip-lists/{entry_id}", status_code=204)
    def delete_ip_list_entry(entry_id: Id, _who: Writer) -> Response:
        with database.write() as session:
            entry = session.get(IpListEntry, entry_id)
            if entry is None:
                raise HTTPException(404, "no such IP list entry")
            session.delete(entry)
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """Probes (no token): 200 while the database answers, else 503."""
        try:
            with database.read() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:  # no details: anyone may ask
            return JSONResponse({"status": "database unavailable"}, 503)
        return JSONResponse({"status": "ok"})

    app.include_router(api)
    app.include_router(inventory_router(database, allow))
    from wallarm_sidecar.cloud.console import mount_console  # noqa: PLC0415 - it imports us

    mount_console(app, database)

    @app.middleware("http")
    async def bounded_bodies(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return JSONResponse({"detail": f"body larger than {MAX_BODY} bytes"}, 413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def named_fields(_request: Request, error: RequestValidationError) -> Response:
        errors = jsonable_encoder(error.errors())
        message = "; ".join(
            f"{'.'.join(str(part) for part in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', '')}"
            for e in errors
        )
        # ASCII JSON: the refused input may hold lone surrogates, which UTF-8 cannot carry.
        body = json.dumps({"detail": errors, "message": message}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    return app


# -- authentication helpers ------------------------------------------------------------------
def _scoped_caller(session: Session, credential: str) -> Caller:
    """Verify a wsc1 credential with the stored derived key (docs/scoped-credential.md)."""
    parts = credential.split(".")
    if len(parts) != 3:
        raise _unauthorized("not a wsc1 scoped credential")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        key_id = payload["kid"] if isinstance(payload, dict) else None
    except (ValueError, KeyError, binascii.Error):
        raise _unauthorized("the scoped credential is not well formed") from None
    if not isinstance(key_id, str):
        raise _unauthorized("the scoped credential is not well formed")
    tokens = session.scalars(select(Token).where(Token.key_id == key_id)).all()
    for token in tokens:
        if token.derived_key is None or token.revoked_at is not None:
            continue
        if token.usage != TokenUsage.DEPLOYMENT.value:
            continue
        try:
            claims = verify_scoped_credential(credential, token.derived_key)
        except CredentialError:
            continue
        return Caller(Principal(token=token), claims=claims)
    raise _unauthorized("the scoped credential is unknown, revoked or forged")


# -- registration ----------------------------------------------------------------------------
def _ensure_node(session: Session, group_id: int, name: str, now: float) -> Node:
    """The node of this group and name, made if missing (a concurrent maker may win)."""
    query = select(Node).where(Node.group_id == group_id, Node.name == name)
    node = session.scalar(query)
    if node is not None:
        return node
    try:
        with session.begin_nested():
            node = Node(
                name=name,
                group_id=group_id,
                registered_at=now,
                last_seen=now,
                credential_hash=hash_secret(new_secret(NODE_CREDENTIAL_PREFIX)),
            )
            session.add(node)
    except IntegrityError:
        # The same node registering twice at once (PostgreSQL): the other insert won.
        node = session.scalars(query).one()
    return node


# -- queries and documents -------------------------------------------------------------------
def _where_equal(query: Select[Any], *filters: tuple[Any, object]) -> Select[Any]:
    """`query` narrowed to rows whose column equals each given (not None) value."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def _page(
    session: Session,
    query: Any,
    limit: int,
    offset: int,
    convert: Callable[[Any], Any],
    *,
    rows: bool = False,
) -> dict[str, Any]:
    result = session.execute(query.limit(limit + 1).offset(offset))
    found = [convert(row) for row in (result.all() if rows else result.scalars().all())]
    more = len(found) > limit
    return {
        "items": found[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


def _unexpired(now: float) -> Any:
    return or_(IpListEntry.expires_at.is_(None), IpListEntry.expires_at > now)


def _node_config(session: Session, group: str) -> dict[str, Any]:
    """node-config.json for a group: its own rules beat the rules for every group."""
    rules = session.scalars(select(ModeRule).where(ModeRule.node_group.in_(["", group]))).all()
    # Rules for every group first, so the group's own overwrite them.
    ordered = sorted(rules, key=lambda rule: rule.node_group != "")
    mode: str | None = None
    applications: dict[str, str] = {}
    for rule in ordered:
        if rule.application:
            applications[rule.application] = rule.mode
        else:
            mode = rule.mode
    return {"version": 1, "mode": mode, "applications": applications}


def _ip_lists_document(session: Session, now: float) -> dict[str, Any]:
    entries = session.scalars(
        select(IpListEntry).where(_unexpired(now)).order_by(IpListEntry.id)
    ).all()
    return {
        "version": 1,
        "entries": [
            {
                "list": entry.list,
                "ip": entry.ip,
                "expires_at": entry.expires_at,
                "application": entry.application,
            }
            for entry in entries
        ],
    }


def _settings_doc(session: Session) -> s.SettingsDoc:
    rules = session.scalars(
        select(ModeRule).order_by(ModeRule.node_group, ModeRule.application)
    ).all()
    return s.SettingsDoc(
        rules=[
            s.ModeRuleIn(
                node_group=rule.node_group or None,
                application=rule.application or None,
                mode=rule.mode,  # type: ignore[arg-type]
            )
            for rule in rules
        ]
    )


# -- ingest ------------------------------------------------------------------------------------
def _ingest(session: Session, records: list[s.RecordIn], sender: Principal) -> s.IngestResult:
    """Store each hit once, keyed by (request_id, point, attack_type), and group it.

    Hits go in in one global order (time, then key), so concurrent writers that share
    hits wait for each other in the same order and never deadlock.
    """
    stored = duplicates = 0
    now = time.time()
    groups: dict[str, str] = {}
    work = sorted(
        (
            (record, hit, _group_of(session, record.node, sender, groups))
            for record in records
            for hit in record.hits
        ),
        key=lambda item: (item[0].time, item[0].request_id, item[1].point, item[1].attack_type),
    )
    _lock_attack_keys(session, {_attack_key(record, hit, group) for record, hit, group in work})
    request_ids = list({record.request_id for record in records})
    known: set[tuple[str, str, str]] = set()
    for start in range(0, len(request_ids), 200):
        chunk = request_ids[start : start + 200]
        known.update(
            (row[0], row[1], row[2])
            for row in session.execute(
                select(Hit.request_id, Hit.point, Hit.attack_type).where(Hit.request_id.in_(chunk))
            )
        )
    fresh: list[tuple[s.RecordIn, s.HitIn, str]] = []
    for record, hit, group in work:
        key = (storable(record.request_id), storable(hit.point), storable(hit.attack_type))
        if key in known:
            duplicates += 1
            continue
        known.add(key)
        fresh.append((record, hit, group))
    if not fresh:
        return s.IngestResult(stored=0, duplicates=duplicates)
    try:
        with session.begin_nested():
            _store_all(session, fresh, now)
        return s.IngestResult(stored=len(fresh), duplicates=duplicates)
    except IntegrityError:
        pass  # a writer of another group stored some of these first: one by one, then
    for record, hit, group in fresh:
        try:
            with session.begin_nested():
                _store_all(session, [(record, hit, group)], now)
        except IntegrityError:
            duplicates += 1
            continue
        stored += 1
    return s.IngestResult(stored=stored, duplicates=duplicates)


def _store_all(session: Session, hits: list[tuple[s.RecordIn, s.HitIn, str]], now: float) -> None:
    """Group `hits` (new ones, in time order) into attacks and insert them in one statement.

    The attacks these hits may join are loaded first (one query per 50 attack keys);
    then, in memory, each hit joins the attack of its key whose span it falls within
    ATTACK_WINDOW of (the latest), or starts one, exactly as one SELECT per hit would.
    """
    by_key: dict[tuple[str, ...], list[tuple[int, tuple[s.RecordIn, s.HitIn, str]]]] = {}
    for order, item in enumerate(hits):
        by_key.setdefault(_attack_key(*item), []).append((order, item))
    assigned: list[tuple[int, s.RecordIn, s.HitIn, str, Attack]] = []
    candidates = _attacks_near(session, list(by_key), [item[0].time for item in hits])
    for key, items in by_key.items():
        for order, (record, hit, group) in items:
            attack = _join(candidates[key], record, hit, group)
            if attack not in session:
                session.add(attack)
            assigned.append((order, record, hit, group, attack))
    assigned.sort(key=lambda item: item[0])  # back in the global order (no deadlocks)
    session.flush()  # new attacks get their ids, changed ones are written
    session.execute(
        insert(Hit),
        [
            {
                "request_id": record.request_id,
                "point": hit.point,
                "attack_type": hit.attack_type,
                "fragment": hit.fragment,
                "rule_id": hit.rule_id,
                "blocked": hit.blocked or record.blocked,
                "time": record.time,
                "node_name": record.node,
                "node_group": group,
                "application": record.application,
                "client_ip": record.client_ip,
                "method": record.method,
                "host": record.host,
                "path": record.path,
                "status": record.status,
                "mode": record.mode,
                "attack_id": attack.id,
                "received_at": now,
            }
            for _, record, hit, group, attack in assigned
        ],
    )


def _attacks_near(
    session: Session, keys: list[tuple[str, ...]], times: list[float]
) -> dict[tuple[str, ...], list[Attack]]:
    """The attacks of these keys that hits at these times may join, by key (few queries).

    One OR of per-key terms per 50 keys: each term is a range on `ix_attacks_grouping`
    (SQLite's planner does not search an index for a multi-column IN list).
    """
    found: dict[tuple[str, ...], list[Attack]] = {key: [] for key in keys}
    low, high = min(times) - ATTACK_WINDOW, max(times) + ATTACK_WINDOW
    for start in range(0, len(keys), 50):
        terms = [
            and_(
                Attack.attack_type == kind,
                Attack.client_ip == client_ip,
                Attack.host == host,
                Attack.path == path,
                Attack.last_seen >= low,
                Attack.node_group == group,
            )
            for kind, client_ip, host, path, group in keys[start : start + 50]
        ]
        query = select(Attack).where(or_(*terms), Attack.first_seen <= high)
        for attack in session.scalars(query):
            key = (
                attack.attack_type,
                attack.client_ip,
                attack.host,
                attack.path,
                attack.node_group,
            )
            found.setdefault(key, []).append(attack)
    return found


def _join(candidates: list[Attack], record: s.RecordIn, hit: s.HitIn, group: str) -> Attack:
    """The attack (of this key) that this hit joins, updated; a new one if none is near."""
    near = [
        attack
        for attack in candidates
        if attack.last_seen >= record.time - ATTACK_WINDOW
        and attack.first_seen <= record.time + ATTACK_WINDOW
    ]
    if near:
        attack = max(near, key=lambda a: a.last_seen)
    else:
        attack = Attack(
            attack_type=hit.attack_type,
            client_ip=record.client_ip,
            host=record.host,
            path=record.path,
            node_group=group,
            application=record.application,
            first_seen=record.time,
            last_seen=record.time,
            hits=0,
            blocked_hits=0,
        )
        candidates.append(attack)
    attack.first_seen = min(attack.first_seen, record.time)
    attack.last_seen = max(attack.last_seen, record.time)
    attack.hits += 1
    attack.blocked_hits += int(hit.blocked or record.blocked)
    return attack


#: PostgreSQL advisory lock of ingest as a whole: shared by writers that lock their own
#: attack keys, exclusive for a batch with too many keys to lock one by one.
INGEST_LOCK = 0x5741_4C4C_4152_4D00  # "WALLARM\0"
#: At most this many key locks per batch: 16 writers stay well inside PostgreSQL's
#: default lock table (max_locks_per_transaction 64 x max_connections 100).
MAX_KEY_LOCKS = 128


def _attack_key(record: s.RecordIn, hit: s.HitIn, group: str) -> tuple[str, ...]:
    """What makes hits one attack (besides time), as the database stores it."""
    parts = (hit.attack_type, record.client_ip, record.host, record.path, group)
    return tuple(storable(part) for part in parts)


def _lock_attack_keys(session: Session, keys: set[tuple[str, ...]]) -> None:
    """PostgreSQL: serialise the writers of the same attacks until they commit.

    Without it, two writers could each start the same new attack (splitting it) or
    update two attacks in opposite orders (a deadlock). The locks are taken in one
    global order; SQLite needs none (Database serialises its writers).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({_lock_id(key) for key in keys})
    if len(ids) > MAX_KEY_LOCKS:
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": INGEST_LOCK})
        return
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:id)"), {"id": INGEST_LOCK})
    # One round trip, the locks taken in the array's (sorted) order.
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) "
            "WITH ORDINALITY AS t(k, n) ORDER BY n"
        ),
        {"ids": ids},
    ).all()


def _lock_id(key: tuple[str, ...]) -> int:
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _group_of(session: Session, node_name: str, sender: Principal, cache: dict[str, str]) -> str:
    if sender.node is not None and node_name in ("", sender.node.name):
        return sender.node_group or ""
    if node_name not in cache:
        found = session.scalar(
            select(NodeGroup.name)
            .join(Node, Node.group_id == NodeGroup.id)
            .where(Node.name == node_name)
            .limit(1)
        )
        cache[node_name] = found or sender.node_group or ""
    return cache[node_name]


# -- conversions -------------------------------------------------------------------------------
def _token_out(token: Token) -> s.TokenOut:
    return s.TokenOut(
        id=token.id,
        name=token.name,
        usage=token.usage,
        group=token.node_group,
        created_at=token.created_at,
        revoked_at=token.revoked_at,
    )


def _node_out(node: Node, group: str) -> s.NodeOut:
    return s.NodeOut(
        id=node.id,
        name=node.name,
        group=group,
        namespace=node.namespace,
        pod=node.pod,
        registered_at=node.registered_at,
        last_seen=node.last_seen,
    )


def _hit_out(hit: Hit) -> s.HitOut:
    return s.HitOut(
        id=hit.id,
        attack_id=hit.attack_id,
        request_id=hit.request_id,
        time=hit.time,
        attack_type=hit.attack_type,
        point=hit.point,
        fragment=hit.fragment,
        rule_id=hit.rule_id,
        blocked=hit.blocked,
        node=hit.node_name,
        node_group=hit.node_group,
        application=hit.application,
        client_ip=hit.client_ip,
        method=hit.method,
        host=hit.host,
        path=hit.path,
        status=hit.status,
        mode=hit.mode,
    )


def _attack_out(attack: Attack) -> s.AttackOut:
    return s.AttackOut(
        id=attack.id,
        attack_type=attack.attack_type,
        client_ip=attack.client_ip,
        host=attack.host,
        path=attack.path,
        node_group=attack.node_group,
        application=attack.application,
        first_seen=attack.first_seen,
        last_seen=attack.last_seen,
        hits=attack.hits,
        blocked_hits=attack.blocked_hits,
        blocked=attack.blocked_hits > 0,
    )


def _entry_out(entry: IpListEntry) -> s.IpListEntryOut:
    return s.IpListEntryOut(
        id=entry.id,
        list=entry.list,
        ip=entry.ip,
        expires_at=entry.expires_at,
        application=entry.application,
        comment=entry.comment,
        created_at=entry.created_at,
    )
