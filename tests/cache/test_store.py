"""The stores on their own: the LRU's byte bound and TTL (injected clock), entries' bytes, and
the Redis store's TTL, prefix and compression on the real Redis."""

from __future__ import annotations

import asyncio
import zlib

import redis

from llm_router.cache.entry import Entry, decode, encode, served
from llm_router.cache.store import MemoryStore, RedisStore
from llm_router.messages import ChatChunk, ChatResponse, ToolCallDelta, Usage
from tests.scaleout.redis_helpers import SHARED_URL, delete_prefix, new_prefix


def run(coro):
    return asyncio.run(coro)


def test_the_lru_is_bounded_by_bytes_and_drops_the_least_recently_used():
    store = MemoryStore(max_bytes=1000, max_entry_bytes=600)

    async def scenario():
        for name in "abc":
            await store.put(name, b"x" * 300, 60)
        assert store.size() == 900
        assert await store.get("a") == b"x" * 300  # a is now the most recently used
        await store.put("d", b"y" * 300, 60)  # over the bound: b (least recently used) goes
        assert await store.get("b") is None
        assert [await store.get(k) is not None for k in "acd"] == [True, True, True]
        assert store.size() <= 1000
        await store.put("huge", b"z" * 700, 60)  # larger than an entry may be: not kept
        assert await store.get("huge") is None and store.size() == 900

    run(scenario())


def test_the_lru_expires_entries_on_its_clock():
    now = [100.0]
    store = MemoryStore(clock=lambda: now[0])

    async def scenario():
        await store.put("k", b"v", 5)
        now[0] += 4.9
        assert await store.get("k") == b"v"
        now[0] += 0.2
        assert await store.get("k") is None and store.size() == 0

    run(scenario())


def test_entries_round_trip_and_a_hit_is_marked_cached():
    response = ChatResponse("id", "m", "text", "stop", Usage(3, 4), raw=b'{"usage":{"prompt_tokens":3}}')
    entry = Entry("d", "r", 1.0, response)
    again = decode(encode(entry))
    assert again == entry
    hit = served(again)
    assert hit.response is not None and hit.response.usage.cached
    assert b'"cached":true' in (hit.response.raw or b"")
    chunks = (ChatChunk("a", raw=b"x"), ChatChunk(tool_calls=(ToolCallDelta(0, "c", "f", "{}"),)),
              ChatChunk(finish_reason="tool_calls", usage=Usage(1, 2)))
    stream = decode(encode(Entry("d", "r", 1.0, chunks=chunks)))
    assert stream is not None and stream.chunks == chunks
    assert [c.raw for c in served(stream).chunks] == [None, None, None]
    assert served(stream).usage() == Usage(1, 2, cached=True)
    assert decode(b"not zlib") is None


def test_the_redis_store_keeps_compressed_values_with_a_ttl_under_its_prefix():
    prefix = new_prefix()
    client = redis.Redis.from_url(SHARED_URL)
    try:
        async def scenario():
            from redis.asyncio import Redis

            store = RedisStore(Redis.from_url(SHARED_URL), prefix)
            value = encode(Entry("d", "r", 1.0, ChatResponse("i", "m", "t" * 1000, "stop", Usage(1, 1))))
            await store.put("k1", value, 30)
            assert await store.get("k1") == value
            assert await store.get("absent") is None
            await store.close()
            return value

        value = run(scenario())
        stored = client.get(prefix + "cache:k1")
        assert stored == value and len(stored) < 1000  # compressed
        assert zlib.decompress(stored).startswith(b"{")
        assert 0 < client.pttl(prefix + "cache:k1") <= 30_000
    finally:
        delete_prefix(SHARED_URL, prefix)
        client.close()


def test_a_redis_that_is_down_is_a_miss_not_an_error():
    async def scenario():
        from redis.asyncio import Redis

        store = RedisStore(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
        await store.put("k", b"v", 10)
        assert await store.get("k") is None
        await store.close()

    run(scenario())
