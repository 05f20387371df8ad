"""llm_router.aio: the bound loop, and Deadline against asyncio.timeout.

The property test runs the same scenario (nested timeouts, sleeps, a reschedule, a cancel
from outside, a swallowed inner timeout) once with ``asyncio.timeout`` and once with
``aio.timeout`` on an event loop with a virtual clock (time advances only when the loop
would sleep), and requires the same trace: which exception surfaced where and when, what
``expired()`` said, and the task's ``cancelling()`` count."""

from __future__ import annotations

import asyncio
import contextvars
import selectors
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router import aio


class _VirtualSelector(selectors.BaseSelector):
    """The real selector, polled without blocking; a wait advances the loop's clock instead."""

    def __init__(self) -> None:
        self.real = selectors.DefaultSelector()
        self.now = 0.0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self.real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self.real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self.real.select(0)
        if not ready:
            assert timeout is not None, "the scenario would wait forever"
            self.now += max(0.0, timeout)
        return ready

    def close(self) -> None:
        self.real.close()

    def get_map(self) -> Any:
        return self.real.get_map()


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.selector = _VirtualSelector()
        super().__init__(self.selector)

    def time(self) -> float:
        return self.selector.now


DELAYS = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, None])
TIMES = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 4.0])


@dataclass(frozen=True)
class Scenario:
    outer: float | None
    inner: float | None
    work: tuple[float, ...]
    after: float
    cancel_at: float | None  # a cancel from outside the task, at this loop time
    reschedule: tuple[int, float | None] | None  # after work step i: inner to now + x (x None: never)
    swallow: bool  # the body catches the inner TimeoutError and goes on
    bind: bool  # aio only: the loop bound in the task (as the edge does) rather than looked up


scenarios = st.builds(
    Scenario, DELAYS, DELAYS, st.lists(TIMES, max_size=4).map(tuple), TIMES,
    st.none() | TIMES, st.none() | st.tuples(st.integers(0, 3), DELAYS), st.booleans(), st.booleans())

Timeout = Callable[[float | None], Any]


def trace(make: Timeout, sc: Scenario, bind: bool = False) -> list[tuple[object, ...]]:
    log: list[tuple[object, ...]] = []
    loop = VirtualLoop()

    async def body() -> None:
        if bind:
            assert aio.bind_loop() is loop
        task = asyncio.current_task()
        assert task is not None
        try:
            async with make(sc.outer) as outer:
                try:
                    async with make(sc.inner) as inner:
                        for i, delay in enumerate(sc.work):
                            await asyncio.sleep(delay)
                            log.append(("step", i, loop.time(), inner.when() is None))
                            if sc.reschedule is not None and sc.reschedule[0] == i:
                                x = sc.reschedule[1]
                                inner.reschedule(None if x is None else loop.time() + x)
                except TimeoutError:
                    log.append(("inner timeout", loop.time(), inner.expired(), outer.expired()))
                    if not sc.swallow:
                        raise
                log.append(("inner out", inner.expired(), task.cancelling()))
                await asyncio.sleep(sc.after)
                log.append(("outer body done", loop.time()))
        except TimeoutError:
            log.append(("outer timeout", loop.time(), outer.expired(), inner.expired()))
        except asyncio.CancelledError:
            log.append(("cancelled", loop.time()))
            raise
        finally:
            log.append(("cancelling", task.cancelling()))

    try:
        task = loop.create_task(body(), context=contextvars.Context())
        if sc.cancel_at is not None:
            loop.call_at(sc.cancel_at, task.cancel)
        try:
            loop.run_until_complete(task)
            log.append(("returned", loop.time()))
        except asyncio.CancelledError:
            log.append(("task cancelled", loop.time()))
    finally:
        loop.close()
    return log


@settings(max_examples=400, deadline=None)
@given(scenarios)
def test_deadline_behaves_as_asyncio_timeout(sc: Scenario) -> None:
    assert trace(aio.timeout, sc, bind=sc.bind) == trace(asyncio.timeout, sc)


@settings(max_examples=100, deadline=None)
@given(DELAYS, st.lists(TIMES, max_size=3).map(tuple), st.none() | TIMES)
def test_timeout_at_behaves_as_asyncio_timeout_at(when: float | None, work: tuple[float, ...],
                                                  cancel_at: float | None) -> None:
    sc = Scenario(None, when, work, 0.0, cancel_at, None, False, False)

    def ours(delay: float | None) -> Any:
        return aio.timeout_at(None if delay is None else 10.0 + delay)

    def theirs(delay: float | None) -> Any:
        return asyncio.timeout_at(None if delay is None else 10.0 + delay)

    def shifted(make: Timeout) -> list[tuple[object, ...]]:
        return trace(make, Scenario(None, sc.inner, (10.0, *sc.work), 0.0, sc.cancel_at, None, False, False))

    assert shifted(ours) == shifted(theirs)


async def test_running_loop_is_the_bound_one_and_falls_back_outside() -> None:
    loop = asyncio.get_running_loop()
    assert aio.running_loop() is loop  # nothing bound here: looked up
    assert aio.bind_loop() is loop
    assert aio.running_loop() is loop
    assert aio.current_task() is asyncio.current_task()

    async def child() -> asyncio.Task[object] | None:
        assert aio.running_loop() is loop  # inherited by a child task
        return aio.current_task()

    spawned = loop.create_task(child())
    assert await spawned is spawned  # the child's own task, never the binder's

    def in_thread() -> str:
        try:
            aio.running_loop()  # the context was copied to a thread: no loop runs there
        except RuntimeError:
            return "no loop"
        return "a loop"

    assert await asyncio.to_thread(in_thread) == "no loop"


def test_binding_stays_in_its_context() -> None:
    with pytest.raises(RuntimeError):
        aio.running_loop()

    async def bind() -> None:
        aio.bind_loop()

    asyncio.run(bind())
    with pytest.raises(RuntimeError):  # the task's binding did not leak out of its context
        aio.running_loop()


async def test_outside_cancel_during_deadline_stays_cancelled() -> None:
    started = asyncio.Event()

    async def work() -> None:
        async with aio.timeout(30):
            started.set()
            await asyncio.sleep(30)

    task = asyncio.get_running_loop().create_task(work())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_expiry_raises_timeout_error_and_reschedule() -> None:
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        async with aio.timeout(0.01) as deadline:
            await asyncio.sleep(5)
    assert deadline.expired()
    async with aio.timeout(0.01) as deadline:
        deadline.reschedule(None)  # no deadline any more
        await asyncio.sleep(0.03)
        deadline.reschedule(loop.time() + 5)
        assert deadline.when() == pytest.approx(loop.time() + 5, abs=0.5)
    assert not deadline.expired()
    assert (asyncio.current_task() or pytest.fail()).cancelling() == 0


async def test_state_errors_match_asyncio() -> None:
    ours, theirs = aio.timeout(1), asyncio.timeout(1)
    for deadline in (ours, theirs):
        with pytest.raises(RuntimeError, match="not been entered"):
            deadline.reschedule(None)
        async with deadline:
            pass
        with pytest.raises(RuntimeError, match="Cannot change state of finished Timeout"):
            deadline.reschedule(None)
        with pytest.raises(RuntimeError, match="already been entered"):
            async with deadline:
                pass
