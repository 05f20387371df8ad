"""The one place that maps errors to HTTP status, headers and body, per surface."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from llm_router.errors import (
    AllTargetsFailed,
    InvalidRequest,
    Overloaded,
    ProviderError,
    ProviderUnavailable,
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
Surface = Literal["chat", "openai"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What a client is told about a failure."""

    status: int
    type: str
    message: str
    param: str | None = None
    code: str | None = None
    retry_after: float | None = None


def describe(exc: BaseException) -> ErrorInfo:
    """Status, type and client-safe message for any exception."""
    if isinstance(exc, AllTargetsFailed):
        return describe(exc.last) if exc.last else ErrorInfo(502, exc.type, exc.message)
    if isinstance(exc, ProviderError):
        return _describe_upstream(exc)
    if isinstance(exc, InvalidRequest):
        return ErrorInfo(exc.status, exc.type, exc.message, exc.param)
    if isinstance(exc, UnknownModel):
        return ErrorInfo(400, "invalid_request_error", exc.message, "model", "model_not_found")
    if isinstance(exc, Unauthorized):
        return ErrorInfo(401, "authentication_error", exc.message, code="invalid_api_key")
    if isinstance(exc, Overloaded):
        return ErrorInfo(503, "overloaded_error", exc.message, retry_after=exc.retry_after)
    if isinstance(exc, ProviderUnavailable):
        return ErrorInfo(503, "provider_unavailable", exc.message)
    if isinstance(exc, RouterError):
        return ErrorInfo(500, exc.type, exc.message)
    return ErrorInfo(500, "internal_error", "Internal error.")


def _describe_upstream(exc: ProviderError) -> ErrorInfo:
    where = f"Upstream provider '{exc.provider}'" if exc.provider else "Upstream provider"
    if isinstance(exc, UpstreamRateLimited):
        code = "insufficient_quota" if exc.quota_exhausted else "rate_limit_exceeded"
        return ErrorInfo(429, "rate_limit_error", f"{where} is rate limiting: {exc.message}",
                         code=code, retry_after=exc.retry_after)
    if isinstance(exc, UpstreamBadRequest):
        status = exc.status if exc.status in (404, 413) else 400
        return ErrorInfo(status, "invalid_request_error", exc.message, code=exc.upstream_type)
    if isinstance(exc, UpstreamAuthFailed):
        return ErrorInfo(502, "upstream_auth_error",
                         f"{where} rejected the gateway's credentials.")
    if isinstance(exc, UpstreamTimeout):
        return ErrorInfo(504, "upstream_timeout", f"{where} timed out: {exc.message}")
    return ErrorInfo(502, exc.type, f"{where} failed: {exc.message}")


def error_body(info: ErrorInfo, surface: Surface, request_id: str) -> bytes:
    """The JSON error body in the surface's shape."""
    if surface == "openai":
        error = {"message": info.message, "type": info.type, "param": info.param,
                 "code": info.code, "request_id": request_id}
    else:
        error = {"type": info.type, "message": info.message, "request_id": request_id}
        if info.param:
            error["param"] = info.param
    return orjson.dumps({"error": error})


def error_response(exc: BaseException, surface: Surface) -> Response:
    """A complete error response for ``exc``; logs it with the request id."""
    info = describe(exc)
    request_id = current_request_id()
    state = current_state()
    if state is not None:
        state.error_type = info.type
    headers: dict[str, str] = {}  # x-request-id is added by the middleware
    if info.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(info.retry_after)))
    if info.status == 401:
        headers["www-authenticate"] = "Bearer"
    if info.status >= 500 and not isinstance(exc, RouterError):
        log.error("unhandled error request_id=%s", request_id, exc_info=exc)
    else:
        log.info("request failed request_id=%s status=%d type=%s", request_id, info.status, info.type)
    return Response(error_body(info, surface, request_id), info.status, headers,
                    media_type="application/json")


def surface_of(request: Request) -> Surface:
    """``openai`` for ``/v1/*`` routes, ``chat`` otherwise."""
    return "openai" if request.url.path.startswith("/v1/") else "chat"


def parse_body(model: type[M], raw: bytes, status: int = 422, noun: str = "field") -> M:
    """Validate a JSON body: 400 if unreadable, ``status`` naming the offending field otherwise."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc.errors(), status, noun) from None


def _invalid(errors: list[Any], status: int, noun: str = "field") -> InvalidRequest:
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return InvalidRequest(f"Request body is not valid JSON ({first.get('msg', '')}).", None, 400)
    if first.get("type") in ("json_type", "model_type"):
        return InvalidRequest("Request body must be a JSON object.", None, 400)
    field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return InvalidRequest(f"Invalid {noun} '{field}': {first.get('msg', 'invalid value')}.", field, status)


def validation_error(exc: RequestValidationError, surface: Surface) -> Response:
    """400 for unreadable JSON, 422 naming the offending field otherwise."""
    return error_response(_invalid(list(exc.errors()), 400 if surface == "openai" else 422), surface)
