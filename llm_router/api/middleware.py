"""One pure-ASGI middleware: request id and request state, gateway key check, body size
limit, the chat endpoints' fast path, and handing each finished chat request to the
Observer.

Pure ASGI (not BaseHTTPMiddleware) so streaming and disconnects pass through untouched."""

from __future__ import annotations

import hmac
import random
import re

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llm_router.api.errors import Surface
from llm_router.api.fast_path import ROUTES, BodyTooLarge, serve
from llm_router.gateway import Gateway
from llm_router.observability.observer import Observer
from llm_router.observability.state import begin_request, current_request_id, current_state

__all__ = ["BodyTooLarge", "GatewayMiddleware", "current_request_id"]

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})


class GatewayMiddleware:
    """Assigns the request id, enforces ``LLM_ROUTER_API_KEY`` and the body size limit,
    and reports every chat request to the Observer once its response is over."""

    def __init__(self, app: ASGIApp, api_key: str | None, max_body_bytes: int,
                 observer: Observer | None = None, gateway: Gateway | None = None) -> None:
        self.app = app
        self.gateway = gateway
        self.expected = ("Bearer " + api_key).encode() if api_key else None
        self.max_body_bytes = max_body_bytes
        self.observer = observer
        # Request ids only need to be unique, not secret: a seeded PRNG, not a syscall each.
        self._ids = random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _VALID_ID.match(given) else f"{self._ids.getrandbits(128):032x}"
        surface = ROUTES.get(scope["path"])
        state = begin_request(request_id, surface or "other")
        status = 500
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        observer = self.observer if surface else None
        if observer is not None:
            observer.start(state)
        try:
            await self._handle(scope, headers, receive, send_with_id, surface)
        finally:
            if observer is not None:
                observer.finish(state, status)

    async def _handle(self, scope: Scope, headers: dict[bytes, bytes], receive: Receive, send: Send,
                      surface: Surface | None) -> None:
        if self.expected is not None and scope["path"] not in OPEN_PATHS:
            auth = headers.get(b"authorization", b"")
            if not hmac.compare_digest(auth, self.expected):
                await _reject(send, 401, "authentication_error", "Missing or invalid API key.")
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _reject(send, 413, "request_too_large", "Request body is too large.")
            return
        if surface is not None and self.gateway is not None:
            await serve(surface, self.gateway, scope, self._limited(receive), send)
        else:
            await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        return limited


async def _reject(send: Send, status: int, kind: str, message: str) -> None:
    state = current_state()
    if state is not None:
        state.error_type = kind
    body = orjson.dumps({"error": {"type": kind, "message": message, "request_id": current_request_id(),
                                   "code": None, "param": None}})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
