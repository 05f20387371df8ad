"""What is known about the request being handled, filled in as it goes.

The middleware creates one RequestState per HTTP request and puts it in a context
variable; the gateway and router add to it; the middleware hands it to the Observer
when the response (stream included) is over."""

from __future__ import annotations

import random
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from llm_router.messages import Usage


def new_uid() -> str:
    """A new request id of the gateway's own (128 random bits, hex): unique, not secret."""
    return f"{random.getrandbits(128):032x}"


@dataclass(slots=True)
class AttemptRecord:
    """One upstream attempt."""

    deployment: str
    provider: str
    model: str
    started: float
    ended: float = 0.0
    error_type: str | None = None
    retry: bool = False
    possibly_billed: bool = False
    #: A hedge: started because an earlier attempt had no first content in time.
    hedge: bool = False
    #: Lost a hedge race and was cancelled (possibly billed: it had reached the provider).
    hedge_cancelled: bool = False

    def end(self, error_type: str | None, possibly_billed: bool = False) -> None:
        """The attempt is over; ``error_type`` is None when it succeeded.
        ``possibly_billed``: it failed after the provider may have done the work."""
        self.ended, self.error_type = time.monotonic(), error_type
        self.possibly_billed = possibly_billed or self.hedge_cancelled


@dataclass(slots=True)
class RequestState:
    """One request's facts. Times are ``time.monotonic()`` seconds.

    ``request_id`` is what the client sees (its own ``x-request-id`` when it sent a sane one);
    ``uid`` is always the gateway's own, unique per request: what the usage journal, the
    request's owner and its ``usage_attempts`` rows are keyed by, so two requests that name
    the same id are never one request to the ledger."""

    request_id: str
    surface: str = "other"
    status: int = 500  # the response status, once it has started
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    route: str | None = None
    deployment: str | None = None
    provider: str | None = None
    model: str | None = None
    streamed: bool = False
    first_token_at: float | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    error_type: str | None = None
    cancelled: bool = False
    sse_parse_errors: int = 0  # upstream stream events skipped as unreadable
    attempts: list[AttemptRecord] = field(default_factory=list)
    prompt: str | None = None
    completion: list[str] = field(default_factory=list)
    #: The response cache: ``hit``, ``miss`` or ``bypass`` (None: not a cacheable surface),
    #: and the bytes of the entry served (hit) or stored (miss).
    cache: str | None = None
    cache_bytes: int = 0
    #: The stream was resumed on another deployment after its first one failed mid-way.
    resumed: bool = False
    uid: str = field(default_factory=new_uid)


_STATE: ContextVar[RequestState | None] = ContextVar("llm_router_request_state", default=None)


def begin_request(request_id: str, surface: str, uid: str | None = None) -> RequestState:
    """Start tracking a request in the current context (``uid``: the gateway's own id for
    it, if already made; else a new one)."""
    state = RequestState(request_id, surface, uid=uid or new_uid())
    _STATE.set(state)
    return state


def current_state() -> RequestState | None:
    """The state of the request being handled, if any."""
    return _STATE.get()


def current_request_id() -> str:
    """The id of the request being handled in this task, or ``-``."""
    state = _STATE.get()
    return state.request_id if state else "-"
