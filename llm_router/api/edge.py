"""The edge: one pure-ASGI middleware in front of every route, the outermost layer.

For every HTTP request it reads the headers once, assigns the request id (the client's first
``x-request-id`` when it is a sane token, else a new one), starts the request's
:class:`RequestState` (the context the gateway, router and policies write to), adds
``x-request-id`` to the response, and, for the data-plane paths (every surface in
``api/surfaces.py``, present and future), hands the finished request to the Observer once the
whole response — a stream included — is over. Under ``llm-router serve`` it also tracks each
exchange for the drain (``drain.py``: ``/ready`` 503 while draining, the cut at the end of the
grace) in the same ``send`` wrapper: the drain is no layer of its own.

A data-plane ``POST`` (an exact path of the same table) goes from here straight to its
:class:`~llm_router.api.endpoint.DataPlaneEndpoint`: the endpoint renders its own errors, so
the server-error guard, the exception layers and the route scan behind this middleware add
nothing to it (an exception it lets out before its response started is still a 500 in its
surface's shape). Every other request — another method (405), a path of no surface, a
cross-origin request (``Origin``: CORS answers it) — goes through the whole application.

Before any route runs it refuses what no route should see: a ``Host`` that is not a host
(RFC 9112 §3.2: ``127.0.0.1/health``, ``?``, ``#``, ``@``, spaces) is a 400, and a header over
``max_header_bytes``, headers over ``max_headers_bytes`` in all, or more than ``max_headers``
of them are a 431. Authentication and the body limit are policies (``policies/``); errors are
rendered in ``api/errors.py``. Pure ASGI rather than ``BaseHTTPMiddleware`` so that streams
and client disconnects pass through untouched.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_router.aio import bind_loop
from llm_router.api.errors import error_response
from llm_router.api.surfaces import route_path, surface_for_path
from llm_router.errors import InvalidRequest
from llm_router.observability.observer import Observer
from llm_router.observability.state import RequestState, begin_request

if TYPE_CHECKING:
    from llm_router.api.endpoint import DataPlaneEndpoint
    from llm_router.drain import Drain, InFlight

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
    """Request id, request state, drain tracking, and the Observer for data-plane requests."""

    def __init__(self, app: ASGIApp, observer: Observer | None = None,
                 endpoints: Mapping[str, DataPlaneEndpoint] | None = None,
                 limits: HeaderLimits | None = None, drain: Drain | None = None) -> None:
        self.app = app
        self.limits = limits or HeaderLimits()
        self.observer = observer
        self.endpoints = dict(endpoints or {})  # path -> the endpoint of its surface
        self.drain = drain
        # Request ids only need to be unique, not secret: a seeded PRNG, not a syscall each.
        self._ids = random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bind_loop()  # the request's one running-loop lookup (llm_router/aio.py)
        path = route_path(scope)
        drain = self.drain
        if drain is not None and drain.draining and path == "/ready":
            await drain.refuse_ready(send)
            return
        endpoint, state, origin, problem = self._begin(scope, path)
        id_header = (b"x-request-id", state.request_id.encode())
        exchange: InFlight | None = None
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            kind = message["type"]
            if kind == "http.response.start":
                started = True
                state.status = message["status"]
                message["headers"] = headers = [*message.get("headers", ()), id_header]
                if exchange is not None:
                    exchange.start(headers)
            elif exchange is not None and kind == "http.response.body" and not message.get("more_body"):
                exchange.finished = True
            await send(message)

        if problem is not None:
            await error_response(problem, surface_for_path(path))(scope, receive, send_with_id)
            return
        # One frame from here to the endpoint: the drain's bookkeeping, the Observer, and the
        # server-error guard's rule for a direct endpoint are inline here rather than layers.
        app: ASGIApp = self.app
        if endpoint is not None and scope["method"] == "POST" and not origin:
            app = endpoint
        if drain is not None:
            exchange = drain.enter(send, scope["path"])
        observer = self.observer if endpoint is not None else None
        try:
            if observer is not None:
                observer.start(state)
            try:
                await app(scope, receive, send_with_id)
            except Exception as exc:  # a direct endpoint's, as ServerErrorMiddleware does for the rest
                if started or endpoint is None or app is not endpoint:
                    raise
                await error_response(exc, endpoint.route.surface)(scope, receive, send_with_id)
                raise
            finally:
                if observer is not None:
                    observer.finish(state, state.status)
            if drain is not None and exchange is not None and exchange.cut:
                await drain.settle(exchange)
        except asyncio.CancelledError:
            if drain is None or exchange is None or not await drain.absorb(exchange):
                raise
        finally:
            if drain is not None and exchange is not None:
                drain.leave(exchange)

    def _begin(self, scope: Scope, path: str) -> tuple[DataPlaneEndpoint | None, RequestState, bool,
                                                       InvalidRequest | None]:
        """The request's endpoint (None off the data plane), its state, whether it names an
        ``Origin``, and why its headers are refused (or None)."""
        given, origin, problem = _scan(scope["headers"], self.limits)
        endpoint = self.endpoints.get(path)
        uid = f"{self._ids.getrandbits(128):032x}"  # ours, even when the client names its own
        state = begin_request(given or uid, endpoint.route.name if endpoint is not None else "other", uid)
        return endpoint, state, origin, problem


def _scan(headers: list[tuple[bytes, bytes]],
          limits: HeaderLimits) -> tuple[str | None, bool, InvalidRequest | None]:
    """One pass over the request headers: the client's request id (when it is a sane token),
    whether an ``Origin`` is named (CORS, when configured, must see it), and why the headers
    are refused before routing (or None)."""
    given: bytes | None = None
    origin = False
    problem: InvalidRequest | None = None
    total = hosts = 0
    max_header = limits.max_header_bytes
    for name, value in headers:
        size = len(name) + len(value)
        total += size
        if size > max_header and problem is None:
            problem = InvalidRequest(f"A header is over {max_header} bytes.", None, 431, "headers_too_large")
        if name == b"host":
            hosts += 1
            if problem is None and not _VALID_HOST.match(value):
                problem = InvalidRequest("Invalid Host header.", None, 400, "invalid_host")
        elif name == b"x-request-id":
            if given is None:
                given = value
        elif name == b"origin":
            origin = True
    request_id = given.decode("latin-1") if given is not None else None
    if request_id is not None and not _VALID_ID.match(request_id):
        request_id = None
    if len(headers) > limits.max_headers:
        problem = InvalidRequest(f"Too many headers (the limit is {limits.max_headers}).", None, 431,
                                 "headers_too_large")
    elif problem is None and total > limits.max_headers_bytes:
        problem = InvalidRequest(f"Headers are over {limits.max_headers_bytes} bytes in all.", None, 431,
                                 "headers_too_large")
    elif problem is None and hosts > 1:
        problem = InvalidRequest("More than one Host header.", None, 400, "invalid_host")
    return request_id, origin, problem
