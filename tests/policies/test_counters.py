"""The in-process counter store: sliding-window exactness, slots, budget reservations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router.policies.counters import InProcessCounters
from llm_router.policies.window import SlidingWindow
from tests.policies.helpers import Clock


async def test_at_most_the_limit_in_every_window():
    clock = Clock()
    store = InProcessCounters(clock=clock)
    results = []
    for _ in range(6):
        results.append(await store.rate("k", 5, 60, 1))
        clock.now += 1
    assert [r.allowed for r in results] == [True] * 5 + [False]
    assert [r.remaining for r in results[:5]] == [4, 3, 2, 1, 0]
    assert results[4].reset_after == pytest.approx(60)
    assert results[5].retry_after == pytest.approx(55)  # when the first request leaves the window
    clock.now = 1000 + 59.9
    assert not (await store.rate("k", 5, 60, 1)).allowed
    clock.now = 1000 + 60
    assert (await store.rate("k", 5, 60, 1)).allowed
    assert not (await store.rate("k", 5, 60, 1)).allowed
    clock.now += 120
    assert (await store.peek("k", 5, 60)).remaining == 5


async def test_refusals_consume_nothing_and_keys_are_separate():
    store = InProcessCounters(clock=Clock())
    for _ in range(5):
        await store.rate("a", 5, 60, 1)
    for _ in range(10):
        assert not (await store.rate("a", 5, 60, 1)).allowed
    assert (await store.rate("b", 5, 60, 1)).allowed


async def test_token_corrections_move_the_window_both_ways():
    clock = Clock()
    store = InProcessCounters(clock=clock)
    assert (await store.rate("t", 1000, 60, 800)).remaining == 200
    await store.adjust_rate("t", 1000, 60, -700)  # used 100, not 800
    assert (await store.peek("t", 1000, 60)).remaining == 900
    clock.now += 30
    await store.adjust_rate("t", 1000, 60, 5000)  # real usage above the limit: counted, now
    assert (await store.peek("t", 1000, 60)).remaining == 0
    assert not (await store.rate("t", 1000, 60, 1)).allowed
    clock.now += 60  # the correction left the window too
    assert (await store.rate("t", 1000, 60, 1)).allowed


async def test_a_request_larger_than_the_limit_passes_only_on_an_empty_bucket():
    store = InProcessCounters(clock=Clock())
    assert (await store.rate("t", 100, 60, 5000)).allowed
    assert not (await store.rate("t", 100, 60, 1)).allowed


async def test_slots():
    store = InProcessCounters()
    assert [await store.acquire("p", 2) for _ in range(3)] == [True, True, False]
    await store.release("p")
    assert await store.acquire("p", 2)


async def test_budget_reservations_seed_once_and_commit_real_costs():
    store = InProcessCounters()
    seeds = []

    async def seed() -> int:
        seeds.append(1)
        return 40

    first = await store.reserve("b", 30, 100, seed, 60)
    assert first.allowed and first.used == 40
    second = await store.reserve("b", 30, 100, seed, 60)
    assert second.allowed and second.used == 70
    assert not (await store.reserve("b", 30, 100, seed, 60)).allowed  # 40 + 60 >= 100
    await store.commit("b", 30, 5)
    await store.commit("b", 30, 0)
    assert store.spent("b") == (45, 0)
    assert len(seeds) == 1


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 20), steps=st.lists(st.tuples(st.floats(0, 30), st.integers(1, 25)), max_size=80))
def test_window_matches_a_reference_model(limit, steps):
    """Model-based: the window admits exactly what a brute-force count over the last period
    would, so every window of 60 s holds at most ``limit`` units."""
    window, admitted, now = SlidingWindow(60.0), [], 0.0
    for gap, cost in steps:
        now += gap
        in_window = sum(c for t, c in admitted if t > now - 60)
        expected = in_window + min(cost, limit) <= limit
        result = window.take(now, limit, cost)
        assert result.allowed is expected
        if expected:
            admitted.append((now, min(cost, limit)))
        assert result.remaining == max(0, limit - sum(c for t, c in admitted if t > now - 60))
    for start, _ in admitted:
        assert sum(c for t, c in admitted if start <= t < start + 60) <= limit
