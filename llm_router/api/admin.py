"""The admin API: ``/admin/keys``, ``/admin/teams``, ``/admin/usage``, ``/admin/requests``,
``/admin/audit``. JSON in and out; errors are our typed errors (the app's error renderer
shapes them). Every route depends on ``admin_actor``: only the admin key passes (401
without it, 403 for a data-plane key). The services are ``request.app.state.admin``
(an ``AdminPlane``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel
from starlette.responses import Response

from llm_router.admin_service import AdminService, key_out, team_out
from llm_router.api.admin_schema import (
    ID_PATTERN,
    AuditList,
    AuditRow,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    KeyPatch,
    RequestList,
    RequestRow,
    TeamCreate,
    TeamList,
    TeamOut,
    TeamPatch,
    UsageGroup,
    UsageOut,
)
from llm_router.errors import Overloaded
from llm_router.policies.auth import STORAGE_DOWN, STORAGE_ERRORS
from llm_router.storage.ledger import RequestFilter, since_window
from llm_router.storage.records import micros_to_usd
from llm_router.storage.repository import Actor


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


log = logging.getLogger("llm_router.admin")
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (401, "No admin key, or a wrong one."), (403, "A data-plane key: admin routes need the admin key."),
        (404, "No such key or team."), (409, "Conflict (duplicate name, team with active keys)."),
        (503, "The database is unavailable; retry later."))
}
Id = Annotated[str, Path(pattern=ID_PATTERN)]
IdFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class _StorageRoute(APIRoute):
    """An admin route whose database failures are 503 (retry later), never a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except STORAGE_ERRORS:
                log.warning("admin request failed: the database is unavailable", exc_info=True)
                raise Overloaded(STORAGE_DOWN, retry_after=1.0) from None

        return run


def _service(request: Request) -> AdminService:
    return cast(AdminService, request.app.state.admin.service)


async def admin_actor(request: Request) -> Actor:
    """The admin, or 401/403. With ``app.state.admin_access`` (``api/console_access.py``), a
    console session (writes need its CSRF token) and the read-only viewer key pass too."""
    access = getattr(request.app.state, "admin_access", None)
    if access is not None:
        actor = cast(Actor | None, access.actor(request))
        if actor is not None:
            return actor
    return await _service(request).authorize(request.headers)


Admin = Annotated[Actor, Depends(admin_actor)]
router = APIRouter(prefix="/admin", tags=["admin"], responses=_ERRORS, route_class=_StorageRoute)


@router.post("/keys", status_code=201, response_model=KeyCreated)
async def create_key(body: KeyCreate, request: Request, actor: Admin) -> KeyCreated:
    """Create a virtual key. The secret ``key`` is in this answer only."""
    record, secret = await _service(request).create_key(actor, body)
    return KeyCreated(**key_out(record).model_dump(), key=secret)


@router.get("/keys", response_model=KeyList)
async def list_keys(request: Request, _: Admin,
                    team_id: IdFilter = None, include_revoked: bool = False) -> KeyList:
    """Keys (never their secrets)."""
    keys = await _service(request).repository.list_keys(team_id, include_revoked)
    return KeyList(data=[key_out(k) for k in keys])


@router.get("/keys/{key_id}", response_model=KeyOut)
async def get_key(key_id: Id, request: Request, _: Admin) -> KeyOut:
    """One key, with what it spent in its budget's current period."""
    service = _service(request)
    record = await service.key(key_id)
    return key_out(record, await service.spend("key", record.id, record.rules))


@router.patch("/keys/{key_id}", response_model=KeyOut)
async def update_key(key_id: Id, body: KeyPatch, request: Request, actor: Admin) -> KeyOut:
    """Change a key's name, team, models, budget, limits, expiry or metadata."""
    return key_out(await _service(request).update_key(actor, key_id, body))


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def revoke_key(key_id: Id, request: Request, actor: Admin) -> KeyOut:
    """Revoke a key: refused within 1 s on this instance, within the auth-cache TTL elsewhere."""
    return key_out(await _service(request).revoke_key(actor, key_id))


@router.post("/teams", status_code=201, response_model=TeamOut)
async def create_team(body: TeamCreate, request: Request, actor: Admin) -> TeamOut:
    """Create a team; its rules apply to its keys on top of their own."""
    return team_out(await _service(request).create_team(actor, body))


@router.get("/teams", response_model=TeamList)
async def list_teams(request: Request, _: Admin) -> TeamList:
    """Teams."""
    return TeamList(data=[team_out(t) for t in await _service(request).repository.list_teams()])


@router.get("/teams/{team_id}", response_model=TeamOut)
async def get_team(team_id: Id, request: Request, _: Admin) -> TeamOut:
    """One team, with what it spent in its budget's current period."""
    service = _service(request)
    record = await service.team(team_id)
    return team_out(record, await service.spend("team", record.id, record.rules))


@router.patch("/teams/{team_id}", response_model=TeamOut)
async def update_team(team_id: Id, body: TeamPatch, request: Request, actor: Admin) -> TeamOut:
    """Change a team."""
    return team_out(await _service(request).update_team(actor, team_id, body))


@router.delete("/teams/{team_id}", response_model=TeamOut)
async def delete_team(team_id: Id, request: Request, actor: Admin) -> TeamOut:
    """Delete a team with no active keys."""
    return team_out(await _service(request).delete_team(actor, team_id))


@router.get("/usage", response_model=UsageOut)
async def usage(request: Request, _: Admin,
                window: Annotated[int, Query(ge=1, le=400 * 86_400)] = 86_400,
                group_by: Literal["key", "team", "model", "provider", "route"] = "model") -> UsageOut:
    """Totals over the last ``window`` seconds, from the ledger (survives restarts)."""
    service = _service(request)
    await service.flush()
    rows = await service.ledger.totals(since_window(window), group_by)
    return UsageOut(window=window, group_by=group_by,
                    data=[UsageGroup(group=r.pop(group_by), **r) for r in rows])


@router.get("/requests", response_model=RequestList)
async def requests(request: Request, _: Admin,
                   key_id: IdFilter = None, team_id: IdFilter = None, model: TextFilter = None,
                   status: Annotated[int | None, Query(ge=100, le=599)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   before: Annotated[int | None, Query(ge=1)] = None,
                   provider: TextFilter = None, request_id: TextFilter = None,
                   since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                   outcome: Literal["ok", "error"] | None = None) -> RequestList:
    """The request log, newest first (no prompt or completion text). ``since``/``until``:
    ISO 8601 times with a zone; ``outcome``: ``ok`` (status < 400) or ``error``."""
    service = _service(request)
    await service.flush()
    rows = await service.ledger.requests(RequestFilter(key_id, team_id, model, status, before, limit,
                                                       provider, request_id, since, until, outcome))
    data = [RequestRow(**r, cost_usd=micros_to_usd(r["cost_micros"]) if r["cost_micros"] is not None
                       else None) for r in rows]
    return RequestList(data=data, next_before=data[-1].id if len(data) == limit else None)


@router.get("/audit", response_model=AuditList)
async def audit(request: Request, _: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                before: Annotated[int | None, Query(ge=1)] = None,
                target_id: IdFilter = None) -> AuditList:
    """Every admin change, newest first."""
    rows = await _service(request).ledger.audit(limit, before, target_id)
    data = [AuditRow(id=r.id, actor=r.actor, action=r.action, target_type=r.target_type,
                     target_id=r.target_id, before=r.before, after=r.after, created_at=r.created_at)
            for r in rows]
    return AuditList(data=data, next_before=data[-1].id if len(data) == limit else None)
