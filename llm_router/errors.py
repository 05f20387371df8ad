"""The error tree. Every failure the gateway reports is one of these.

    RouterError
    ├── ConfigError                  bad or missing configuration (start-up)
    ├── ClientError                  the client's request is at fault (4xx)
    │   ├── InvalidRequest           malformed body or parameter (400/413/415/422...)
    │   ├── NotFound                 no such path or object (404)
    │   ├── UnknownModel             no provider, route or deployment by that name (400)
    │   ├── Unauthorized             missing or wrong gateway, virtual or admin key (401)
    │   ├── PermissionDenied         a valid key that may not do this (403)
    │   ├── RateLimited              a key's or team's rpm/tpm/parallel limit (429 + Retry-After)
    │   ├── BudgetExceeded           a key's or team's budget is spent (429 insufficient_quota)
    │   └── Overloaded               the gateway itself is saturated (503, retry later)
    ├── ProviderUnavailable          provider known but not configured, e.g. no key (503)
    ├── ProviderError                an upstream attempt failed; classified once, here
    │   ├── UpstreamRateLimited      429 (``quota_exhausted`` for billing/quota 429s)
    │   ├── UpstreamBadRequest       400/404/413/422: the provider rejects the request
    │   ├── UpstreamAuthFailed       401/403/402: our provider key is bad
    │   ├── UpstreamServerError      5xx, Anthropic 529, in-band overload errors
    │   ├── UpstreamTimeout          first byte or stream idle timeout
    │   ├── UpstreamConnectionError  refused, reset, DNS, connect timeout: nothing was answered
    │   └── UpstreamProtocolError    malformed body, cut stream, redirect
    └── AllTargetsFailed             every attempt failed; holds each attempt's error

Classification sets ``retryable`` and ``retry_after`` (seconds). Mapping to HTTP
status and body lives in ``llm_router.api.errors`` and nowhere else.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping, Sequence


class RouterError(Exception):
    """Base of every error the gateway raises on purpose."""

    type: str = "router_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(RouterError):
    """The configuration is invalid; raised at start-up."""

    type = "config_error"


class ClientError(RouterError):
    """The client's request is at fault."""

    type = "invalid_request_error"


class InvalidRequest(ClientError):
    """A malformed body or parameter; ``param`` names it when known."""

    def __init__(self, message: str, param: str | None = None, status: int = 400,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.status = status
        self.code = code


class NotFound(ClientError):
    """No such path (or object)."""

    type = "not_found_error"


class UnknownModel(ClientError):
    """No provider, route or deployment answers to this name."""

    type = "model_not_found"

    def __init__(self, name: str, choices: Sequence[str]) -> None:
        shown = name if len(name) <= 100 and name.isprintable() else repr(name[:100])
        super().__init__(
            f"Unknown model {shown!s}. Valid choices: {', '.join(choices)}, "
            "or 'provider/model'."
        )
        self.param = "model"


class Unauthorized(ClientError):
    """Missing or wrong gateway API key."""

    type = "authentication_error"


class PermissionDenied(ClientError):
    """A valid key that may not do this (use that model, call admin routes)."""

    type = "permission_error"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class RateLimited(ClientError):
    """A limit of the gateway's own (a key's or team's rpm, tpm or parallel requests)."""

    type = "rate_limit_error"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(ClientError):
    """A key's or team's budget is spent until ``retry_after`` seconds from now (None: never)."""

    type = "insufficient_quota"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(ClientError):
    """The gateway is saturated; try again after ``retry_after`` seconds."""

    type = "overloaded"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailable(RouterError):
    """The provider is known but not configured (for example its key is unset)."""

    type = "provider_unavailable"


class ProviderError(RouterError):
    """An upstream attempt failed. ``status`` is the upstream HTTP status, if any."""

    type = "upstream_error"
    retryable = False
    #: The request reached the provider, which may have done (and billed) the work even
    #: though no answer came back: 502/504 from its edge, a reset after the request was
    #: sent, a timeout while waiting for the answer.
    possibly_billed = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        upstream_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.upstream_type = upstream_type


class UpstreamRateLimited(ProviderError):
    """429 from upstream; ``quota_exhausted`` marks billing/quota limits (not retryable)."""

    type = "rate_limit_error"
    retryable = True

    def __init__(
        self, message: str, *, quota_exhausted: bool = False, provider: str = "",
        upstream_type: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, upstream_type=upstream_type)
        self.quota_exhausted = quota_exhausted
        if quota_exhausted:
            self.retryable = False


class UpstreamBadRequest(ProviderError):
    """The provider rejected the request (400/404/413/422); its message is passed on."""

    type = "invalid_request_error"


class UpstreamAuthFailed(ProviderError):
    """Our provider key was refused (401/402/403). Never shown to the client in detail."""

    type = "upstream_auth_error"


class UpstreamServerError(ProviderError):
    """5xx, Anthropic 529 or an in-band server/overload error."""

    type = "upstream_server_error"
    retryable = True


class UpstreamTimeout(ProviderError):
    """First-byte, stream-idle or total timeout."""

    type = "upstream_timeout"
    retryable = True


class UpstreamConnectionError(ProviderError):
    """The connection failed before any answer (refused, reset, DNS, connect timeout)."""

    type = "upstream_connection_error"
    retryable = True


class UpstreamProtocolError(ProviderError):
    """The upstream answer could not be read: malformed JSON, cut stream, redirect."""

    type = "upstream_protocol_error"
    retryable = True


class AllTargetsFailed(RouterError):
    """Every attempt failed; ``errors`` holds each attempt's error in order."""

    type = "all_targets_failed"

    def __init__(self, errors: Sequence[RouterError]) -> None:
        last = errors[-1] if errors else None
        super().__init__(last.message if last else "No deployment could be tried.")
        self.errors = tuple(errors)

    @property
    def last(self) -> RouterError | None:
        """The error of the final attempt."""
        return self.errors[-1] if self.errors else None


_RETRYABLE_UPSTREAM_TYPES = {
    "overloaded_error", "api_error", "timeout_error", "server_error", "rate_limit_error",
    "rate_limit_exceeded", "internal_server_error", "service_unavailable",
}
_QUOTA_MARKERS = ("insufficient_quota", "billing", "quota", "spend_limit")


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify_status(
    provider: str,
    status: int,
    message: str,
    upstream_type: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """Turn an upstream HTTP status (and the provider's error type) into a ProviderError."""
    kind = (upstream_type or "").lower()
    cls: type[ProviderError]
    if status == 429:
        quota = any(m in kind for m in _QUOTA_MARKERS)
        error: ProviderError = UpstreamRateLimited(message, quota_exhausted=quota)
    else:
        if status in (401, 402, 403):
            cls = UpstreamAuthFailed
        elif status in (408, 409) or status >= 500:
            cls = UpstreamServerError
        elif 300 <= status < 400:
            cls, message = UpstreamProtocolError, f"Unexpected redirect ({status}) from upstream."
        else:
            cls = UpstreamBadRequest
        error = cls(message)
    error.provider, error.status = provider, status
    error.retry_after, error.upstream_type = retry_after, upstream_type
    error.possibly_billed = status in (502, 504)
    return error


def classify_inband(provider: str, upstream_type: str | None, message: str) -> ProviderError:
    """Classify an error that arrived inside a 200 stream (e.g. Anthropic ``event: error``)."""
    kind = (upstream_type or "").lower()
    if kind in ("rate_limit_error", "rate_limit_exceeded"):
        return UpstreamRateLimited(message, provider=provider, upstream_type=upstream_type)
    if kind in _RETRYABLE_UPSTREAM_TYPES or not kind:
        return UpstreamServerError(message, provider=provider, upstream_type=upstream_type)
    return UpstreamBadRequest(message, provider=provider, upstream_type=upstream_type)
