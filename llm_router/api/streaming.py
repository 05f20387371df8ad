"""A streaming ASGI response that cancels its source the moment the client goes away,
and can cut the connection (no final chunk) when a stream fails midway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from llm_router import aio
from llm_router.api.errors import ErrorInfo, describe
from llm_router.errors import ProviderError
from llm_router.observability.state import current_request_id

log = logging.getLogger("llm_router.stream")
T = TypeVar("T")
C = TypeVar("C")


#: How long ``cancel_on_disconnect``'s work runs before a watcher for the client's disconnect
#: starts (seconds).
WATCH_AFTER = 0.1

#: The SSE comment that ends a stream resumed on another deployment after a mid-stream failure.
RESUMED_TRAILER = b": x-llm-router-resumed: 1\n\n"


class StreamAborted(Exception):
    """Raised by a body iterator to end the response without its terminating chunk."""


class StreamBody(Response):
    """Sends ``chunks`` as they come. A client disconnect cancels the iterator (and with
    it the upstream request); StreamAborted closes the connection without completing."""

    def __init__(self, chunks: AsyncIterator[bytes], media_type: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(None, 200, headers, media_type)
        self.chunks = chunks

    def render(self, content: object) -> bytes:
        return b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        try:
            completed = await cancel_on_disconnect(receive, self._pump(send))
        except StreamAborted:
            return  # leave the response incomplete: the server closes the connection
        if completed is None:
            log.info("client disconnected; upstream stream cancelled")
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _pump(self, send: Send) -> bool:
        try:
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await self.chunks.aclose()  # type: ignore[attr-defined]
        return True


async def cancel_on_disconnect(receive: Receive, work: Awaitable[T]) -> T | None:
    """Run ``work`` in this task; if the client disconnects first, cancel it and return None.

    The disconnect is watched for (a task waiting on ``receive``) only once ``work`` has run
    for :data:`WATCH_AFTER` seconds: most answers that come sooner (a cache hit, a fast
    upstream) never pay for the watcher, and a client that left before it started is seen at
    once when it does (the server keeps the disconnect), so the upstream call is cancelled at
    most that much later than it would be with a watcher from the start."""
    loop = aio.running_loop()
    task = asyncio.current_task(loop)
    assert task is not None
    gone = False
    watcher: asyncio.Task[None] | None = None

    async def watch() -> None:
        nonlocal gone
        await _wait_disconnect(receive)
        gone = True
        task.cancel()

    def start() -> None:
        nonlocal watcher
        watcher = loop.create_task(watch())

    timer = loop.call_later(WATCH_AFTER, start)
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()
        return None
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def encoded_stream(chunks: AsyncIterable[C], encode: Callable[[C], bytes],
                         fail: Callable[[ErrorInfo], bytes]) -> AsyncIterator[bytes]:
    """A committed stream's chunks in a surface's wire format. A failure after the stream
    began ends it with ``fail``'s frame (the surface's in-band error), never a normal end."""
    try:
        async for chunk in chunks:
            frame = encode(chunk)
            if frame:
                yield frame
    except ProviderError as exc:
        info = describe(exc)
        log.warning("stream failed after it began request_id=%s type=%s", current_request_id(), info.type)
        yield fail(info)
        return
    if getattr(chunks, "resumed", False):  # went on elsewhere midway (routing/resume.py); headers are gone
        yield RESUMED_TRAILER
