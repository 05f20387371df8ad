"""Operational routes: liveness, readiness, Prometheus metrics and the usage API."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from llm_router.api.auth import require_admin
from llm_router.errors import InvalidRequest
from llm_router.observability.metrics import Metrics
from llm_router.observability.usage import UsageLedger

router = APIRouter()
MAX_WINDOW = 86_400


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


@router.get("/health")
async def health(request: Request) -> Response:
    """Liveness: the process answers. Lists configured providers, never their keys."""
    return _json({"status": "ok", "providers": request.app.state.gateway.router.factory.available()})


@router.get("/ready")
async def ready(request: Request) -> Response:
    """Readiness: configuration loaded and the upstream client open."""
    return _json({"status": "ready", "routes": [n for n, _ in request.app.state.gateway.router.names()]})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus exposition."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/v1/usage", dependencies=[Depends(require_admin)])
async def usage(request: Request, window: int = 3600, group_by: str = "model") -> Response:
    """Totals over the last ``window`` seconds, grouped by model, provider or route (admin)."""
    if group_by not in ("model", "provider", "route"):
        raise InvalidRequest("group_by must be model, provider or route.", "group_by")
    if not 0 < window <= MAX_WINDOW:
        raise InvalidRequest(f"window must be between 1 and {MAX_WINDOW} seconds.", "window")
    plane = request.app.state.admin
    if plane is not None:  # the database ledger: totals survive a restart
        data = await plane.usage_totals(window, group_by)
    else:
        ledger: UsageLedger = request.app.state.ledger
        data = ledger.totals(window, group_by)
    return _json({"object": "usage", "window_seconds": window, "group_by": group_by, "data": data})
