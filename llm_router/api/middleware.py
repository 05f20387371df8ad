"""One pure-ASGI middleware: request id, gateway key check and body size limit.

Pure ASGI (not BaseHTTPMiddleware) so streaming and disconnects pass through untouched.
"""

from __future__ import annotations

import hmac
import re
import uuid
from contextvars import ContextVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID: ContextVar[str] = ContextVar("llm_router_request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})


def current_request_id() -> str:
    """The id of the request being handled in this task."""
    return _REQUEST_ID.get()


class GatewayMiddleware:
    """Assigns the request id, enforces ``LLM_ROUTER_API_KEY`` and the body size limit."""

    def __init__(self, app: ASGIApp, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.expected = ("Bearer " + api_key).encode() if api_key else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        _REQUEST_ID.set(request_id)
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        if self.expected is not None and scope["path"] not in OPEN_PATHS:
            auth = headers.get(b"authorization", b"")
            if not hmac.compare_digest(auth, self.expected):
                await _reject(send_with_id, 401, "authentication_error",
                              "Missing or invalid API key.", request_id)
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _reject(send_with_id, 413, "request_too_large",
                          "Request body is too large.", request_id)
            return
        await self.app(scope, self._limited(receive), send_with_id)

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


class BodyTooLarge(Exception):
    """A chunked body passed the size limit."""


async def _reject(send: Send, status: int, kind: str, message: str, request_id: str) -> None:
    body = orjson.dumps({"error": {"type": kind, "message": message, "request_id": request_id,
                                   "code": None, "param": None}})
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
