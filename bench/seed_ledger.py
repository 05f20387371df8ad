"""Seed a ledger with N rows (default 1,000,000 over 30 days) and time the console's queries.

    python -m bench.seed_ledger                                  # SQLite, a temp file
    python -m bench.seed_ledger --database-url postgresql://postgres@127.0.0.1:5432/test
    python -m bench.seed_ledger --rows 200000 --json out.json

On PostgreSQL the rows go into a fresh schema, dropped afterwards (``--keep`` keeps it).
Times: the rollup's catch-up once after seeding (``llm_router/storage/rollup.py``; a running
gateway folds as it goes), then per Overview window the page's four queries (series, top
keys, teams, models), the Keys and Teams spend bars, the Requests page's first page (no
filter, one key, errors only), the Models page's recent rows: the median of ``--repeat`` runs."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from llm_router.policies.budget import period_bounds
from llm_router.storage.console import ConsoleQueries, default_bucket
from llm_router.storage.engine import make_engine, upgrade
from llm_router.storage.ledger import Ledger, RequestFilter
from llm_router.storage.models import UsageRow
from llm_router.storage.rollup import Rollup

WINDOWS = {"hour": 3600, "day": 86_400, "week": 7 * 86_400, "30d": 30 * 86_400}
MODELS = [("openai", "gpt-4.1-mini"), ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-5"),
          ("cohere", "command-r7b-12-2024"), ("gemini", "gemini-2.5-flash")]
BATCH = 20_000


def make_rows(count: int, keys: int, teams: int, days: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    key_team = {f"key_{k:04d}": f"team_{k % teams:03d}" if k % 5 else None for k in range(keys)}
    key_ids = list(key_team)
    rows = []
    for i in range(count):
        key = key_ids[min(int(rng.paretovariate(1.2)) - 1, keys - 1)]  # a few keys do most traffic
        provider, model = MODELS[rng.randrange(len(MODELS))]
        status = 200 if rng.random() > 0.03 else rng.choice([429, 500, 502])
        tokens_in, tokens_out = rng.randint(20, 4000), rng.randint(1, 800)
        rows.append({
            "request_id": f"bench-{i}", "key_id": key, "team_id": key_team[key], "surface": "openai",
            "route": "smart", "deployment": f"{provider}-main", "provider": provider, "model": model,
            "status": status, "error_type": None if status == 200 else "server_error",
            "input_tokens": tokens_in, "output_tokens": tokens_out if status == 200 else 0,
            "cached_tokens": 0,
            "cost_micros": tokens_in + 4 * tokens_out if status == 200 else 0,
            "latency_ms": rng.randint(200, 9000), "ttft_ms": rng.randint(80, 1500),
            "streamed": rng.random() < 0.6,
            "cancelled": False, "possibly_billed_attempts": 0, "usage_estimated": False,
            "created_at": now - timedelta(seconds=rng.random() * days * 86_400),
        })
    rows.sort(key=lambda r: r["created_at"])  # ids follow time, as in a live ledger
    return rows


async def timed(repeat: int, work: Callable[[], Awaitable[Any]]) -> float:
    """Median milliseconds of ``repeat`` runs (after one warm-up)."""
    await work()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        runs.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(runs), 1)


async def measure(queries: ConsoleQueries, ledger: Ledger, repeat: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, window in WINDOWS.items():
        bucket = default_bucket(window)

        async def overview(window: int = window, bucket: int = bucket) -> None:
            await queries.series(window, bucket)
            for by in ("key", "team", "model"):
                await queries.top(window, by, 5, bucket)  # type: ignore[arg-type]

        out[f"overview {name} (4 queries)"] = await timed(repeat, overview)
    starts = [period_bounds(p, datetime.now(UTC))[0] for p in ("day", "week", "month", "total")]
    out["keys page spend (4 periods)"] = await timed(repeat, lambda: queries.spend("key", starts))
    out["teams page spend (4 periods)"] = await timed(repeat, lambda: queries.spend("team", starts))
    out["requests page 1 (no filter)"] = await timed(repeat, lambda: ledger.requests(RequestFilter(limit=50)))
    out["requests page 1 (one key)"] = await timed(
        repeat, lambda: ledger.requests(RequestFilter(key_id="key_0150", limit=50)))
    out["requests page 1 (errors, one model)"] = await timed(
        repeat, lambda: ledger.requests(RequestFilter(model="gpt-4.1", outcome="error", limit=50)))
    out["models page recent rows (15 min)"] = await timed(repeat, lambda: queries.recent(900))
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url, schema = args.database_url, None
    folder = None
    if url is None:
        folder = tempfile.mkdtemp(prefix="llm-router-bench-")
        url = f"sqlite:///{Path(folder) / 'ledger.db'}"
    elif url.startswith("postgres"):
        schema = f"lr_bench_{secrets.token_hex(4)}"
        admin = make_engine(url)
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
    engine = make_engine(url, schema=schema)
    result: dict[str, Any] = {"database": engine.dialect.name, "rows": args.rows}
    try:
        await upgrade(engine)
        ledger = Ledger(engine)
        rows = make_rows(args.rows, args.keys, args.teams, args.days)
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):  # core inserts: the ledger writer's batches, faster
            async with engine.begin() as conn:
                await conn.execute(sa.insert(UsageRow.__table__), rows[i:i + BATCH])
        result["seed_s"] = round(time.perf_counter() - started, 1)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(sa.text("ANALYZE"))
        started = time.perf_counter()
        catch_up = Rollup(engine, settle=0)  # one writer here: every id is committed
        async with engine.connect() as conn:
            top = int(await conn.scalar(sa.select(sa.func.max(UsageRow.id))) or 0)
        while await catch_up.refresh() < top:
            pass
        result["rollup_catch_up_s"] = round(time.perf_counter() - started, 1)
        result["ms"] = await measure(ConsoleQueries(engine, fresh=0), ledger, args.repeat)  # refresh each query
    finally:
        await engine.dispose()
        if schema is not None and not args.keep:
            admin = make_engine(url)
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await admin.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: a temp SQLite file")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=500)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"{result['database']}: {result['rows']:,} rows seeded in {result['seed_s']} s; "
          f"rollup catch-up {result['rollup_catch_up_s']} s")
    for name, ms in result["ms"].items():
        print(f"  {name:40s} {ms:8.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
