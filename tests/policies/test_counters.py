"""The in-process counter store: GCRA exactness, slots, budget reservations."""

from __future__ import annotations

import pytest

from llm_router.policies.counters import InProcessCounters
from tests.policies.helpers import Clock


async def test_gcra_admits_the_limit_then_one_per_interval():
    clock = Clock()
    store = InProcessCounters(clock=clock)
    results = [await store.rate("k", 5, 60, 1) for _ in range(6)]
    assert [r.allowed for r in results] == [True] * 5 + [False]
    assert [r.remaining for r in results[:5]] == [4, 3, 2, 1, 0]
    assert results[4].reset_after == pytest.approx(60)
    assert results[5].retry_after == pytest.approx(12)
    clock.now += 11.9
    assert not (await store.rate("k", 5, 60, 1)).allowed
    clock.now += 0.1
    assert (await store.rate("k", 5, 60, 1)).allowed
    assert not (await store.rate("k", 5, 60, 1)).allowed
    clock.now += 60
    assert (await store.peek("k", 5, 60)).remaining == 5


async def test_refusals_consume_nothing_and_keys_are_separate():
    store = InProcessCounters(clock=Clock())
    for _ in range(5):
        await store.rate("a", 5, 60, 1)
    for _ in range(10):
        assert not (await store.rate("a", 5, 60, 1)).allowed
    assert (await store.rate("b", 5, 60, 1)).allowed


async def test_token_corrections_move_the_bucket_both_ways():
    clock = Clock()
    store = InProcessCounters(clock=clock)
    assert (await store.rate("t", 1000, 60, 800)).remaining == 200
    await store.adjust_rate("t", 1000, 60, -700)  # used 100, not 800
    assert (await store.peek("t", 1000, 60)).remaining == 900
    await store.adjust_rate("t", 1000, 60, 5000)  # capped at a full bucket
    assert (await store.peek("t", 1000, 60)).remaining == 0
    assert not (await store.rate("t", 1000, 60, 1)).allowed


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
