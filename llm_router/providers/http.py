"""The one shared, pooled upstream HTTP client, with timeouts and failure classification.

aiohttp was chosen over httpx for the upstream side: lower per-request CPU under load
(see bench/RESULTS.md). Every network failure leaves here as a typed ProviderError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from llm_router import aio
from llm_router.config.deployment import Timeouts
from llm_router.errors import (
    ProviderError,
    UpstreamConnectionError,
    UpstreamProtocolError,
    UpstreamTimeout,
)

MAX_RESPONSE_BYTES = 32 * 1024 * 1024


@dataclass(slots=True)
class UpstreamResponse:
    """Status, headers and a byte stream of one upstream answer."""

    status: int
    headers: Mapping[str, str]
    _response: aiohttp.ClientResponse
    _idle: float
    _provider: str

    async def read(self, limit: int = MAX_RESPONSE_BYTES) -> bytes:
        """The whole body, refusing more than ``limit`` bytes."""
        content = self._response.content
        if content.is_eof():  # all of it is in already (a small answer): no wait, no timer
            try:
                data = content.read_nowait()
            except aiohttp.ClientError as exc:
                raise _broken(exc, self._provider) from None
            if len(data) > limit:
                raise _too_big(self._provider)
            return data
        chunks: list[bytes] = []
        size = 0
        async for chunk in self.iter_chunks():
            size += len(chunk)
            if size > limit:
                raise _too_big(self._provider)
            chunks.append(chunk)
        return b"".join(chunks)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; the idle timeout bounds each wait (one timer,
        moved forward after every read, rather than a new one per read)."""
        content = self._response.content
        loop = aio.running_loop()
        try:
            async with aio.timeout(self._idle) as idle:
                while True:
                    chunk = await content.readany()
                    if not chunk:
                        return
                    idle.reschedule(None)  # no deadline while the consumer has the chunk
                    yield chunk
                    idle.reschedule(loop.time() + self._idle)
        except TimeoutError:
            raise UpstreamTimeout(
                f"Upstream stalled for more than {self._idle:g}s.", provider=self._provider
            ) from None
        except aiohttp.ClientError as exc:
            raise _broken(exc, self._provider) from None


def _broken(exc: aiohttp.ClientError, provider: str) -> ProviderError:
    """The typed error for a body cut off mid-response."""
    if isinstance(exc, aiohttp.ClientPayloadError):
        return UpstreamProtocolError("Upstream connection closed mid-response.", provider=provider)
    return UpstreamConnectionError("Upstream connection lost mid-response.", provider=provider)


def _too_big(provider: str) -> UpstreamProtocolError:
    return UpstreamProtocolError("Upstream response exceeds the size limit.", provider=provider)


class UpstreamClient:
    """A pooled aiohttp session shared by every provider in the process."""

    def __init__(self, limit: int = 1000) -> None:
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the pool. Called once, at application start-up."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, ttl_dns_cache=300)
            # No cookie jar: the pool serves every key and team, and a cookie one upstream
            # answer set (OpenAI's edge sets two on each) must not go out with the next request.
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, skip_auto_headers=("User-Agent",),
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def close(self) -> None:
        """Close the pool. Called once, at shutdown."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @asynccontextmanager
    async def post(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
        provider: str,
    ) -> AsyncIterator[UpstreamResponse]:
        """POST ``body`` and yield the response once its headers are in."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect)
        try:
            async with aio.timeout(timeouts.first_byte):
                response = await self._session.post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False
                )
        except aiohttp.ClientError as exc:  # first: aiohttp's connect timeout is a TimeoutError too
            raise _connection_error(exc, provider) from None
        except TimeoutError:
            error = UpstreamTimeout(
                f"No answer from upstream within {timeouts.first_byte:g}s.", provider=provider
            )
            error.possibly_billed = True
            raise error from None
        try:
            yield UpstreamResponse(
                response.status, response.headers, response, timeouts.stream_idle, provider
            )
        finally:
            response.release() if response.content.at_eof() else response.close()


def _connection_error(exc: aiohttp.ClientError, provider: str) -> ProviderError:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        # Nothing was sent and the host is unreachable: like a refusal, the router fails
        # over to the next deployment at once rather than retrying this one.
        return UpstreamConnectionError("Timed out connecting to upstream.", provider=provider)
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return UpstreamTimeout("Upstream stalled while answering.", provider=provider)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamConnectionError("Could not connect to upstream.", provider=provider)
    error = UpstreamConnectionError(
        f"Upstream connection failed ({type(exc).__name__}).", provider=provider
    )
    error.possibly_billed = True  # connected, so the request may have been read
    return error
