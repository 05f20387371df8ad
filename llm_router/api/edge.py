"""The edge: one pure-ASGI middleware in front of every route.

For every HTTP request it assigns the request id (the client's ``x-request-id`` when it is a
sane token, else a new one), starts the request's :class:`RequestState` (the context the
gateway, router and policies write to), adds ``x-request-id`` to the response, and, for the
data-plane paths (every surface in ``api/surfaces.py``, present and future), hands the finished
request to the Observer once the whole response — a stream included — is over.

A data-plane ``POST`` (an exact path of the same table) goes from here straight to its
:class:`~llm_router.api.endpoint.DataPlaneEndpoint`: the endpoint renders its own errors, so
the exception layers and the route scan behind this middleware add nothing to it. Every other
request — another method (405), a path of no surface, a cross-origin request (``Origin``: CORS
answers it) — goes through the whole application as before.

Before any route runs it refuses what no route should see: a ``Host`` that is not a host
(RFC 9112 §3.2: ``127.0.0.1/health``, ``?``, ``#``, ``@``, spaces) is a 400, and a header over
``max_header_bytes``, headers over ``max_headers_bytes`` in all, or more than ``max_headers``
of them are a 431. Authentication and the body limit are policies (``policies/``); errors are
rendered in ``api/errors.py``. Pure ASGI rather than ``BaseHTTPMiddleware`` so that streams
and client disconnects pass through untouched.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_router.api.errors import error_response
from llm_router.api.surfaces import route_path, surface_for_path
from llm_router.errors import InvalidRequest
from llm_router.observability.observer import Observer
from llm_router.observability.state import begin_request

if TYPE_CHECKING:
    from llm_router.api.endpoint import DataPlaneEndpoint

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# host [":" port], or an IPv6 literal in brackets: nothing else may stand in a Host header.
_VALID_HOST = re.compile(rb"^(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


@dataclass(frozen=True, slots=True)
class HeaderLimits:
    """What a request's headers may add up to (431 beyond)."""

    max_header_bytes: int = 8 * 1024
    max_headers_bytes: int = 32 * 1024
    max_headers: int = 100


class EdgeMiddleware:
    """Request id, request state, and the Observer for data-plane requests."""

    def __init__(self, app: ASGIApp, observer: Observer | None = None,
                 endpoints: Mapping[str, DataPlaneEndpoint] | None = None,
                 limits: HeaderLimits | None = None) -> None:
        self.app = app
        self.limits = limits or HeaderLimits()
        self.observer = observer
        self.endpoints = dict(endpoints or {})  # path -> the endpoint of its surface
        # Request ids only need to be unique, not secret: a seeded PRNG, not a syscall each.
        self._ids = random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        endpoint = self.endpoints.get(route_path(scope))
        surface = endpoint.route.name if endpoint is not None else None
        state = begin_request(request_id, surface or "other")
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state.status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        problem = self._problem(scope["headers"])
        if problem is not None:
            response = error_response(problem, surface_for_path(route_path(scope)))
            await response(scope, receive, send_with_id)
            return
        app = self.app
        if endpoint is not None and scope["method"] == "POST" and not _cross_origin(scope["headers"]):
            app = endpoint
        observer = self.observer if surface is not None else None
        if observer is None:
            await app(scope, receive, send_with_id)
            return
        observer.start(state)
        try:
            await app(scope, receive, send_with_id)
        finally:
            observer.finish(state, state.status)

    def _problem(self, headers: list[tuple[bytes, bytes]]) -> InvalidRequest | None:
        """Why these headers are refused before routing, or None."""
        limits = self.limits
        if len(headers) > limits.max_headers:
            return InvalidRequest(f"Too many headers (the limit is {limits.max_headers}).", None, 431,
                                  "headers_too_large")
        total = 0
        hosts = 0
        for name, value in headers:
            size = len(name) + len(value)
            total += size
            if size > limits.max_header_bytes:
                return InvalidRequest(f"A header is over {limits.max_header_bytes} bytes.", None, 431,
                                      "headers_too_large")
            if name == b"host":
                hosts += 1
                if not _VALID_HOST.match(value):
                    return InvalidRequest("Invalid Host header.", None, 400, "invalid_host")
        if total > limits.max_headers_bytes:
            return InvalidRequest(f"Headers are over {limits.max_headers_bytes} bytes in all.", None, 431,
                                  "headers_too_large")
        if hosts > 1:
            return InvalidRequest("More than one Host header.", None, 400, "invalid_host")
        return None

    def _request_id(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given: str = value.decode("latin-1")
                if _VALID_ID.match(given):
                    return given
                break
        return f"{self._ids.getrandbits(128):032x}"


def _cross_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the request names an ``Origin`` (CORS, when configured, must see it)."""
    return any(name == b"origin" for name, _ in headers)
