"""RedisCounters against the real shared Redis (a prefix per test): the sliding window is
exact, a refusal consumes nothing, parallel slots are leases that lapse, budgets reserve and
commit with a seed read once; the failover degrades and recovers on a private Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llm_router.errors import RateLimited
from llm_router.policies.counters_failover import FailoverCounters
from llm_router.policies.counters_redis import RedisCounters
from llm_router.scaleout import redis_client
from tests.scaleout.redis_helpers import SHARED_URL, private_redis, shared_prefix


@pytest.fixture
async def counters() -> AsyncIterator[RedisCounters]:
    with shared_prefix() as prefix:
        store = RedisCounters(redis_client(SHARED_URL, 1.0), prefix, lease=1.0)
        try:
            yield store
        finally:
            await store.close()


async def test_window_admits_exactly_the_limit_and_refusals_consume_nothing(counters):
    results = [await counters.rate("rpm:k", 5, 60.0, 1) for _ in range(8)]
    assert [r.allowed for r in results] == [True] * 5 + [False] * 3
    assert [r.remaining for r in results[:5]] == [4, 3, 2, 1, 0]
    refused = results[-1]
    assert 59 < refused.retry_after <= 60 and refused.remaining == 0
    await counters.adjust_rate("rpm:k", 5, 60.0, -1)  # a later policy refused: give it back
    assert (await counters.rate("rpm:k", 5, 60.0, 1)).allowed
    assert not (await counters.rate("rpm:k", 5, 60.0, 1)).allowed


async def test_window_slides(counters):
    for _ in range(3):
        assert (await counters.rate("rpm:s", 3, 0.5, 1)).allowed
    assert not (await counters.rate("rpm:s", 3, 0.5, 1)).allowed
    deadline = asyncio.get_running_loop().time() + 3
    while not (await counters.rate("rpm:s", 3, 0.5, 1)).allowed:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


async def test_tokens_are_charged_then_corrected(counters):
    assert (await counters.rate("tpm:k", 100, 60.0, 80)).allowed
    assert not (await counters.rate("tpm:k", 100, 60.0, 30)).allowed
    await counters.adjust_rate("tpm:k", 100, 60.0, -60)  # the real usage was 20
    peek = await counters.peek("tpm:k", 100, 60.0)
    assert peek.remaining == 80
    assert (await counters.rate("tpm:k", 100, 60.0, 30)).allowed
    await counters.adjust_rate("tpm:k", 100, 60.0, 25)
    assert (await counters.peek("tpm:k", 100, 60.0)).remaining == 25


async def test_parallel_slots_are_leases(counters):
    assert await counters.acquire("parallel:k", 2)
    assert await counters.acquire("parallel:k", 2)
    assert not await counters.acquire("parallel:k", 2)
    await counters.release("parallel:k")
    assert await counters.acquire("parallel:k", 2)
    # a replica that dies never releases: its leases lapse after the lease time (1 s here)
    other = RedisCounters(counters.client, counters.prefix, lease=1.0)
    counters.slot_leases.clear()
    if counters._renewer:
        counters._renewer.cancel()
    deadline = asyncio.get_running_loop().time() + 5
    while not await other.acquire("parallel:k", 2):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)


async def test_held_leases_are_renewed(counters):
    assert await counters.acquire("parallel:r", 1)
    await asyncio.sleep(1.6)  # longer than the lease: the renewer keeps it
    assert not await counters.acquire("parallel:r", 1)


async def test_budget_reserve_commit_and_seed_once(counters):
    seeds = []

    async def seed() -> int:
        seeds.append(1)
        return 40

    first = await counters.reserve("budget:key:a:0", 30, 100, seed, 60)
    assert first.allowed and first.used == 40
    second = await counters.reserve("budget:key:a:0", 30, 100, seed, 60)
    assert second.allowed and second.used == 70
    assert not (await counters.reserve("budget:key:a:0", 30, 100, seed, 60)).allowed  # 100 >= 100
    await counters.commit("budget:key:a:0", 30, 10)
    await counters.commit("budget:key:a:0", 30, 0)  # a failure: refunded
    assert len(seeds) == 1
    keys = [k.decode() async for k in counters.client.scan_iter(match=counters.prefix + "*")]
    assert keys and all("{budget:key:a:0}" in k for k in keys)  # one hash tag: one Cluster slot
    again = await counters.reserve("budget:key:a:0", 30, 100, seed, 60)
    assert again.allowed and again.used == 50


async def test_failover_open_divides_limits_and_recovers():
    with private_redis() as server:
        store = FailoverCounters(RedisCounters(redis_client(server.url, 0.25), "t:"), replicas=2,
                                 probe_interval=0.2)
        try:
            assert (await store.rate("rpm:x", 10, 60.0, 1)).allowed and store.up
            server.kill()
            answers = [await store.rate("rpm:x", 10, 60.0, 1) for _ in range(7)]
            assert [a.allowed for a in answers] == [True] * 5 + [False] * 2  # 10 / 2 replicas
            assert not store.up and store.outages == 1 and store.fallbacks == 7
            assert await store.acquire("parallel:x", 2) and not await store.acquire("parallel:x", 2)
            await store.release("parallel:x")
            server.start()
            deadline = asyncio.get_running_loop().time() + 5
            while not store.up:
                assert asyncio.get_running_loop().time() < deadline
                await store.peek("rpm:x", 10, 60.0)
                await asyncio.sleep(0.05)
            assert (await store.rate("rpm:x", 10, 60.0, 1)).remaining == 9  # the fresh shared counter
        finally:
            await store.close()


async def test_failover_closed_refuses_with_429():
    with private_redis() as server:
        store = FailoverCounters(RedisCounters(redis_client(server.url, 0.25), "t:"), mode="closed")
        try:
            server.kill()
            with pytest.raises(RateLimited):
                await store.rate("rpm:x", 10, 60.0, 1)
            await store.release("parallel:x")  # settle-side calls never raise
            await store.commit("budget:x", 1, 1)
        finally:
            await store.close()


async def test_a_lone_timeout_does_not_mark_the_store_down():
    with private_redis() as server:
        store = FailoverCounters(RedisCounters(redis_client(server.url, 0.1), "t:"), replicas=2)
        blocker = redis_client(server.url, 5.0)
        try:
            assert (await store.rate("rpm:x", 10, 60.0, 1)).allowed

            async def slow_server(seconds: float) -> None:
                await blocker.execute_command("DEBUG", "SLEEP", seconds)

            sleeping = asyncio.create_task(slow_server(0.4))
            await asyncio.sleep(0.05)
            assert (await store.rate("rpm:x", 10, 60.0, 1)).allowed  # served locally, this call only
            await sleeping
            assert store.up and store.outages == 0 and store.fallbacks == 1
            assert (await store.rate("rpm:x", 10, 60.0, 1)).remaining == 7  # shared again at once
            sleeping = asyncio.create_task(slow_server(1.0))
            await asyncio.sleep(0.05)
            for _ in range(3):
                await store.rate("rpm:x", 10, 60.0, 1)
            assert not store.up and store.outages == 1  # three in a row: down
            await sleeping
        finally:
            await blocker.aclose()
            await store.close()
