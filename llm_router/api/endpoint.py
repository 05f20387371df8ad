"""The ASGI endpoint every data-plane surface is served by.

One request: check the content type → ``chain.admit`` (authentication, body limit by
Content-Length) → read the body, counting it against the limit (a chunked body too) → the
surface's handler (decode, gateway, encode) → send → ``chain.settle``. Every failure on the
way is rendered by the one error renderer in the surface's shape. The handler never sees a
request the policies refused, and ``settle`` runs whatever happened after ``check``.

Plain ASGI (a Starlette ``Route`` whose endpoint is this object) rather than a FastAPI
route: FastAPI's per-request dependency solving costs more than the rest of the hot path.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from llm_router import aio
from llm_router.api.errors import error_response
from llm_router.api.surfaces import SurfaceRoute
from llm_router.errors import InvalidRequest
from llm_router.gateway import Gateway
from llm_router.observability.state import RequestState, begin_request, current_state
from llm_router.policies.base import PolicyChain, RequestContext
from llm_router.policies.gateway_key import too_large


class DataPlaneEndpoint:
    """Serves one :class:`SurfaceRoute`."""

    def __init__(self, route: SurfaceRoute, gateway: Gateway, chain: PolicyChain, max_body_bytes: int,
                 cost_of: Callable[[RequestState], float | None] | None = None,
                 body_timeout: float = 30.0) -> None:
        self.route = route
        self.body_timeout = body_timeout
        self.gateway = gateway
        self.chain = chain
        self.max_body_bytes = max_body_bytes
        self.cost_of = cost_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = current_state() or begin_request("-", self.route.name)
        state.surface = self.route.name
        headers = Headers(scope=scope)
        ctx = RequestContext(self.route.name, headers, state)
        try:
            response = await self._respond(ctx, headers, receive)
        except Exception as exc:  # every failure becomes a clean, typed error response
            response = error_response(exc, self.route.surface)
        try:
            if ctx.response_headers:
                _add_headers(response, ctx.response_headers)
            await response(scope, receive, send)
        finally:
            if ctx.checked:
                if self.cost_of is not None:
                    ctx.cost_usd = self.cost_of(state)
                await self.chain.settle(ctx)

    async def _respond(self, ctx: RequestContext, headers: Headers, receive: Receive) -> Response:
        await self.chain.admit(ctx)
        _require_json(headers)
        raw = await read_body(receive, self.max_body_bytes, self.body_timeout)
        return await self.route.handler(self.gateway, ctx, raw, receive)


def _add_headers(response: Response, extra: dict[str, str]) -> None:
    """The policies' and surface's headers on the response: appended to its raw list (one pass)
    where the response has no header of that name, set over it where it has."""
    raw = response.raw_headers
    present = {name for name, _ in raw}
    for name, value in extra.items():
        key = name.lower().encode("latin-1")
        if key in present:
            response.headers[name] = value
        else:
            raw.append((key, value.encode("latin-1")))


def _require_json(headers: Headers) -> None:
    """A body that is not declared JSON is refused (415): a form or text/plain POST is what a
    web page can send cross-origin without a CORS preflight."""
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        raise InvalidRequest("Content-Type must be application/json.", None, 415, "unsupported_media_type")


async def read_body(receive: Receive, limit: int, seconds: float = 30.0) -> bytes:
    """The whole body, refusing more than ``limit`` bytes (413) however it is framed, and a
    client that takes longer than ``seconds`` to send it (408)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with aio.timeout(seconds):
            while True:
                message: Message = await receive()
                if message["type"] != "http.request":
                    return b""  # the client left before sending its body
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise InvalidRequest(f"The request body did not arrive within {seconds:g}s "
                             "(LLM_ROUTER_BODY_TIMEOUT).", None, 408, "request_timeout") from None
