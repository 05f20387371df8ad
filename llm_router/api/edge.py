"""The edge: one pure-ASGI middleware in front of every route.

For every HTTP request it assigns the request id (the client's ``x-request-id`` when it is a
sane token, else a new one), starts the request's :class:`RequestState` (the context the
gateway, router and policies write to), adds ``x-request-id`` to the response, and, for the
data-plane paths (every surface in ``api/surfaces.py``, present and future), hands the finished
request to the Observer once the whole response — a stream included — is over.

It does nothing else: authentication and the body limit are policies (``policies/``), errors
are rendered in ``api/errors.py``. Pure ASGI rather than ``BaseHTTPMiddleware`` so that streams
and client disconnects pass through untouched.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_router.api.surfaces import route_path
from llm_router.observability.observer import Observer
from llm_router.observability.state import begin_request

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class EdgeMiddleware:
    """Request id, request state, and the Observer for data-plane requests."""

    def __init__(self, app: ASGIApp, observer: Observer | None = None,
                 observed: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.observer = observer
        self.observed = dict(observed or {})  # path -> surface name
        # Request ids only need to be unique, not secret: a seeded PRNG, not a syscall each.
        self._ids = random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        surface = self.observed.get(route_path(scope))
        state = begin_request(request_id, surface or "other")
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state.status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        observer = self.observer if surface is not None else None
        if observer is None:
            await self.app(scope, receive, send_with_id)
            return
        observer.start(state)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            observer.finish(state, state.status)

    def _request_id(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given: str = value.decode("latin-1")
                if _VALID_ID.match(given):
                    return given
                break
        return f"{self._ids.getrandbits(128):032x}"
