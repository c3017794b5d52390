"""The Console's pages (DESIGN §8): server-rendered HTML over the API's store and helpers.

Login takes a deployment or read-only API token and sets a signed session cookie
(`_session.py`); every POST form carries a CSRF token tied to that session; read-only
sessions see every page and change nothing. Templates autoescape everything, and the
Content-Security-Policy allows no script at all: hits carry attacker-chosen text.
"""

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from sqlalchemy import Integer, and_, cast, func, literal_column, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallarm_sidecar.cloud import _schemas as s
from wallarm_sidecar.cloud._api import (
    _attack_out,
    _entry_out,
    _hit_out,
    _node_config,
    _page,
    _settings_doc,
    _token_out,
    _unexpired,
    _where_equal,
)
from wallarm_sidecar.cloud._db import Database
from wallarm_sidecar.cloud._models import Attack, Hit, IpListEntry, ModeRule, Node, NodeGroup, Token
from wallarm_sidecar.cloud._tokens import (
    TokenUsage,
    create_token,
    hash_secret,
    mark_node_revoked,
    mark_token_revoked,
)
from wallarm_sidecar.cloud.console._chart import render_chart
from wallarm_sidecar.cloud.console._session import (
    LOGIN_COOKIE,
    SECRET_FILE,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    ConsoleSecret,
    csrf_ok,
    csrf_token,
    issue_session,
    parse_session,
    verify_session,
)
from wallarm_sidecar.cloud.console._views import (
    EXPIRIES,
    MODES,
    PERIOD_NAMES,
    AttackFilter,
    Bucket,
    ago,
    attack_type_label,
    chart_buckets,
    datetime_value,
    parse_attack_filter,
    parse_offset,
    safe_next,
    utc,
)

HERE = Path(__file__).resolve().parent
ATTACKS_PAGE = 50
HITS_PAGE = 100
LIST_PAGE = 200
MAX_FORM = 64 * 1024
#: At most this many (attack, point, node) rows back the points and nodes of a list page.
WHERE_ROWS = 2000
MAX_TOKEN = 512
LOGIN_USAGES = frozenset({TokenUsage.DEPLOYMENT.value, TokenUsage.READ_ONLY.value})
WRITERS = frozenset({TokenUsage.DEPLOYMENT.value})
#: The files under static/ and their types (nothing else is served from there).
STATIC = {"console.css": "text/css", "favicon.svg": "image/svg+xml"}
#: No script may run, nothing loads from elsewhere, no page frames this one.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: What a page says after a change (`?done=` is a key here, never text from the URL).
DONE = {
    "logged-out": "You have logged out.",
    "node-revoked": "The node is revoked: its credential is refused from now on.",
    "token-revoked": "The token is revoked: it is refused from now on.",
    "ip-added": "The entry is added; nodes get it with their next configuration sync.",
    "ip-deleted": "The entry is deleted.",
    "rule-saved": "The rule is saved; nodes get it with their next configuration sync.",
    "rule-deleted": "The rule is deleted.",
}
NAV = (
    ("attacks", "Attacks"),
    ("nodes", "Nodes"),
    ("tokens", "API tokens"),
    ("ip-lists", "IP lists"),
    ("settings", "Settings"),
)


class LoginRequired(Exception):
    """No valid session: the browser goes to the login page."""


class Refused(Exception):
    """A request the Console answers with an error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    token_id: int
    name: str
    usage: str
    #: The session cookie's value: CSRF tokens are bound to it.
    session: str

    @property
    def can_write(self) -> bool:
        return self.usage in WRITERS


@dataclass(frozen=True, slots=True)
class Posted:
    """A POSTed form whose CSRF token matched the caller's session."""

    user: ConsoleUser
    fields: dict[str, str]


def secret_path(database: Database) -> Path | None:
    """The Console secret's file: beside a SQLite database file, else none."""
    if not database.is_sqlite:
        return None
    name = make_url(database.url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).parent / SECRET_FILE


def _errors(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'form'}: {e['msg']}" for e in error.errors()
    )


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = utc
    env.filters["attack_type"] = attack_type_label
    env.filters["datetime_value"] = datetime_value
    env.globals.update(NAV=NAV, MODES=MODES, EXPIRIES=EXPIRIES, PERIOD_NAMES=PERIOD_NAMES)
    return env


async def _form(request: Request) -> dict[str, str]:
    """A url-encoded form body, bounded; the last value of a repeated field wins."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(415, "the Console takes url-encoded forms only")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise Refused(413, f"a form larger than {MAX_FORM} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the form is not valid UTF-8 url-encoded text") from None
    return dict(pairs)


def mount_console(app: FastAPI, database: Database) -> None:
    """Serve the Console at `/` of the Cloud's app (its routes stay out of the OpenAPI)."""
    secret = ConsoleSecret(secret_path(database))
    env = _environment()
    router = APIRouter(include_in_schema=False)

    def render(
        request: Request,
        template: str,
        user: ConsoleUser | None,
        *,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        done = DONE.get(request.query_params.get("done", ""))
        context.setdefault("error", None)
        html = env.get_template(template).render(
            user=user,
            csrf=csrf_token(secret.key, user.session) if user else "",
            now=time.time(),
            done=done,
            ago=lambda moment: ago(moment, time.time()),
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def redirect(location: str) -> RedirectResponse:
        return RedirectResponse(location, status_code=303, headers=HEADERS)

    def current_user(request: Request) -> ConsoleUser:
        value = request.cookies.get(SESSION_COOKIE)
        claims = parse_session(value, time.time())
        if value is None or claims is None:
            raise LoginRequired
        with database.read() as session:
            token = session.get(Token, claims.token_id)
        if (
            token is None
            or token.revoked_at is not None
            or token.usage not in LOGIN_USAGES
            or not verify_session(secret.key, claims, token.token_hash)
        ):
            raise LoginRequired
        return ConsoleUser(token.id, token.name, token.usage, value)

    def posted(request: Request, fields: Annotated[dict[str, str], Depends(_form)]) -> Posted:
        user = current_user(request)
        if not csrf_ok(secret.key, user.session, fields.get("csrf")):
            raise Refused(403, "the form is stale or not from this Console: reload the page")
        return Posted(user, fields)

    def writer(form: Annotated[Posted, Depends(posted)]) -> Posted:
        if not form.user.can_write:
            raise Refused(403, "a read-only token may look at everything but change nothing")
        return form

    User = Annotated[ConsoleUser, Depends(current_user)]
    Write = Annotated[Posted, Depends(writer)]

    # -- login -------------------------------------------------------------------------------
    def login_page(request: Request, *, status: int = 200, error: str | None = None) -> Response:
        nonce = secrets.token_urlsafe(16)
        response = render(
            request,
            "login.html",
            None,
            status=status,
            error=error,
            login_csrf=csrf_token(secret.key, "login." + nonce),
            next=safe_next(request.query_params.get("next")),
        )
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=3600,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.get("/login")
    def login_form(request: Request) -> Response:
        try:
            current_user(request)
        except LoginRequired:
            return login_page(request)
        return redirect(safe_next(request.query_params.get("next")))

    @router.post("/login")
    def login(request: Request, fields: Annotated[dict[str, str], Depends(_form)]) -> Response:
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce or not csrf_ok(secret.key, "login." + nonce, fields.get("csrf")):
            return login_page(request, status=403, error="The login form expired: try again.")
        secret_text = fields.get("token", "").strip()
        with database.read() as session:
            token = (
                session.scalar(select(Token).where(Token.token_hash == hash_secret(secret_text)))
                if 0 < len(secret_text) <= MAX_TOKEN
                else None
            )
        if token is None or token.revoked_at is not None:
            return login_page(request, status=401, error="Unknown or revoked token.")
        if token.usage not in LOGIN_USAGES:
            return login_page(
                request,
                status=403,
                error="Only deployment and read-only API tokens log in to the Console.",
            )
        cookie = issue_session(
            secret.key, token_id=token.id, token_hash=token.token_hash, now=time.time()
        )
        response = redirect(safe_next(fields.get("next")))
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=SESSION_LIFETIME,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @router.post("/logout")
    def logout(_form: Annotated[Posted, Depends(posted)]) -> Response:
        response = redirect("/login?done=logged-out")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/")
    def home() -> Response:
        return redirect("/attacks")

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            raise Refused(404, "no such file")
        return Response(
            (HERE / "static" / name).read_bytes(),
            media_type=STATIC[name],
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    # -- attacks -----------------------------------------------------------------------------
    @router.get("/attacks")
    def attacks(request: Request, user: User) -> Response:
        wanted, problems = parse_attack_filter(request.query_params)
        now = time.time()
        since, until = wanted.window(now)
        with database.read() as session:
            query = _where_equal(
                select(Attack).order_by(Attack.last_seen.desc(), Attack.id.desc()),
                (Attack.attack_type, wanted.type),
                (Attack.node_group, wanted.node_group),
                (Attack.application, wanted.application),
            )
            if since is not None:
                query = query.where(Attack.last_seen >= since)
            if until is not None:
                query = query.where(Attack.first_seen <= until)
            if wanted.blocked is not None:
                query = query.where(
                    Attack.blocked_hits > 0 if wanted.blocked else Attack.blocked_hits == 0
                )
            page = _page(session, query, ATTACKS_PAGE, wanted.offset, _attack_out)
            where = _where_found(session, [attack.id for attack in page["items"]])
            buckets = _chart(session, wanted, since, until, now)
            choices = _choices(session)
        return render(
            request,
            "attacks.html",
            user,
            page_name="attacks",
            filter=wanted,
            problems=problems,
            page=page,
            where=where,
            chart=render_chart(buckets),
            chart_from=buckets[0].start if buckets else now,
            chart_until=buckets[-1].end if buckets else now,
            blocked_hits=sum(bucket.blocked for bucket in buckets),
            monitored_hits=sum(bucket.monitored for bucket in buckets),
            newer=wanted.query(offset=max(wanted.offset - ATTACKS_PAGE, 0))
            if wanted.offset
            else None,
            older=wanted.query(offset=page["next_offset"]) if page["next_offset"] else None,
            **choices,
        )

    @router.get("/attacks/{attack_id}")
    def attack_detail(request: Request, user: User, attack_id: str) -> Response:
        offset = parse_offset(request.query_params.get("offset"))
        with database.read() as session:
            attack = session.get(Attack, _id(attack_id, "attack"))
            if attack is None:
                raise Refused(404, "no such attack")
            hits = _page(
                session,
                select(Hit)
                .where(Hit.attack_id == attack.id)
                .order_by(Hit.time.desc(), Hit.id.desc()),
                HITS_PAGE,
                offset,
                _hit_out,
            )
        return render(
            request,
            "attack.html",
            user,
            page_name="attacks",
            attack=_attack_out(attack),
            hits=hits,
            newer=max(offset - HITS_PAGE, 0) if offset else None,
            older=hits["next_offset"],
        )

    # -- nodes -------------------------------------------------------------------------------
    @router.get("/nodes")
    def nodes(request: Request, user: User) -> Response:
        group = request.query_params.get("group", "")[:200] or None
        offset = parse_offset(request.query_params.get("offset"))
        with database.read() as session:
            query = select(Node, NodeGroup.name).join(NodeGroup, Node.group_id == NodeGroup.id)
            if group is not None:
                query = query.where(NodeGroup.name == group)
            query = query.order_by(NodeGroup.name, Node.name)
            page = _page(session, query, LIST_PAGE, offset, _node_row, rows=True)
            groups = session.execute(
                select(NodeGroup.name, func.count(Node.id))
                .outerjoin(Node, and_(Node.group_id == NodeGroup.id, Node.revoked_at.is_(None)))
                .group_by(NodeGroup.name)
                .order_by(NodeGroup.name)
            ).all()
        by_group: dict[str, list[dict[str, Any]]] = {}
        for row in page["items"]:
            by_group.setdefault(row["group"], []).append(row)
        return render(
            request,
            "nodes.html",
            user,
            page_name="nodes",
            group=group,
            groups=[(name, count) for name, count in groups],
            by_group=by_group,
            offset=offset,
            next_offset=page["next_offset"],
            limit=LIST_PAGE,
        )

    @router.post("/nodes/{node_id}/revoke")
    def revoke_node(node_id: str, _form: Write) -> Response:
        with database.write() as session:
            node = session.get(Node, _id(node_id, "node"))
            if node is None:
                raise Refused(404, "no such node")
            mark_node_revoked(node, time.time())
        return redirect("/nodes?done=node-revoked")

    # -- tokens ------------------------------------------------------------------------------
    def tokens_page(
        request: Request,
        user: ConsoleUser,
        *,
        status: int = 200,
        error: str | None = None,
        created: s.TokenCreated | None = None,
        fields: dict[str, str] | None = None,
    ) -> Response:
        offset = parse_offset(request.query_params.get("offset"))
        with database.read() as session:
            page = _page(session, select(Token).order_by(Token.id), LIST_PAGE, offset, _token_out)
        return render(
            request,
            "tokens.html",
            user,
            status=status,
            page_name="tokens",
            page=page,
            offset=offset,
            limit=LIST_PAGE,
            error=error,
            created=created,
            fields=fields or {},
        )

    @router.get("/tokens")
    def tokens(request: Request, user: User) -> Response:
        return tokens_page(request, user)

    @router.post("/tokens")
    def create_api_token(request: Request, form: Write) -> Response:
        fields = form.fields
        try:
            body = s.TokenCreate(
                usage=fields.get("usage", ""),  # type: ignore[arg-type]
                group=fields.get("group", "").strip() or None,
                name=fields.get("name", "").strip(),
            )
        except ValidationError as error:
            return tokens_page(request, form.user, status=422, error=_errors(error), fields=fields)
        with database.write() as session:
            token, plaintext = create_token(
                session, usage=body.usage, group=body.group, name=body.name
            )
            created = s.TokenCreated(**_token_out(token).model_dump(), token=plaintext)
        return tokens_page(request, form.user, status=201, created=created)

    @router.post("/tokens/{token_id}/revoke")
    def revoke_token(token_id: str, _form: Write) -> Response:
        with database.write() as session:
            token = session.get(Token, _id(token_id, "token"))
            if token is None:
                raise Refused(404, "no such token")
            mark_token_revoked(token, time.time())
        return redirect("/tokens?done=token-revoked")

    # -- IP lists ----------------------------------------------------------------------------
    def ip_lists_page(
        request: Request,
        user: ConsoleUser,
        *,
        status: int = 200,
        error: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> Response:
        params = request.query_params
        kind = params.get("list") if params.get("list") in ("allow", "deny", "gray") else None
        include_expired = params.get("include_expired") == "1"
        offset = parse_offset(params.get("offset"))
        with database.read() as session:
            query = select(IpListEntry).order_by(IpListEntry.id)
            if kind is not None:
                query = query.where(IpListEntry.list == kind)
            if not include_expired:
                query = query.where(_unexpired(time.time()))
            page = _page(session, query, LIST_PAGE, offset, _entry_out)
        return render(
            request,
            "ip_lists.html",
            user,
            status=status,
            page_name="ip-lists",
            page=page,
            kind=kind,
            include_expired=include_expired,
            offset=offset,
            limit=LIST_PAGE,
            error=error,
            fields=fields or {},
        )

    @router.get("/ip-lists")
    def ip_lists(request: Request, user: User) -> Response:
        return ip_lists_page(request, user)

    @router.post("/ip-lists")
    def add_ip_list_entry(request: Request, form: Write) -> Response:
        fields = form.fields
        expiry = fields.get("expires", "never")
        if expiry not in EXPIRIES:
            return ip_lists_page(
                request, form.user, status=422, error="expires: not a choice", fields=fields
            )
        seconds = EXPIRIES[expiry]
        try:
            body = s.IpListEntryIn(
                list=fields.get("list", ""),  # type: ignore[arg-type]
                ip=fields.get("ip", ""),
                expires_at=time.time() + seconds if seconds is not None else None,
                application=fields.get("application", "").strip() or None,
                comment=fields.get("comment", "").strip(),
            )
        except ValidationError as error:
            return ip_lists_page(
                request, form.user, status=422, error=_errors(error), fields=fields
            )
        with database.write() as session:
            session.add(IpListEntry(**body.model_dump(), created_at=time.time()))
        return redirect("/ip-lists?done=ip-added")

    @router.post("/ip-lists/{entry_id}/delete")
    def delete_ip_list_entry(entry_id: str, _form: Write) -> Response:
        with database.write() as session:
            entry = session.get(IpListEntry, _id(entry_id, "IP list entry"))
            if entry is None:
                raise Refused(404, "no such IP list entry")
            session.delete(entry)
        return redirect("/ip-lists?done=ip-deleted")

    # -- settings ----------------------------------------------------------------------------
    def settings_page(
        request: Request,
        user: ConsoleUser,
        *,
        status: int = 200,
        error: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> Response:
        with database.read() as session:
            rules = _settings_doc(session).rules
            groups = session.scalars(select(NodeGroup.name).order_by(NodeGroup.name)).all()
            effective = [(group, _node_config(session, group)) for group in groups]
            applications = sorted(
                {
                    *session.scalars(select(Attack.application).distinct()),
                    *(rule.application for rule in rules if rule.application),
                }
                - {""}
            )
        return render(
            request,
            "settings.html",
            user,
            status=status,
            page_name="settings",
            rules=rules,
            groups=groups,
            applications=applications,
            effective=effective,
            error=error,
            fields=fields or {},
        )

    @router.get("/settings")
    def settings(request: Request, user: User) -> Response:
        return settings_page(request, user)

    def rule_scope(request: Request, form: Posted) -> tuple[s.ModeRuleIn | None, Response | None]:
        fields = form.fields
        try:
            rule = s.ModeRuleIn(
                node_group=fields.get("node_group", "").strip() or None,
                application=fields.get("application", "").strip() or None,
                mode=fields.get("mode", "monitoring"),  # type: ignore[arg-type]
            )
        except ValidationError as error:
            page = settings_page(
                request, form.user, status=422, error=_errors(error), fields=fields
            )
            return None, page
        return rule, None

    @router.post("/settings/rules")
    def save_rule(request: Request, form: Write) -> Response:
        rule, problem = rule_scope(request, form)
        if rule is None:
            return problem or redirect("/settings")
        try:
            with database.write() as session:
                found = session.scalar(_rule_query(rule))
                if found is None:
                    count = session.scalar(select(func.count(ModeRule.id))) or 0
                    if count >= s.MAX_RULES:
                        raise Refused(409, f"at most {s.MAX_RULES} rules")
                    session.add(
                        ModeRule(
                            node_group=rule.node_group or "",
                            application=rule.application or "",
                            mode=rule.mode,
                        )
                    )
                else:
                    found.mode = rule.mode
        except IntegrityError:
            raise Refused(409, "the rule changed meanwhile: reload and try again") from None
        return redirect("/settings?done=rule-saved")

    @router.post("/settings/rules/delete")
    def delete_rule(request: Request, form: Write) -> Response:
        rule, problem = rule_scope(request, form)
        if rule is None:
            return problem or redirect("/settings")
        with database.write() as session:
            found = session.scalar(_rule_query(rule))
            if found is not None:
                session.delete(found)
        return redirect("/settings?done=rule-deleted")

    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _error: LoginRequired) -> Response:
        location = "/login"
        if request.method == "GET":
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            location += "?next=" + quote(safe_next(path), safe="")
        response = redirect(location)
        if SESSION_COOKIE in request.cookies:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(Refused)
    async def error_page(request: Request, error: Refused) -> Response:
        return render(request, "error.html", None, status=error.status, message=error.message)


def _id(text: str, what: str) -> int:
    """A row id from a URL: digits that fit the database's integers, else a 404 page."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise Refused(404, f"no such {what}")
    return int(text)


def _rule_query(rule: s.ModeRuleIn) -> Any:
    return select(ModeRule).where(
        ModeRule.node_group == (rule.node_group or ""),
        ModeRule.application == (rule.application or ""),
    )


def _node_row(row: Any) -> dict[str, Any]:
    node, group = row[0], row[1]
    return {
        "id": node.id,
        "name": node.name,
        "group": group,
        "namespace": node.namespace,
        "pod": node.pod,
        "registered_at": node.registered_at,
        "last_seen": node.last_seen,
        "revoked_at": node.revoked_at,
    }


def _where_found(session: Session, attack_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """The request points and nodes of each listed attack (a few each, for the list)."""
    found: dict[int, dict[str, list[str]]] = {
        attack_id: {"points": [], "nodes": []} for attack_id in attack_ids
    }
    if not attack_ids:
        return found
    rows = session.execute(
        select(Hit.attack_id, Hit.point, Hit.node_name)
        .where(Hit.attack_id.in_(attack_ids))
        .distinct()
        .limit(WHERE_ROWS)
    )
    for attack_id, point, node in rows:
        entry = found[attack_id]
        for key, value in (("points", point), ("nodes", node)):
            if value and value not in entry[key]:
                entry[key].append(value)
    return found


def _choices(session: Session) -> dict[str, Any]:
    """What the Attacks filters offer: the values the store holds."""
    types = session.scalars(select(Attack.attack_type).distinct()).all()
    groups = {
        *session.scalars(select(NodeGroup.name)),
        *session.scalars(select(Attack.node_group).distinct()),
    }
    applications = session.scalars(select(Attack.application).distinct()).all()
    return {
        "types": sorted(types),
        "groups": sorted(groups - {""}),
        "applications": sorted(set(applications) - {""}),
    }


def _chart(
    session: Session,
    wanted: AttackFilter,
    since: float | None,
    until: float | None,
    now: float,
) -> list[Bucket]:
    """Blocked and monitored hits per bucket of the filter's window, in one query."""

    def narrowed(query: Any) -> Any:
        query = _where_equal(
            query,
            (Hit.attack_type, wanted.type),
            (Hit.node_group, wanted.node_group),
            (Hit.application, wanted.application),
            (Hit.blocked, wanted.blocked),
        )
        if since is not None:
            query = query.where(Hit.time >= since)
        if until is not None:
            query = query.where(Hit.time <= until)
        return query

    start, end = since, until
    if start is None or end is None:
        first, last = session.execute(
            narrowed(select(func.min(Hit.time), func.max(Hit.time)))
        ).one()
        start = start if start is not None else (first if first is not None else now - 86400)
        end = end if end is not None else max(now, last or now)
    buckets = chart_buckets(start, end)
    if not buckets:
        return []
    # One pass, grouped by bar: the bar's index is (time - first start) // width. Times
    # are >= the first start here, so SQLite's truncating cast is a floor; PostgreSQL's
    # cast rounds, so it gets floor() (which SQLite lacks unless built with math).
    first, width = buckets[0].start, buckets[0].end - buckets[0].start
    # Literals, not bound parameters: GROUP BY must repeat the very same expression.
    offset = (Hit.time - literal_column(repr(float(first)))) / literal_column(repr(float(width)))
    is_sqlite = session.get_bind().dialect.name == "sqlite"
    index = cast(offset, Integer) if is_sqlite else cast(func.floor(offset), Integer)
    query = narrowed(select(index, Hit.blocked, func.count())).where(
        Hit.time >= first, Hit.time < buckets[-1].end
    )
    counts: dict[tuple[int, bool], int] = {}
    for bar, blocked, count in session.execute(query.group_by(index, Hit.blocked)):
        counts[int(bar), bool(blocked)] = int(count)
    return [
        Bucket(bucket.start, bucket.end, counts.get((i, True), 0), counts.get((i, False), 0))
        for i, bucket in enumerate(buckets)
    ]
