"""The two chat endpoints, served straight from ASGI.

``POST /chat/`` and ``POST /v1/chat/completions`` are the hot path; going through
FastAPI's per-request layers (exception middlewares, routing, dependency solving) costs
more CPU than everything else the gateway does. They are dispatched here, in front of
FastAPI, which still serves every other route. Errors map through the same single
function as everywhere else."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from llm_router.api.chat import handle_chat
from llm_router.api.errors import Surface, error_response
from llm_router.api.openai_compat import handle_completions
from llm_router.errors import InvalidRequest
from llm_router.gateway import Gateway

ROUTES: dict[str, Surface] = {"/chat/": "chat", "/chat": "chat", "/v1/chat/completions": "openai"}


class BodyTooLarge(Exception):
    """A chunked body passed the size limit."""


async def serve(surface: Surface, gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one request to a chat endpoint."""
    try:
        response = await _respond(surface, gateway, scope, receive)
    except BodyTooLarge:
        response = error_response(InvalidRequest("Request body is too large.", None, 413), surface)
    except Exception as exc:  # every failure becomes a clean, typed error response
        response = error_response(exc, surface)
    await response(scope, receive, send)


async def _respond(surface: Surface, gateway: Gateway, scope: Scope, receive: Receive) -> Response:
    if scope["method"] != "POST":
        raise InvalidRequest(f"Method {scope['method']} is not allowed here; use POST.", None, 405)
    raw = await _read_body(receive)
    if surface == "openai":
        return await handle_completions(gateway, raw, receive)
    accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept"), "")
    return await handle_chat(gateway, raw, accept, receive)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client left before sending its body
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
