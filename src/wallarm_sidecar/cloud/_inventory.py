"""API inventory (`/api/v1/api-inventory`): what postanalytics' appstructure discovered.

Postanalytics posts observations (endpoint = application, host, method and path
template; its parameters = request point and value type; counts and first/last seen
times since its last report). They are merged: counts add up, `first_seen` takes the
minimum and `last_seen` the maximum, so a report sent twice counts twice but never
loses anything, and reports from several postanalytics replicas add up.

Bounds, since what is reported comes from client traffic: at most `MAX_ENDPOINTS`
endpoints in all and `MAX_PARAMETERS` parameters per endpoint are kept; observations
beyond them are counted as `ignored` in the answer, not stored.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallarm_sidecar.cloud import _schemas as s
from wallarm_sidecar.cloud._db import Database
from wallarm_sidecar.cloud._models import ApiEndpoint, ApiParameter
from wallarm_sidecar.cloud._tokens import TokenUsage

MAX_ENDPOINTS = 100_000
MAX_PARAMETERS = 500
MAX_ENDPOINTS_PER_POST = 500
MAX_PARAMETERS_PER_ENDPOINT = 200
#: Who may post observations (postanalytics with its node credential) and who may read.
INVENTORY_WRITE = frozenset({TokenUsage.DEPLOYMENT.value, "registered-node"})
INVENTORY_READ = frozenset({TokenUsage.DEPLOYMENT.value, TokenUsage.READ_ONLY.value})

#: An HTTP method is an RFC 9110 token.
_TOKEN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
Count = Annotated[int, Field(ge=0, le=10**15)]
Time = Annotated[float, Field(ge=0, le=10**11)]


class ParameterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    point: Annotated[str, Field(min_length=1, max_length=512)]
    type: Annotated[str, Field(max_length=32)] = ""
    count: Count = 0
    first_seen: Time
    last_seen: Time


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: Annotated[str, Field(max_length=200)] = ""
    host: Annotated[str, Field(max_length=255)] = ""
    method: Annotated[
        str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    ]
    path: Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^/")]
    count: Count = 0
    first_seen: Time
    last_seen: Time
    parameters: Annotated[list[ParameterIn], Field(max_length=MAX_PARAMETERS_PER_ENDPOINT)] = []


class InventoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoints: Annotated[list[EndpointIn], Field(max_length=MAX_ENDPOINTS_PER_POST)]


class InventoryMerged(BaseModel):
    #: Endpoints seen for the first time, endpoints updated, observations not kept.
    created: int
    updated: int
    ignored: int


class ParameterOut(BaseModel):
    point: str
    type: str
    count: int
    first_seen: float
    last_seen: float


class EndpointOut(BaseModel):
    id: int
    application: str
    host: str
    method: str
    path: str
    count: int
    first_seen: float
    last_seen: float
    parameters: list[ParameterOut]


def inventory_router(database: Database, allow: Callable[[frozenset[str]], Any]) -> APIRouter:
    """The two routes; `allow(roles)` is the API's own authorisation dependency."""
    router = APIRouter(prefix="/api/v1")
    Writer = Annotated[Any, Depends(allow(INVENTORY_WRITE))]
    Reader = Annotated[Any, Depends(allow(INVENTORY_READ))]

    @router.post("/api-inventory", response_model=InventoryMerged)
    def post_inventory(body: InventoryIn, _who: Writer) -> InventoryMerged:
        """Merge endpoint observations: counts add up, first/last seen widen."""
        with database.write() as session:
            return _merge(session, body.endpoints)

    @router.get("/api-inventory", response_model=s.Page[EndpointOut])
    def list_inventory(
        *,
        _who: Reader,
        method: Annotated[str | None, Query(max_length=16)] = None,
        path_prefix: Annotated[str | None, Query(max_length=1024)] = None,
        application: Annotated[str | None, Query(max_length=200)] = None,
        host: Annotated[str | None, Query(max_length=255)] = None,
        seen_since: Annotated[float | None, Query(ge=0)] = None,
        limit: Annotated[int, Query(ge=1, le=s.MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> Any:
        """Endpoints by application, host, path and method, each with its parameters."""
        query = select(ApiEndpoint).order_by(
            ApiEndpoint.application, ApiEndpoint.host, ApiEndpoint.path, ApiEndpoint.method
        )
        if method is not None:
            query = query.where(ApiEndpoint.method == method.upper())
        if path_prefix:
            escaped = path_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(ApiEndpoint.path.like(escaped + "%", escape="\\"))
        if application is not None:
            query = query.where(ApiEndpoint.application == application)
        if host is not None:
            query = query.where(ApiEndpoint.host == host)
        if seen_since is not None:
            query = query.where(ApiEndpoint.last_seen >= seen_since)
        with database.read() as session:
            found = list(session.scalars(query.limit(limit + 1).offset(offset)))
            page = found[:limit]
            parameters: dict[int, list[ParameterOut]] = {endpoint.id: [] for endpoint in page}
            if page:
                rows = session.scalars(
                    select(ApiParameter)
                    .where(ApiParameter.endpoint_id.in_(list(parameters)))
                    .order_by(ApiParameter.point, ApiParameter.value_type)
                )
                for row in rows:
                    parameters[row.endpoint_id].append(
                        ParameterOut(
                            point=row.point,
                            type=row.value_type,
                            count=row.count,
                            first_seen=row.first_seen,
                            last_seen=row.last_seen,
                        )
                    )
            items = [
                EndpointOut(
                    id=endpoint.id,
                    application=endpoint.application,
                    host=endpoint.host,
                    method=endpoint.method,
                    path=endpoint.path,
                    count=endpoint.count,
                    first_seen=endpoint.first_seen,
                    last_seen=endpoint.last_seen,
                    parameters=parameters[endpoint.id],
                )
                for endpoint in page
            ]
        return {
            "items": items,
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if len(found) > limit else None,
        }

    return router


def _merge(session: Session, items: list[EndpointIn]) -> InventoryMerged:
    created = updated = ignored = 0
    # The same endpoint twice in one body merges into one observation first.
    merged: dict[tuple[str, str, str, str], EndpointIn] = {}
    for item in items:
        key = (item.application, item.host, item.method.upper(), item.path)
        if key in merged:
            _widen(merged[key], item)
        else:
            merged[key] = item.model_copy(update={"method": key[2]}, deep=True)
    keys = list(merged)
    existing: dict[tuple[str, str, str, str], ApiEndpoint] = {}
    for start in range(0, len(keys), 100):
        chunk = keys[start : start + 100]
        rows = session.scalars(
            select(ApiEndpoint)
            .where(
                tuple_(
                    ApiEndpoint.application, ApiEndpoint.host, ApiEndpoint.method, ApiEndpoint.path
                ).in_(chunk)
            )
            .with_for_update()
        )
        for row in rows:
            existing[(row.application, row.host, row.method, row.path)] = row
    total = session.scalar(select(func.count()).select_from(ApiEndpoint)) or 0
    for key, item in merged.items():
        endpoint = existing.get(key)
        if endpoint is None:
            if total >= MAX_ENDPOINTS:
                ignored += 1
                continue
            endpoint, fresh = _insert_endpoint(session, key, item)
            if endpoint is None:
                ignored += 1
                continue
            total += 1
            created += int(fresh)
            updated += int(not fresh)
        else:
            endpoint.count += item.count
            endpoint.first_seen = min(endpoint.first_seen, item.first_seen)
            endpoint.last_seen = max(endpoint.last_seen, item.last_seen)
            updated += 1
            fresh = False
        ignored += _merge_parameters(session, endpoint, item.parameters, fresh=fresh)
    session.flush()
    return InventoryMerged(created=created, updated=updated, ignored=ignored)


def _widen(into: EndpointIn, item: EndpointIn) -> None:
    into.count += item.count
    into.first_seen = min(into.first_seen, item.first_seen)
    into.last_seen = max(into.last_seen, item.last_seen)
    into.parameters.extend(item.parameters)


def _insert_endpoint(
    session: Session, key: tuple[str, str, str, str], item: EndpointIn
) -> tuple[ApiEndpoint | None, bool]:
    """A new endpoint (True); if a concurrent writer inserted it first, theirs, updated."""
    application, host, method, path = key
    endpoint = ApiEndpoint(
        application=application,
        host=host,
        method=method,
        path=path,
        count=item.count,
        first_seen=item.first_seen,
        last_seen=item.last_seen,
    )
    try:
        with session.begin_nested():
            session.add(endpoint)
            session.flush()
        return endpoint, True
    except IntegrityError:
        found = session.scalar(
            select(ApiEndpoint)
            .where(
                ApiEndpoint.application == application,
                ApiEndpoint.host == host,
                ApiEndpoint.method == method,
                ApiEndpoint.path == path,
            )
            .with_for_update()
        )
        if found is not None:
            found.count += item.count
            found.first_seen = min(found.first_seen, item.first_seen)
            found.last_seen = max(found.last_seen, item.last_seen)
        return found, False


def _merge_parameters(
    session: Session, endpoint: ApiEndpoint, items: list[ParameterIn], *, fresh: bool
) -> int:
    ignored = 0
    known: dict[tuple[str, str], ApiParameter] = {}
    if not fresh:
        for row in session.scalars(
            select(ApiParameter).where(ApiParameter.endpoint_id == endpoint.id).with_for_update()
        ):
            known[(row.point, row.value_type)] = row
    for item in items:
        key = (item.point, item.type)
        parameter = known.get(key)
        if parameter is None:
            if len(known) >= MAX_PARAMETERS:
                ignored += 1
                continue
            parameter = ApiParameter(
                endpoint_id=endpoint.id,
                point=item.point,
                value_type=item.type,
                count=item.count,
                first_seen=item.first_seen,
                last_seen=item.last_seen,
            )
            session.add(parameter)
            known[key] = parameter
        else:
            parameter.count += item.count
            parameter.first_seen = min(parameter.first_seen, item.first_seen)
            parameter.last_seen = max(parameter.last_seen, item.last_seen)
    return ignored


__all__ = [
    "INVENTORY_READ",
    "INVENTORY_WRITE",
    "MAX_ENDPOINTS",
    "MAX_PARAMETERS",
    "EndpointIn",
    "InventoryIn",
    "inventory_router",
]
