"""UpstreamResponse.read: a whole answer, however it arrives, within the size limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from llm_router.config.deployment import Timeouts
from llm_router.errors import UpstreamProtocolError
from llm_router.providers.http import UpstreamClient

BODY = b'{"answer": "' + b"x" * 4000 + b'"}'


async def _whole(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json")


async def _in_pieces(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"content-type": "application/json"})
    await response.prepare(request)
    for start in range(0, len(BODY), 1000):
        await response.write(BODY[start:start + 1000])
        await asyncio.sleep(0)  # let each piece leave on its own
    await response.write_eof()
    return response


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/whole", _whole)
    app.router.add_post("/pieces", _in_pieces)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("path", ["/whole", "/pieces"])
async def test_read_returns_the_whole_body(http: UpstreamClient, upstream: str, path: str) -> None:
    async with http.post(upstream + path, {}, b"{}", Timeouts(), "openai") as response:
        assert await response.read() == BODY


@pytest.mark.parametrize("path", ["/whole", "/pieces"])
async def test_read_refuses_a_body_over_the_limit(http: UpstreamClient, upstream: str, path: str) -> None:
    async with http.post(upstream + path, {}, b"{}", Timeouts(), "openai") as response:
        with pytest.raises(UpstreamProtocolError, match="size limit"):
            await response.read(limit=len(BODY) - 1)
