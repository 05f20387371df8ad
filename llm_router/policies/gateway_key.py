"""The first policies of the chain: the gateway key and the body size limit.

``LLM_ROUTER_API_KEY`` opens every data-plane surface (and the API routes beside them). It is
read from ``Authorization: Bearer <key>`` (OpenAI clients) or ``x-api-key: <key>`` (Anthropic
clients). More than one ``Authorization`` (or ``x-api-key``) header is refused: proxies and
servers disagree on which one wins, so the request is ambiguous.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers

from llm_router.errors import InvalidRequest, Unauthorized
from llm_router.policies.base import BasePolicy, Principal, RequestContext

__all__ = ["BodyLimitPolicy", "GatewayKeyPolicy", "presented_key", "too_large"]


def too_large(limit: int) -> InvalidRequest:
    """The one error for a body over the limit, however it was noticed."""
    return InvalidRequest(f"Request body is too large: the limit is {limit} bytes "
                          "(LLM_ROUTER_MAX_BODY_BYTES).", None, 413, "request_too_large")


def presented_key(headers: Headers) -> str | None:
    """The key the client presents (Bearer token or ``x-api-key``), or None.
    Raises Unauthorized when the headers are ambiguous."""
    auth = headers.getlist("authorization")
    api_key = headers.getlist("x-api-key")
    if len(auth) > 1 or len(api_key) > 1:
        raise Unauthorized("More than one Authorization or x-api-key header.")
    if auth:
        scheme, _, token = auth[0].partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer <key>'.")
        return token.strip()
    return api_key[0].strip() if api_key else None


class GatewayKeyPolicy(BasePolicy):
    """Admits requests carrying the gateway key (when one is set) as the ``master`` principal."""

    name = "gateway_key"

    def __init__(self, key: str | None) -> None:
        self.key = key.encode() if key else None

    async def admit(self, ctx: RequestContext) -> None:
        if self.key is None:
            return
        given = presented_key(ctx.headers)
        if given is None or not hmac.compare_digest(given.encode(), self.key):
            raise Unauthorized("Missing or invalid API key.")
        ctx.principal = Principal("master")


class BodyLimitPolicy(BasePolicy):
    """Refuses a body whose declared length is over the limit before it is read; the
    endpoint counts a chunked body against the same limit while reading it."""

    name = "body_limit"

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    async def admit(self, ctx: RequestContext) -> None:
        length = ctx.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise too_large(self.max_body_bytes)
