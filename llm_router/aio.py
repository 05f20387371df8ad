"""The event loop of the request being served, looked up once, and a timeout that uses it.

On CPython 3.11 every C-level lookup of the running loop — ``asyncio.get_running_loop()``,
``asyncio.current_task()`` without a loop, ``asyncio.timeout()`` (on creation, entry and each
reschedule), ``asyncio.create_task()``, ``asyncio.Event.wait()`` — makes a ``getpid`` system
call (the running-loop holder's fork check). On the gateway's main path that was 14 calls
per request against the floor's one. This module lets the path pay for one:

- :func:`bind_loop` — called by the edge (``api/edge.py``) once per HTTP request: looks the
  running loop up and binds it to the request's context (a :class:`~contextvars.ContextVar`,
  so tasks the request starts inherit it).
- :func:`running_loop` — that loop; outside a request (no binding, or a binding made in
  another thread) it is ``asyncio.get_running_loop()``, so code run elsewhere still works.
- :func:`current_task` — ``asyncio.current_task(running_loop())``. Tasks are never cached: a
  hedged attempt runs in a child task that shares the request's context.
- :func:`timeout` / :func:`timeout_at` — :func:`asyncio.timeout` / :func:`asyncio.timeout_at`
  with the same semantics (see :class:`Deadline`), scheduled on :func:`running_loop`.
- :func:`off_loop` — a pure function run in a worker thread when its input is big (a request
  of thousands of messages: bad-input matrix I8), so the loop goes on serving meanwhile.

Use them only from coroutines (the loop is the one running this thread's code).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import ParamSpec, TypeVar

__all__ = ["Deadline", "bind_loop", "current_task", "off_loop", "running_loop", "timeout", "timeout_at"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_get_ident = threading.get_ident
#: The loop bound by the edge, with the thread it runs in.
_BOUND: ContextVar[tuple[asyncio.AbstractEventLoop, int] | None] = ContextVar("llm_router_loop",
                                                                            default=None)


def bind_loop() -> asyncio.AbstractEventLoop:
    """Look the running loop up (once) and bind it to the current context; returns it."""
    loop = asyncio.get_running_loop()
    _BOUND.set((loop, _get_ident()))
    return loop


def running_loop() -> asyncio.AbstractEventLoop:
    """The running loop: the one :func:`bind_loop` bound in this context (and thread), else
    ``asyncio.get_running_loop()`` (which raises RuntimeError outside a loop)."""
    bound = _BOUND.get()
    if bound is not None and bound[1] == _get_ident():
        return bound[0]
    return asyncio.get_running_loop()


async def off_loop(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``fn(*args, **kwargs)`` in a worker thread (the request's context copied), so that a big
    request's decoding, validation, translation or counting does not hold the loop: the
    interpreter switches threads every few milliseconds (``sys.getswitchinterval``) between
    the worker's Python steps, and the loop serves the other requests in those turns. For pure
    functions only (no loop, no shared state). Callers test the size first and call ``fn``
    directly for a small input: ``await off_loop(...) if big else fn(...)`` (an await less)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def current_task() -> asyncio.Task[object] | None:
    """The task running now (``asyncio.current_task`` on :func:`running_loop`)."""
    return asyncio.current_task(running_loop())


_CREATED, _ENTERED, _EXPIRING, _EXPIRED, _EXITED = "created", "active", "expiring", "expired", "finished"


class Deadline:
    """What :class:`asyncio.Timeout` is, on an explicit loop: an async context manager that
    cancels the task running it at loop time ``when`` (None: never; a time already past: on
    the next loop iteration) and then turns that cancellation into ``TimeoutError`` as the
    block exits.

    Same accounting as asyncio's: the expiry's cancel is counted (``Task.cancelling()``) and
    taken back (``uncancel()``) on exit; the block raises TimeoutError only when no other
    cancel request arrived meanwhile, so a cancellation from outside (a client disconnect, a
    hedge's loser, the drain's cut) stays a CancelledError. Nested deadlines work as with
    asyncio (the one that expired converts; an outer one sees TimeoutError as any
    exception). :meth:`reschedule` moves it while inside; :meth:`when` and :meth:`expired`
    report."""

    __slots__ = ("_cancelling", "_handle", "_loop", "_state", "_task", "_when")

    def __init__(self, when: float | None, loop: asyncio.AbstractEventLoop) -> None:
        self._state = _CREATED
        self._handle: asyncio.Handle | None = None
        self._task: asyncio.Task[object] | None = None
        self._when = when
        self._loop = loop
        self._cancelling = 0

    def when(self) -> float | None:
        """The current deadline (loop time), or None."""
        return self._when

    def expired(self) -> bool:
        """True once the deadline has passed inside the block."""
        return self._state is _EXPIRING or self._state is _EXPIRED

    def reschedule(self, when: float | None) -> None:
        """Move the deadline to ``when`` (loop time; None: no deadline)."""
        if self._state is not _ENTERED:
            if self._state is _CREATED:
                raise RuntimeError("Timeout has not been entered")
            raise RuntimeError(f"Cannot change state of {self._state} Timeout")
        self._when = when
        if self._handle is not None:
            self._handle.cancel()
        if when is None:
            self._handle = None
        else:
            loop = self._loop
            if when <= loop.time():
                self._handle = loop.call_soon(self._on_timeout)
            else:
                self._handle = loop.call_at(when, self._on_timeout)

    def __repr__(self) -> str:
        when = f" when={round(self._when, 3) if self._when is not None else None}" \
            if self._state is _ENTERED else ""
        return f"<Deadline [{self._state}]{when}>"

    async def __aenter__(self) -> Deadline:
        if self._state is not _CREATED:
            raise RuntimeError("Timeout has already been entered")
        task = asyncio.current_task(self._loop)
        if task is None:
            raise RuntimeError("Timeout should be used inside a task")
        self._state = _ENTERED
        self._task = task
        self._cancelling = task.cancelling()
        self.reschedule(self._when)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._state is _EXPIRING:
            self._state = _EXPIRED
            assert self._task is not None
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc  # no other cancel request came: ours to handle
        elif self._state is _ENTERED:
            self._state = _EXITED
        return None

    def _on_timeout(self) -> None:
        assert self._task is not None
        self._task.cancel()
        self._state = _EXPIRING
        self._handle = None


def timeout(delay: float | None) -> Deadline:
    """``asyncio.timeout(delay)`` on :func:`running_loop`: expires ``delay`` seconds from now."""
    loop = running_loop()
    return Deadline(loop.time() + delay if delay is not None else None, loop)


def timeout_at(when: float | None) -> Deadline:
    """``asyncio.timeout_at(when)`` on :func:`running_loop` (``when`` in loop time)."""
    return Deadline(when, running_loop())
