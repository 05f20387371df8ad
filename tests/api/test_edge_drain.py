"""Issue 20: the edge tracks requests for the drain (no drain layer of its own). In process,
over httpx's ASGI transport: readiness while draining, requests served during the drain, the
cut of a stream and of a response not yet started, the in-flight set emptying, and a
cancellation that is not the drain's passing through. (The SIGTERM path end to end, with a
real server, is ``tests/scaleout/test_drain.py``.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import orjson
import pytest

from llm_router.api.app import create_app
from llm_router.drain import Drain
from tests.api.conftest import settings_from
from tests.fakes import Reply
from tests.gateway_process import environment

CHAT = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]}


@asynccontextmanager
async def drained_client(env: dict[str, str], drain: Drain) -> AsyncIterator[httpx.AsyncClient]:
    with environment(env):
        app = create_app(settings_from(env), configure_logging=False, drain=drain)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://router.test") as client:
            yield client


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_ready_is_503_while_draining_and_requests_are_still_served(env, fakes):
    drain = Drain(grace=30)
    async with drained_client(env, drain) as client:
        assert (await client.get("/ready")).status_code == 200
        drain.begin()
        ready = await client.get("/ready")
        assert ready.status_code == 503 and ready.json() == {"status": "draining"}
        fakes["openai"].enqueue(Reply(text="still served"))
        answer = await client.post("/v1/chat/completions", json=CHAT)
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == "still served"
        assert (await client.get("/health")).status_code == 200
    assert not drain.in_flight


async def test_the_cut_ends_a_stream_with_an_error_event(env, fakes):
    drain = Drain(grace=30)
    fakes["openai"].enqueue(Reply(text="never ends", stall_after=2))
    async with drained_client(env, drain) as client:
        request = asyncio.create_task(client.post("/v1/chat/completions", json={**CHAT, "stream": True}))
        await until(lambda: any(e.started for e in drain.in_flight))
        assert [e.stream for e in drain.in_flight] == [True]
        drain.cut()
        answer = await request
    assert answer.status_code == 200
    last = [line for line in answer.text.splitlines() if line][-1]
    assert orjson.loads(last.removeprefix("data: "))["error"]["code"] == "server_shutting_down"
    assert not drain.in_flight


async def test_the_cut_answers_a_response_not_started_with_503(env, fakes):
    drain = Drain(grace=30)
    fakes["openai"].enqueue(Reply(text="too late", delay=30))
    async with drained_client(env, drain) as client:
        request = asyncio.create_task(client.post("/v1/chat/completions", json=CHAT))
        await until(lambda: len(fakes["openai"].requests) == 1)
        assert [e.started for e in drain.in_flight] == [False]
        drain.cut()
        answer = await request
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "server_shutting_down"
    assert not drain.in_flight


async def test_a_cancellation_not_the_drains_propagates(env, fakes):
    drain = Drain(grace=30)
    fakes["openai"].enqueue(Reply(text="too late", delay=30))
    async with drained_client(env, drain) as client:
        request = asyncio.create_task(client.post("/v1/chat/completions", json=CHAT))
        await until(lambda: len(fakes["openai"].requests) == 1)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
    assert not drain.in_flight


async def test_finished_responses_leave_the_in_flight_set(env, fakes):
    drain = Drain(grace=30)
    async with drained_client(env, drain) as client:
        for stream in (False, True):
            fakes["openai"].enqueue(Reply(text="done"))
            answer = await client.post("/v1/chat/completions", json={**CHAT, "stream": stream})
            assert answer.status_code == 200
            assert not drain.in_flight
        assert (await client.get("/v1/models")).status_code in (200, 401)
        assert not drain.in_flight
