"""Graceful drain on SIGTERM (P2), for ``llm-router serve`` with one worker (the replica model).

On SIGTERM (or the first Ctrl-C):

1. ``/ready`` answers 503 at once, so a load balancer stops sending.
2. For ``LLM_ROUTER_DRAIN_DELAY`` seconds (default 0; 5 in the Helm chart, the time an
   endpoint removal takes to propagate) the replica still accepts and serves as usual;
   then it stops accepting (the listening socket closes, idle keep-alive connections too).
3. Requests and streams in flight go on until ``LLM_ROUTER_SHUTDOWN_GRACE`` seconds (default
   30) after the signal. Shortly before that (``margin``: 10% of the grace, at most 1 s) the
   ones still running are cut: a stream gets an explicit error event in its surface's shape
   (``server_shutting_down``) and ends; a response not yet started is a 503 with
   ``Retry-After``. The gateway's own clean-up (policies settled, usage recorded) runs as
   for any cancelled request.
4. The app shuts down (the ledger and the journal are flushed) and the process exits 0.

A second SIGINT forces an immediate exit (uvicorn's behaviour).

This module owns the drain's state and lifecycle; the edge (``api/edge.py``, built with
``create_app(drain=...)``) calls into it for each HTTP exchange (``enter``/``leave``, and
``settle``/``absorb`` for a cut), so the drain adds no middleware layer or ``send`` wrapper."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import FrameType

import orjson
import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Send

from llm_router import aio

log = logging.getLogger("llm_router.drain")
SHUTTING_DOWN = "The server is shutting down; retry the request."


class DrainSettings(BaseSettings):
    """``LLM_ROUTER_SHUTDOWN_GRACE`` and ``LLM_ROUTER_DRAIN_DELAY``, validated once."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      frozen=True)

    llm_router_shutdown_grace: float = Field(30.0, ge=0, le=3600)
    llm_router_drain_delay: float = Field(0.0, ge=0, le=600)


@dataclass(eq=False, slots=True)
class InFlight:
    """One HTTP exchange the drain may have to cut. The edge (``api/edge.py``) keeps
    ``started``, ``stream`` and ``finished`` up to date from the messages it sends."""

    send: Send  # the server's own send: what the cut answers through
    path: str
    task: asyncio.Task[object] | None
    started: bool = False
    finished: bool = False
    stream: bool = False
    cut: bool = False

    def start(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        """The response has started with ``headers``."""
        self.started = True
        for name, value in headers:  # ASGI header names are lower case
            if name == b"content-type":
                self.stream = value.startswith(b"text/event-stream")


@dataclass
class Drain:
    """The drain state of one process."""

    grace: float = 30.0
    delay: float = 0.0
    began: float | None = None
    in_flight: set[InFlight] = field(default_factory=set)
    _cutter: asyncio.TimerHandle | None = None

    @classmethod
    def from_settings(cls, settings: DrainSettings | None = None) -> Drain:
        settings = settings or DrainSettings()
        return cls(settings.llm_router_shutdown_grace, settings.llm_router_drain_delay)

    @property
    def draining(self) -> bool:
        return self.began is not None

    @property
    def margin(self) -> float:
        return min(1.0, self.grace * 0.1)

    def begin(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start draining (idempotent; safe in a signal handler): readiness turns 503 now, the
        cut of what is still running is scheduled on ``loop``."""
        if self.began is not None:
            return
        self.began = time.monotonic()
        if loop is not None:
            loop.call_soon_threadsafe(self._schedule_cut, loop)

    def _schedule_cut(self, loop: asyncio.AbstractEventLoop) -> None:
        log.warning("SIGTERM: draining (readiness 503; %d request(s) in flight; grace %gs)",
                    len(self.in_flight), self.grace)
        assert self.began is not None
        delay = self.began + max(0.0, self.grace - self.margin) - time.monotonic()
        self._cutter = loop.call_later(max(0.0, delay), self.cut)

    def accept_until(self) -> float:
        """When the listener closes (monotonic time)."""
        assert self.began is not None
        return self.began + min(self.delay, self.grace)

    async def refuse_ready(self, send: Send) -> None:
        """``/ready`` while draining: 503, so a load balancer stops sending."""
        await _json(send, 503, {"status": "draining"})

    def enter(self, send: Send, path: str) -> InFlight:
        """An exchange begins (in the current task); ``send`` is the server's."""
        exchange = InFlight(send, path, aio.current_task())
        self.in_flight.add(exchange)
        return exchange

    def leave(self, exchange: InFlight) -> None:
        self.in_flight.discard(exchange)

    async def settle(self, exchange: InFlight) -> None:
        """After the app returned: a cut it swallowed still ends explicitly."""
        if exchange.cut and not exchange.finished:
            task = aio.current_task()
            if task is not None and task.cancelling():
                task.uncancel()
            await _end(exchange)

    async def absorb(self, exchange: InFlight) -> bool:
        """After the app raised CancelledError: True when it was our cut (now answered and
        uncancelled), False when the cancellation is someone else's and must propagate."""
        task = aio.current_task()
        if not exchange.cut or task is None or task.cancelling() > 1:
            return False
        task.uncancel()
        await _end(exchange)
        return True

    def cut(self) -> None:
        """End every exchange still in flight."""
        running = [e for e in self.in_flight if not e.finished and e.task is not None]
        if running:
            log.warning("shutdown grace over: ending %d request(s) with an error", len(running))
        for exchange in running:
            exchange.cut = True
            assert exchange.task is not None
            exchange.task.cancel("drain")


async def _json(send: Send, status: int, body: object,
                extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
               *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _error_event(path: str) -> bytes:
    payload: dict[str, object]
    if path.startswith("/v1/messages"):
        payload = {"type": "error", "error": {"type": "overloaded_error", "message": SHUTTING_DOWN}}
        return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"
    if path.startswith("/v1/responses"):
        payload = {"type": "error", "code": "server_shutting_down", "message": SHUTTING_DOWN,
                   "param": None}
        return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"
    error = {"message": SHUTTING_DOWN, "type": "server_error", "param": None, "code": "server_shutting_down"}
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"


async def _end(exchange: InFlight) -> None:
    """Finish a cut exchange explicitly."""
    if exchange.finished:
        return
    try:
        if not exchange.started:
            error = {"message": SHUTTING_DOWN, "type": "server_error", "param": None,
                     "code": "server_shutting_down"}
            await _json(exchange.send, 503, {"error": error},
                        [(b"retry-after", b"1"), (b"connection", b"close")])
            return
        body = _error_event(exchange.path) if exchange.stream else b""
        await exchange.send({"type": "http.response.body", "body": body, "more_body": False})
    except OSError:  # the client is gone too
        pass


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining on SIGTERM instead of stopping at once; exits 0."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain
        self.loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.draining or self.loop is None or sig not in (signal.SIGTERM, signal.SIGINT):
            super().handle_exit(sig, frame)  # a second signal: uvicorn's own (forced) exit
            return
        self.drain.begin(self.loop)

    async def on_tick(self, counter: int) -> bool:
        if self.drain.draining and time.monotonic() >= self.drain.accept_until():
            return True
        return await super().on_tick(counter)


def drained_app(drain: Drain) -> ASGIApp:
    """The app (``create_app`` from the environment) whose edge tracks requests for ``drain``."""
    from llm_router.api.app import create_app

    return create_app(drain=drain)


def run(config: uvicorn.Config, drain: Drain) -> int:
    """Serve until drained; 0 after a graceful drain."""
    remaining = max(0.0, drain.grace - min(drain.delay, drain.grace))
    config.timeout_graceful_shutdown = int(remaining) + 2  # our cut comes first
    DrainingServer(config, drain).run()
    return 0
