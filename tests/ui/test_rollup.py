"""The console's aggregates on SQLite and the real PostgreSQL: answers from the hourly rollup
plus the ledger tail equal the totals computed from the rows themselves, whenever rows
arrive (late ``created_at`` too), and replicas folding at once never count a row twice."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.storage.console import ConsoleQueries
from llm_router.storage.engine import make_engine, upgrade
from llm_router.storage.ledger import Ledger, RequestFilter
from llm_router.storage.rollup import Rollup
from tests.storage.db import BACKENDS, database_url

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    async with database_url(request.param) as (url, schema):
        engine = make_engine(url, schema=schema)
        await upgrade(engine)
        try:
            yield engine
        finally:
            await engine.dispose()


def rows(count: int, seed: int, spread_hours: int = 24 * 35) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        status = rng.choice([200, 200, 200, 429, 500])
        out.append({
            "request_id": f"r{seed}-{i}", "key_id": rng.choice(["key_a", "key_b", None]),
            "team_id": rng.choice(["team_x", None]), "surface": "openai", "route": "smart",
            "deployment": "openai-main", "provider": rng.choice(["openai", "anthropic"]),
            "model": rng.choice(["gpt-4.1-mini", "claude", None]), "status": status,
            "error_type": None if status < 400 else "server_error", "input_tokens": rng.randint(0, 500),
            "output_tokens": rng.randint(0, 200), "cached_tokens": 0,
            "cost_micros": None if rng.random() < 0.1 else rng.randint(0, 5000), "latency_ms": 10,
            "ttft_ms": 5, "streamed": False, "cancelled": False, "possibly_billed_attempts": 0,
            "usage_estimated": False,
            "created_at": NOW - timedelta(seconds=rng.randint(0, spread_hours * 3600)),
        })
    return out


def expected(all_rows: list[dict], since: datetime, by: str | None = None) -> dict:
    out: dict = defaultdict(lambda: [0, 0, 0])
    for r in all_rows:
        if r["created_at"] < since:
            continue
        group = r[by] if by else None
        out[group][0] += 1
        out[group][1] += r["status"] >= 400
        out[group][2] += r["cost_micros"] or 0
    return dict(out)


async def test_rollup_and_tail_equal_the_rows(engine: AsyncEngine):
    ledger, queries = Ledger(engine), ConsoleQueries(engine, Rollup(engine, settle=0, clock=lambda: NOW))
    first = rows(400, seed=1)
    await ledger.insert_usage(first)
    for window, bucket in ((30 * 86_400, 6 * 3600), (86_400, 3600), (3600, 60)):
        span, series = await queries.series(window, bucket, now=NOW)
        want = expected(first, span.since).get(None, [0, 0, 0])
        assert [sum(p["requests"] for p in series), sum(p["errors"] for p in series),
                sum(p["cost_micros"] for p in series)] == want
        assert all(p["t"] % bucket == 0 for p in series)
    late = rows(150, seed=2)  # after a fold: the tail, old created_at included
    await ledger.insert_usage(late)
    everything = first + late
    span, top = await queries.top(7 * 86_400, "key", 10, 3600, now=NOW)
    want = expected(everything, span.since, "key_id")
    assert {t["value"]: [t["requests"], t["errors"], t["cost_micros"]] for t in top} == want
    assert [t["cost_micros"] for t in top] == sorted((t["cost_micros"] for t in top), reverse=True)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    spent = await queries.spend("team", [start])
    assert spent[start] == {"team_x": expected(everything, start, "team_id")["team_x"][2]}


async def test_replicas_folding_at_once_count_each_row_once(engine: AsyncEngine):
    await Ledger(engine).insert_usage(data := rows(300, seed=3))
    rollups = [Rollup(engine, settle=0) for _ in range(3)]
    await asyncio.gather(*(r.refresh() for r in rollups))
    await asyncio.gather(*(r.refresh() for r in rollups))
    queries = ConsoleQueries(engine, rollups[0])
    span, top = await queries.top(400 * 86_400, "provider", 10, 3600, now=NOW)
    assert {t["value"]: t["requests"] for t in top} == {k: v[0] for k, v in expected(data, span.since, "provider").items()}
    assert await rollups[0].folded() == max(await _ids(engine))


async def test_unsettled_ids_wait_and_answers_stay_exact(engine: AsyncEngine):
    clock = [NOW]
    rollup = Rollup(engine, settle=10, clock=lambda: clock[0])
    await Ledger(engine).insert_usage(data := rows(100, seed=4))
    queries = ConsoleQueries(engine, rollup, fresh=0)
    span, series = await queries.series(7 * 86_400, 3600, now=NOW)
    assert await rollup.folded() == 0  # seen, not folded: a lower id might still commit
    assert sum(p["requests"] for p in series) == expected(data, span.since)[None][0]  # from the tail
    clock[0] = NOW + timedelta(seconds=11)
    span, series = await queries.series(7 * 86_400, 3600, now=NOW)
    assert await rollup.folded() == max(await _ids(engine))
    assert sum(p["requests"] for p in series) == expected(data, span.since)[None][0]


async def _ids(engine: AsyncEngine) -> list[int]:
    return [r["id"] for r in await Ledger(engine).requests(RequestFilter(limit=1000))]
