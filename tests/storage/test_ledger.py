"""The usage ledger: batched writes off the request path, totals, pagination, on both databases."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.observability.usage import UsageRecord
from llm_router.storage.dead_letters import dead_letters
from llm_router.storage.ledger import Ledger, RequestFilter, since_window
from llm_router.storage.usage_sink import DatabaseUsageSink, RequestOwners


def record(request_id: str, *, model: str = "gpt-4.1-mini", cost: float | None = 0.000123, status: int = 200,
           when: float | None = None) -> UsageRecord:
    return UsageRecord(
        request_id=request_id, uid=request_id, timestamp=when or time.time(), surface="openai", route="smart",
        deployment="openai-main", provider="openai", model=model, attempts=1, possibly_billed_attempts=0,
        status=status, error_type=None if status < 400 else "upstream_server_error", input_tokens=100,
        output_tokens=20, cached_input_tokens=10, cost_usd=cost, latency=0.25, time_to_first_token=0.05,
        streamed=False, cancelled=False, finish_reason="stop")


async def wait_for(predicate, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_rows_are_written_within_a_second_and_totals_group(engine: AsyncEngine):
    ledger, owners = Ledger(engine), RequestOwners()
    sink = DatabaseUsageSink(ledger, owners, interval=0.2)
    sink.start()
    try:
        owners.set("r1", "key_a", "team_x")
        owners.set("r2", "key_b", "team_x")
        started = time.monotonic()
        sink.add(record("r1"))
        sink.add(record("r2", model="claude", cost=None, status=502))
        sink.add(record("r3"))

        async def written() -> bool:
            return sink.pending == 0
        await wait_for(written)
        assert time.monotonic() - started < 1.0  # the flush interval bound (0.2 s here, 1 s at most)
        assert len(await ledger.requests(RequestFilter())) == 3
    finally:
        await sink.close()
    by_team = await ledger.totals(since_window(3600), "team")
    assert by_team == [
        {"team": None, "requests": 1, "errors": 0, "input_tokens": 100, "output_tokens": 20,
         "cached_input_tokens": 10, "unpriced": 0, "possibly_billed_attempts": 0, "cost_micros": 123, "cost_usd": 0.000123},
        {"team": "team_x", "requests": 2, "errors": 1, "input_tokens": 200, "output_tokens": 40,
         "cached_input_tokens": 20, "unpriced": 1, "possibly_billed_attempts": 0, "cost_micros": 123, "cost_usd": 0.000123},
    ]
    assert [t["model"] for t in await ledger.totals(since_window(3600), "model", key_id="key_b")] == ["claude"]
    assert await ledger.spend_micros("key", "key_a", since_window(60)) == 123
    assert await ledger.spend_micros("team", "team_x", since_window(60)) == 123


async def test_close_writes_everything_left(engine: AsyncEngine):
    ledger = Ledger(engine)
    sink = DatabaseUsageSink(ledger, RequestOwners(), interval=60)
    sink.start()
    for i in range(1200):
        sink.add(record(f"r{i}"))
    await sink.close()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM usage"))).scalar() == 1200


async def test_requests_are_newest_first_and_paginated(engine: AsyncEngine):
    ledger = Ledger(engine)
    sink = DatabaseUsageSink(ledger, RequestOwners())
    for i in range(5):
        sink.add(record(f"r{i}", status=200 if i % 2 else 429))
    await sink.flush()
    first = await ledger.requests(RequestFilter(limit=2))
    assert [r["request_id"] for r in first] == ["r4", "r3"]
    rest = await ledger.requests(RequestFilter(limit=10, before=first[-1]["id"]))
    assert [r["request_id"] for r in rest] == ["r2", "r1", "r0"]
    assert [r["request_id"] for r in await ledger.requests(RequestFilter(status=429))] == ["r4", "r2", "r0"]
    assert isinstance(first[0]["cost_micros"], int)
    assert first[0]["created_at"].tzinfo is not None


async def test_old_rows_are_outside_the_window(engine: AsyncEngine):
    ledger = Ledger(engine)
    sink = DatabaseUsageSink(ledger, RequestOwners())
    sink.add(record("old", when=time.time() - 7200))
    sink.add(record("new"))
    await sink.flush()
    assert [t["requests"] for t in await ledger.totals(since_window(3600), "route")] == [1]
    assert await ledger.spend_micros("key", "nobody", datetime(2000, 1, 1, tzinfo=UTC)) == 0


async def test_a_failed_write_keeps_its_rows(engine: AsyncEngine):
    ledger = Ledger(engine)
    sink = DatabaseUsageSink(ledger, RequestOwners())
    sink.add(record("kept"))
    async with engine.connect() as conn:
        await conn.execute(text("ALTER TABLE usage RENAME TO usage_away"))
        await conn.commit()
    try:
        await sink.flush()
    except Exception:
        pass
    assert sink.pending == 1
    async with engine.connect() as conn:
        await conn.execute(text("ALTER TABLE usage_away RENAME TO usage"))
        await conn.commit()
    await sink.flush()
    assert sink.pending == 0
    assert [r["request_id"] for r in await ledger.requests(RequestFilter())] == ["kept"]


async def test_text_is_clipped_to_fit_every_database(engine: AsyncEngine):
    ledger = Ledger(engine)
    sink = DatabaseUsageSink(ledger, RequestOwners())
    sink.add(record("long", model="m\x00" * 300))
    await sink.flush()
    [row] = await ledger.requests(RequestFilter())
    assert row["model"] == "m" * 200


async def test_a_row_the_database_refuses_does_not_block_the_others(engine: AsyncEngine):
    ledger = Ledger(engine)
    sink = DatabaseUsageSink(ledger, RequestOwners())
    sink.add(record("a"))
    sink._rows.append({**sink._rows[0], "request_id": "bad", "surface": None})  # NOT NULL: never writable
    sink.add(record("b"))
    await sink.flush()
    assert sink.pending == 0 and sink.dropped == 0 and sink.dead_letters == 1  # P4: kept, not dropped
    assert [r["request_id"] for r in await ledger.requests(RequestFilter())] == ["b", "a"]
    async with engine.connect() as conn:
        kept = (await conn.execute(sa.select(dead_letters.c.source, dead_letters.c.request_id))).all()
    assert [tuple(r) for r in kept] == [("ledger", "bad")]
