"""The one place that maps errors to HTTP status, headers and body, per surface.

Every error response of the service comes from :func:`error_response`: our typed errors,
body validation, Starlette's 404/405, body too large (by Content-Length or by counting a
chunked body), authentication and policy refusals. The body has the shape of the surface it
was asked on (``openai``: ``{"error": {"message", "type", "param", "code"}}``; ``chat``: the
seed's ``{"error": {"type", "message", "param"?}}``; ``anthropic``: ``{"type": "error",
"error": {"type", "message"}}``) and carries the request id."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import orjson
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from llm_router.api.body import invalid_fields
from llm_router.errors import (
    AllTargetsFailed,
    BudgetExceeded,
    ClientError,
    InvalidRequest,
    NotFound,
    Overloaded,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RouterError,
    Unauthorized,
    UnknownModel,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from llm_router.observability.state import current_request_id, current_state

log = logging.getLogger("llm_router.errors")
Surface = Literal["chat", "openai", "anthropic"]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What a client is told about a failure."""

    status: int
    type: str
    message: str
    param: str | None = None
    code: str | None = None
    retry_after: float | None = None
    #: False tells the SDKs (``x-should-retry``) not to retry: retrying cannot help.
    retry: bool | None = None
    #: The upstream's own HTTP status, when an upstream failure is being described.
    upstream_status: int | None = None


def describe(exc: BaseException) -> ErrorInfo:
    """Status, type and client-safe message for any exception."""
    if isinstance(exc, AllTargetsFailed):
        return describe(exc.last) if exc.last else ErrorInfo(502, exc.type, exc.message)
    if isinstance(exc, ProviderError):
        return _describe_upstream(exc)
    if isinstance(exc, ClientError):
        return _describe_client(exc)
    if isinstance(exc, ProviderUnavailable):
        return ErrorInfo(503, "provider_unavailable", exc.message, retry=False)
    if isinstance(exc, RouterError):
        return ErrorInfo(500, exc.type, exc.message)
    if isinstance(exc, HTTPException):
        return _describe_http(exc)
    return ErrorInfo(500, "internal_error", "Internal error.")


def _describe_client(exc: ClientError) -> ErrorInfo:
    if isinstance(exc, InvalidRequest):
        return ErrorInfo(exc.status, exc.type, exc.message, exc.param, exc.code)
    if isinstance(exc, UnknownModel):
        return ErrorInfo(400, "invalid_request_error", exc.message, "model", "model_not_found")
    if isinstance(exc, Unauthorized):
        return ErrorInfo(401, "authentication_error", exc.message, code="invalid_api_key")
    if isinstance(exc, PermissionDenied):
        return ErrorInfo(403, "permission_error", exc.message, exc.param, "permission_denied")
    if isinstance(exc, RateLimited):
        return ErrorInfo(429, "rate_limit_error", exc.message, code="rate_limit_exceeded",
                         retry_after=exc.retry_after)
    if isinstance(exc, BudgetExceeded):
        return ErrorInfo(429, "insufficient_quota", exc.message, code="insufficient_quota",
                         retry_after=exc.retry_after)
    if isinstance(exc, NotFound):
        return ErrorInfo(404, "not_found_error", exc.message, code="not_found")
    if isinstance(exc, Overloaded):
        return ErrorInfo(503, "overloaded_error", exc.message, retry_after=exc.retry_after)
    return ErrorInfo(400, exc.type, exc.message)


def _describe_http(exc: HTTPException) -> ErrorInfo:
    """Starlette's own refusals (no route, wrong method) in our vocabulary."""
    if exc.status_code == 404:
        return ErrorInfo(404, "not_found_error", "No such path.", code="not_found")
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        use = f"; use {allowed}" if allowed else ""
        return ErrorInfo(405, "invalid_request_error", f"Method not allowed here{use}.",
                         code="method_not_allowed")
    return ErrorInfo(exc.status_code, "invalid_request_error", str(exc.detail))


def _describe_upstream(exc: ProviderError) -> ErrorInfo:
    where = f"Upstream provider '{exc.provider}'" if exc.provider else "Upstream provider"
    if isinstance(exc, UpstreamRateLimited):
        code = "insufficient_quota" if exc.quota_exhausted else "rate_limit_exceeded"
        return ErrorInfo(429, "rate_limit_error", f"{where} is rate limiting: {exc.message}",
                         code=code, retry_after=exc.retry_after)
    if isinstance(exc, UpstreamBadRequest):
        status = exc.status if exc.status in (404, 413) else 400
        return ErrorInfo(status, "invalid_request_error", exc.message, code=exc.upstream_type,
                         upstream_status=exc.status)
    if isinstance(exc, UpstreamAuthFailed):
        return ErrorInfo(502, "upstream_auth_error",
                         f"{where} rejected the gateway's credentials.", upstream_status=exc.status)
    if isinstance(exc, UpstreamTimeout):
        return ErrorInfo(504, "upstream_timeout", f"{where} timed out: {exc.message}")
    return ErrorInfo(502, exc.type, f"{where} failed: {exc.message}", upstream_status=exc.status)


# Anthropic's error types by the status we answer with (https://docs.anthropic.com/en/api/errors).
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    529: "overloaded_error", 503: "overloaded_error"}


def _anthropic(info: ErrorInfo) -> ErrorInfo:
    """An upstream 529 stays a 529 on the Anthropic surface (its SDK knows it as overloaded)."""
    if info.upstream_status == 529:
        return ErrorInfo(529, info.type, info.message, info.param, info.code, info.retry_after, info.retry)
    return info


def error_body(info: ErrorInfo, surface: Surface, request_id: str) -> bytes:
    """The JSON error body in the surface's shape."""
    if surface == "openai":
        error = {"message": info.message, "type": info.type, "param": info.param,
                 "code": info.code, "request_id": request_id}
    elif surface == "anthropic":
        fallback = "api_error" if info.status >= 500 else "invalid_request_error"
        kind = _ANTHROPIC_TYPES.get(info.status, fallback)
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": info.message},
                             "request_id": request_id})
    else:
        error = {"type": info.type, "message": info.message, "request_id": request_id}
        if info.param:
            error["param"] = info.param
    return orjson.dumps({"error": error})


def error_response(exc: BaseException, surface: Surface) -> Response:
    """A complete error response for ``exc``; logs it with the request id."""
    info = describe(exc)
    if surface == "anthropic":
        info = _anthropic(info)
    elif surface == "chat" and info.param == "model":
        info = ErrorInfo(info.status, info.type, info.message, "chat_model_name", info.code,
                         info.retry_after, info.retry)
    request_id = current_request_id()
    state = current_state()
    if state is not None:
        state.error_type = info.type
    headers: dict[str, str] = {}  # x-request-id is added by the middleware
    if info.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(info.retry_after)))
    if info.status == 401:
        headers["www-authenticate"] = "Bearer"
    if info.retry is False:
        headers["x-should-retry"] = "false"
    if info.status == 408:
        headers["connection"] = "close"
    if surface == "anthropic":
        headers["request-id"] = request_id  # Anthropic's own name for it (x-request-id too)
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)  # e.g. Allow on a 405
    if info.status >= 500 and not isinstance(exc, RouterError):
        log.error("unhandled error request_id=%s", request_id, exc_info=exc)
    else:
        log.info("request failed request_id=%s status=%d type=%s", request_id, info.status, info.type)
    return Response(error_body(info, surface, request_id), info.status, headers,
                    media_type="application/json")


def surface_of(request: Request) -> Surface:
    """The error shape for a request that reached a FastAPI route or no route at all."""
    from llm_router.api.surfaces import route_path, surface_for_path

    return surface_for_path(route_path(request.scope))


def validation_error(exc: RequestValidationError, surface: Surface) -> Response:
    """400 for unreadable JSON, 422 naming the offending field otherwise."""
    return error_response(invalid_fields(list(exc.errors()), 400 if surface == "openai" else 422), surface)
