"""Shared machinery of the fake upstreams: a thread with its own event loop running an aiohttp
server, a FIFO of scripted replies, a request log, fault injection and SSE writing.

Each provider subclass only encodes its wire format (bodies, SSE events, errors, headers).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

from tests.fakes.wire import HTML_PAGE, Problem, ProviderWire, RecordedRequest, Reply, SseEvent, compact


@dataclass
class Exchange:
    """Server-side state of one request."""

    request: web.Request
    record: RecordedRequest
    reply: Reply
    request_id: str
    response: web.StreamResponse | None = None
    aborted: bool = False  # the server itself cut the connection (cut_after)


Answer = Callable[[Exchange], Awaitable[web.StreamResponse]]


def _index(n: int | None, last: int) -> int | None:
    """Where a fault fires: after ``n`` events, but always before the terminal one."""
    return None if n is None else min(n, last)


def _closing(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


class FakeServer(ProviderWire):
    """A fake upstream; see ``tests/fakes/__init__.py`` for the public API."""

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._log: list[RecordedRequest] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._stopping = False

    # ----- public, thread-safe API -----
    def start(self) -> Self:
        if self._thread is not None:
            return self
        ready = threading.Event()
        errors: list[BaseException] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, args=(ready, errors), daemon=True,
                                        name=f"{type(self).__name__}-loop")
        self._thread.start()
        ready.wait(10)
        if errors:
            self._thread.join(5)
            self._thread = None
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._stopping = True
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
        self._thread = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}{self.url_suffix}"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._log.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def wait_for_close(self, timeout: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            log = self.requests
            if log and log[-1].client_closed:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # ----- server lifecycle (runs in the fake's thread) -----
    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(self.chat_path, self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        for method, path, handler in self.extra_routes():
            app.router.add_route(method, path, handler)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.25)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    def extra_routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        """More endpoints of the provider (method, path, handler), before the catch-all 404."""
        return []

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    # ----- request handling -----
    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in request.headers.items()}
        record = RecordedRequest(request.method, request.path, headers, body, time.monotonic())
        with self._lock:
            self._log.append(record)
        return record

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else Reply()

    def _mark_closed(self, ex: Exchange) -> None:
        if not ex.aborted and not self._stopping:
            ex.record.client_closed = True

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._guarded(request, self._next_reply(), self._answer_chat)

    async def _handle_models(self, request: web.Request) -> web.StreamResponse:
        return await self._guarded(request, Reply(), self._answer_models)

    async def _handle_unknown(self, request: web.Request) -> web.StreamResponse:
        problem = Problem(404, self.default_error(404)[0], f"Not found: {request.method} {request.path}")
        return await self._guarded(request, Reply(), lambda ex: self._send_problem(ex, problem))

    async def _guarded(self, request: web.Request, reply: Reply, answer: Answer) -> web.StreamResponse:
        """Record the request, run ``answer``; note it on the record if the client goes away meanwhile."""
        ex = Exchange(request, await self._record(request), reply, self.new_request_id())
        try:
            return await answer(ex)
        except asyncio.CancelledError:
            self._mark_closed(ex)
            raise
        except ConnectionError:
            self._mark_closed(ex)
            return ex.response or web.Response(status=499)

    async def _answer_models(self, ex: Exchange) -> web.StreamResponse:
        problem = self.check_headers(ex.record.headers)
        if problem:
            return await self._send_problem(ex, problem)
        return await self._send_json(ex, 200, compact(self.models_body()))

    async def _answer_chat(self, ex: Exchange) -> web.StreamResponse:
        reply, body = ex.reply, ex.record.body
        if not await self._sleep(ex, reply.delay):
            return web.Response(status=499)
        if reply.reset:
            ex.aborted = True
            if ex.request.transport is not None:
                ex.request.transport.abort()
            return web.Response(status=499)  # never reaches the client
        problem = (self.check_headers(ex.record.headers) or self._check_body(body)
                   or self._scripted_error(reply))
        if problem:
            return await self._send_problem(ex, problem)
        if reply.html_error:
            page = HTML_PAGE.format(status=reply.status)
            return await self._send(ex, web.Response(status=reply.status, text=page, content_type="text/html",
                                                     headers=self._headers(ex)))
        if body.get("stream") is True:
            return await self._stream(ex, self.stream_events(reply, reply.model or body["model"], body))
        if reply.empty_stream:
            return await self._send_json(ex, 200, "")
        text = compact(self.success_body(reply, reply.model or body["model"], ex.request_id))
        return await self._send_json(ex, 200, text[: len(text) // 2] if reply.malformed else text)

    def _check_body(self, body: Any) -> Problem | None:
        if not isinstance(body, dict):
            return Problem(400, self.default_error(400)[0], "Request body must be a JSON object.")
        invalid = self.validate(body)
        return Problem(400, self.default_error(400)[0], *invalid) if invalid else None

    def _scripted_error(self, reply: Reply) -> Problem | None:
        if reply.status == 200 or reply.html_error:
            return None
        error_type, message = self.default_error(reply.status)
        return Problem(reply.status, reply.error_type or error_type, reply.error_message or message)

    async def _sleep(self, ex: Exchange, seconds: float) -> bool:
        """Wait ``seconds``; False (and the record marked) if the client went away meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if _closing(ex.request):
                self._mark_closed(ex)
                return False
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        return True

    def _headers(self, ex: Exchange, **extra: str) -> dict[str, str]:
        return {**self.response_headers(ex.request_id), **extra, **ex.reply.headers}

    async def _send(self, ex: Exchange, response: web.StreamResponse) -> web.StreamResponse:
        ex.response = response
        await response.prepare(ex.request)
        await response.write_eof()
        return response

    async def _send_json(self, ex: Exchange, status: int, text: str) -> web.StreamResponse:
        headers = self._headers(ex, **{"content-type": "application/json"})
        return await self._send(ex, web.Response(status=status, text=text, headers=headers))

    async def _send_problem(self, ex: Exchange, problem: Problem) -> web.StreamResponse:
        body = self.error_body(problem.error_type, problem.message, ex.request_id, problem.param)
        return await self._send_json(ex, problem.status, compact(body))

    # ----- streaming -----
    async def _stream(self, ex: Exchange, events: list[SseEvent]) -> web.StreamResponse:
        reply = ex.reply
        headers = self._headers(ex, **{"content-type": "text/event-stream; charset=utf-8",
                                       "cache-control": "no-cache"})
        ex.response = web.StreamResponse(status=200, headers=headers)
        ex.response.enable_chunked_encoding()
        await ex.response.prepare(ex.request)
        if reply.empty_stream:
            await ex.response.write_eof()
            return ex.response
        if reply.malformed and len(events) > 1:
            events.insert(1, self._broken(events[1]))
        if reply.bad_event is not None:
            events.insert(min(reply.bad_event_at, len(events) - 1), SseEvent(reply.bad_event))
        if reply.huge_event_bytes and not await self._huge_line(ex, reply.huge_event_bytes):
            return ex.response
        await self._play(ex, events)
        return ex.response

    async def _huge_line(self, ex: Exchange, size: int) -> bool:
        """One ``data:`` line of ``size`` bytes, written in 64 KiB pieces; False if the client
        went away meanwhile (the router is expected to give up at its cap)."""
        assert ex.response is not None
        piece = b"x" * 65536
        await ex.response.write(b"data: ")
        try:
            for _ in range(size // len(piece)):
                await ex.response.write(piece)
            await ex.response.write(b"\n\n")
        except ConnectionError:
            self._mark_closed(ex)
            return False
        return True

    async def _play(self, ex: Exchange, events: list[SseEvent]) -> None:
        reply, last = ex.reply, len(events) - 1
        for i, event in enumerate(events):
            if i == _index(reply.cut_after, last):
                ex.aborted = True
                if ex.request.transport is not None:
                    ex.request.transport.abort()
                return
            if i == _index(reply.stall_after, last):
                await self._sleep(ex, float("inf"))
                return
            if i == _index(reply.inband_error_after, last):
                error_type, message = self.inband_default
                for error_event in self.inband_error_events(reply.error_type or error_type,
                                                            reply.error_message or message):
                    await self._write(ex, error_event, i)
                break
            await self._write(ex, event, i)
        assert ex.response is not None
        await ex.response.write_eof()

    async def _write(self, ex: Exchange, event: SseEvent, index: int) -> None:
        """Write one event; every odd event is split over two writes when ``split_writes``."""
        assert ex.response is not None
        data = event.encode(self.eol)
        if self.split_writes and index % 2 == 1:
            await ex.response.write(data[: len(data) // 2])
            await asyncio.sleep(0.002)
            data = data[len(data) // 2:]
        await ex.response.write(data)

    @staticmethod
    def _broken(event: SseEvent) -> SseEvent:
        text = event.data if isinstance(event.data, str) else compact(event.data)
        return SseEvent(text[: max(1, len(text) // 2)], event.name)
