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

__all__ = ["BodyLimitPolicy", "GatewayKeyPolicy", "credential", "presented_key", "too_large"]


def too_large(limit: int) -> InvalidRequest:
    """The one error for a body over the limit, however it was noticed."""
    return InvalidRequest(f"Request body is too large: the limit is {limit} bytes "
                          "(LLM_ROUTER_MAX_BODY_BYTES).", None, 413, "request_too_large")


def credential(headers: Headers, allow_x_api_key: bool = True) -> str:
    """The one credential of a request: ``Authorization: Bearer`` or ``x-api-key``. Raises
    Unauthorized when it is missing or the headers are ambiguous."""
    values = headers.getlist("authorization")
    if len(values) > 1:
        raise Unauthorized("More than one Authorization header.")
    if values:
        scheme, _, token = values[0].partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("The Authorization header must be 'Bearer <key>'.")
        return token
    keys = headers.getlist("x-api-key") if allow_x_api_key else []
    if len(keys) > 1:
        raise Unauthorized("More than one x-api-key header.")
    if keys and keys[0].strip():
        return keys[0].strip()
    raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")


def presented_key(headers: Headers) -> str | None:
    """The key the client presents, or None when it sends neither header (see ``credential``)."""
    if "authorization" not in headers and "x-api-key" not in headers:
        return None
    return credential(headers)


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
