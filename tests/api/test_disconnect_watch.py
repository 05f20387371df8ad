"""api/streaming.cancel_on_disconnect: a client disconnect cancels the work; the watcher for it
starts only once the work has run for WATCH_AFTER seconds (issue 20), and a disconnect that
came before that is still seen. ``receive`` is an ASGI receive over a queue, as a server's."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.types import Message

from llm_router.api import streaming
from llm_router.api.streaming import cancel_on_disconnect


class Client:
    """The server side of one connection: what ``receive`` returns, and how often it was called."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.calls = 0
        self.waiting = asyncio.Event()

    async def receive(self) -> Message:
        self.calls += 1
        self.waiting.set()
        return await self.messages.get()

    def leave(self) -> None:
        self.messages.put_nowait({"type": "http.disconnect"})


async def test_a_quick_answer_starts_no_watcher() -> None:
    client = Client()

    async def work() -> str:
        await asyncio.sleep(0)
        return "answer"

    assert await cancel_on_disconnect(client.receive, work()) == "answer"
    assert client.calls == 0


async def test_a_client_gone_before_the_watcher_started_is_seen_when_it_starts() -> None:
    client = Client()
    client.leave()
    cancelled = asyncio.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "too late"

    began = time.monotonic()
    async with asyncio.timeout(10):
        assert await cancel_on_disconnect(client.receive, work()) is None
    assert cancelled.is_set()
    assert time.monotonic() - began >= streaming.WATCH_AFTER * 0.9
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the watcher's cancel was taken back


async def test_a_disconnect_while_the_work_runs_cancels_it() -> None:
    client = Client()

    async def work() -> str:
        await asyncio.sleep(30)
        return "too late"

    async def leave_later() -> None:
        await client.waiting.wait()  # the watcher is waiting on receive
        client.leave()

    leaving = asyncio.get_running_loop().create_task(leave_later())
    async with asyncio.timeout(10):
        assert await cancel_on_disconnect(client.receive, work()) is None
    await leaving


async def test_a_cancel_from_outside_stays_a_cancellation() -> None:
    client = Client()
    started = asyncio.Event()

    async def work() -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    task = asyncio.get_running_loop().create_task(cancel_on_disconnect(client.receive, work()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_works_error_passes_and_the_watcher_is_gone() -> None:
    client = Client()

    async def work() -> str:
        await asyncio.sleep(streaming.WATCH_AFTER * 2)  # the watcher has started
        raise ValueError("upstream refused")

    before = asyncio.all_tasks()
    with pytest.raises(ValueError, match="upstream refused"):
        await cancel_on_disconnect(client.receive, work())
    assert client.calls == 1
    deadline = time.monotonic() + 5
    while asyncio.all_tasks() - before:
        assert time.monotonic() < deadline, "the watcher task is still running"
        await asyncio.sleep(0.01)
