"""A small FastAPI app around the admin plane, for in-process tests (httpx ASGITransport).

Its error handler stands in for the app's renderer: OpenAI-shaped bodies, the statuses of
our typed errors. A data-plane route ``POST /v1/echo`` runs the plane's policy chain."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from llm_router.admin_plane import AdminPlane, AdminSettings, build_admin_plane
from llm_router.errors import (
    BudgetExceeded,
    InvalidRequest,
    Overloaded,
    PermissionDenied,
    RateLimited,
    RouterError,
    Unauthorized,
)
from llm_router.messages import ChatRequest, Message, Usage
from llm_router.observability.state import RequestState
from llm_router.observability.usage import build_record
from llm_router.policies.base import PolicyChain, RequestContext
from tests.storage.db import database_url

ADMIN_KEY = "admin-" + "k" * 40
MASTER_KEY = "master-" + "m" * 40


def _status(exc: RouterError) -> tuple[int, str | None]:
    if isinstance(exc, Unauthorized):
        return 401, "invalid_api_key"
    if isinstance(exc, PermissionDenied):
        return 403, None
    if isinstance(exc, RateLimited):
        return 429, "rate_limit_exceeded"
    if isinstance(exc, BudgetExceeded):
        return 429, "insufficient_quota"
    if isinstance(exc, InvalidRequest):
        return exc.status, None
    if isinstance(exc, Overloaded):
        return 503, None
    return 500, None


def make_app(plane: AdminPlane) -> FastAPI:
    app = FastAPI()
    plane.install(app)
    chain = PolicyChain(plane.policies)
    counter = itertools.count()

    @app.exception_handler(RouterError)
    async def router_error(request: Request, exc: RouterError) -> JSONResponse:
        status, code = _status(exc)
        headers = dict(getattr(request.state, "policy_headers", {}))
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            headers["retry-after"] = str(max(1, math.ceil(retry)))
        body = {"error": {"message": exc.message, "type": exc.type, "param": getattr(exc, "param", None),
                          "code": code}}
        return JSONResponse(body, status, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": {"message": str(exc.errors()[:1]), "type": "invalid_request_error",
                                       "param": None, "code": None}}, 422)

    @app.post("/v1/echo")
    async def echo(request: Request) -> JSONResponse:
        """A stand-in data-plane endpoint: admit, check, a fixed usage, settle, and a usage
        record to the plane's sink as the app's Observer gives it."""
        body = await request.json()
        state = RequestState(f"req-{next(counter)}", "openai", route="smart", provider="openai",
                             model=body.get("model", ""))
        ctx = RequestContext(surface="openai", headers=request.headers, state=state)
        request.state.policy_headers = ctx.response_headers
        status = 500
        try:
            await chain.admit(ctx)
            ctx.model = body.get("model", "")
            ctx.request = ChatRequest(model=ctx.model, messages=(Message("user", body.get("prompt", "hi")),),
                                      max_tokens=body.get("max_tokens"))
            try:
                await chain.check(ctx)
                state.usage = Usage(body.get("input_tokens", 10), body.get("output_tokens", 5))
                ctx.cost_usd = body.get("cost_usd")
                status = 200
            finally:
                await chain.settle(ctx)
        except RouterError as exc:
            status = _status(exc)[0]
            raise
        finally:
            plane.usage_sink.add(build_record(state, status, ctx.cost_usd, time.monotonic()))
        return JSONResponse({"ok": True, "principal": ctx.principal.kind, "key_id": ctx.principal.key_id},
                            headers=ctx.response_headers)

    return app


def settings(url: str, **extra: object) -> AdminSettings:
    values: dict[str, object] = {"llm_router_database_url": url, "llm_router_admin_key": ADMIN_KEY,
                                 "llm_router_api_key": MASTER_KEY, "llm_router_usage_flush_interval": 0.2}
    values.update(extra)
    return AdminSettings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_plane(backend: str, **extra: object) -> AsyncIterator[tuple[AdminPlane, httpx.AsyncClient]]:
    async with database_url(backend) as (url, schema):
        plane = build_admin_plane(settings(url, **extra), database_schema=schema)
        assert plane is not None
        await plane.start()
        try:
            transport = httpx.ASGITransport(app=make_app(plane))
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield plane, client
        finally:
            await plane.close()


def admin(key: str = ADMIN_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
