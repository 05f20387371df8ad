"""The console's read queries: usage time series, top keys/teams/models, spend per budget
period, recent latencies per deployment and one ledger row.

Hour-wide (or wider) buckets read the hourly rollup plus the ledger tail above its bound
(``storage/rollup.py``), so a 30-day chart over millions of rows reads a few thousand rollup
rows; narrower buckets (the last hour by minute) read the ledger through its ``created_at``
index. Windows served from the rollup start at the hour boundary: ``since`` in each answer
says where the totals start."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.storage.ledger import REQUEST_FIELDS
from llm_router.storage.models import UsageRow
from llm_router.storage.rollup import DAY, DIMS, HOUR, ROLLUP, TOTALS, Rollup, bucket_of, daily, total_columns

TopBy = Literal["key", "team", "model", "provider"]
#: Ledger rows read at most for the recent latency of the deployments.
RECENT_ROWS = 20_000


def default_bucket(window: int) -> int:
    """A bucket width giving a readable chart (at most ~170 points) for ``window`` seconds."""
    if window <= 2 * HOUR:
        return 60
    if window <= 14 * 86_400:
        return HOUR
    return 6 * HOUR


@dataclass(frozen=True, slots=True)
class Span:
    """Where a window's totals start (epoch seconds) and whether the rollup serves it."""

    start: int
    rolled: bool

    @staticmethod
    def of(window: int, bucket: int, now: datetime) -> Span:
        rolled = bucket % HOUR == 0
        start = int(now.timestamp()) - window
        return Span(start - start % bucket, rolled)

    @property
    def since(self) -> datetime:
        return datetime.fromtimestamp(self.start, UTC)


def _zero() -> dict[str, int]:
    return dict.fromkeys(TOTALS, 0)


def _add(into: dict[str, int], row: Any) -> None:
    for name in TOTALS:
        into[name] += int(row[name] or 0)


def _rollup_totals() -> list[Any]:
    return [sa.func.sum(ROLLUP.c[name]).label(name) for name in TOTALS]


class ConsoleQueries:
    """Aggregates for the console pages, on SQLite and PostgreSQL alike."""

    def __init__(self, engine: AsyncEngine, rollup: Rollup | None = None, fresh: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.rollup = rollup or Rollup(engine)
        self.fresh = fresh
        self.clock = clock
        self._bound: tuple[float, int] | None = None  # (when, folded id) of the last refresh

    async def folded(self) -> int:
        """The rollup's bound, refreshed at most every ``fresh`` seconds: any bound gives exact
        answers (the tail above it is read from the ledger), a recent one a short tail."""
        now = self.clock()
        if self._bound is None or now - self._bound[0] >= self.fresh:
            self._bound = (now, await self.rollup.refresh())
        return self._bound[1]

    async def series(self, window: int, bucket: int,
                     now: datetime | None = None) -> tuple[Span, list[dict[str, int]]]:
        """Totals per bucket over the last ``window`` seconds, every bucket present (zeros)."""
        now = now or datetime.now(UTC)
        span = Span.of(window, bucket, now)
        end = int(now.timestamp()) + 1
        buckets: dict[int, dict[str, int]] = {t: _zero() for t in range(span.start, end, bucket)}
        raw_bucket = bucket_of(UsageRow.created_at, bucket, self.dialect).label("t")
        async with self.engine.connect() as conn:
            if span.rolled:
                upto = await self.folded()
                table = ROLLUP
                t = ((table.c.bucket // bucket) * bucket).label("t")
                rolled = sa.select(t, *_rollup_totals()).where(table.c.dim == "",
                                                               table.c.bucket >= span.start)
                rows = list((await conn.execute(rolled.group_by(t))).mappings())
                tail = sa.select(raw_bucket, *total_columns()).where(
                    UsageRow.id > upto, UsageRow.created_at >= span.since).group_by(raw_bucket)
                rows += list((await conn.execute(tail)).mappings())
            else:
                query = sa.select(raw_bucket, *total_columns()).where(
                    UsageRow.created_at >= span.since).group_by(raw_bucket)
                rows = list((await conn.execute(query)).mappings())
        for row in rows:
            _add(buckets.setdefault(int(row["t"]), _zero()), row)
        return span, [{"t": t, **totals} for t, totals in sorted(buckets.items())]

    async def top(self, window: int, by: TopBy, limit: int, bucket: int,
                  now: datetime | None = None) -> tuple[Span, list[dict[str, Any]]]:
        """The ``limit`` biggest spenders (then the busiest) among keys, teams, models or providers."""
        align = DAY if window >= 2 * DAY and bucket % HOUR == 0 else bucket  # day rows: a few per group
        span = Span.of(window, align, now or datetime.now(UTC))
        groups = await self._grouped(by, span)
        ranked = sorted(groups.items(), key=lambda kv: (-kv[1]["cost_micros"], -kv[1]["requests"], kv[0]))
        return span, [{"value": value or None, **totals} for value, totals in ranked[:limit]]

    async def spend(self, scope: Literal["key", "team"],
                    starts: Iterable[datetime]) -> dict[datetime, dict[str, int]]:
        """Per period start: cost in micro-dollars per key (or team) id since then (exact:
        budget periods start on UTC hours)."""
        out: dict[datetime, dict[str, int]] = {}
        for start in sorted(set(starts)):
            groups = await self._grouped(scope, Span(int(start.timestamp()), True))
            out[start] = {value: totals["cost_micros"] for value, totals in groups.items() if value}
        return out

    async def _grouped(self, by: str, span: Span) -> dict[str, dict[str, int]]:
        column = DIMS[by]
        value = sa.func.coalesce(column, "").label("value")
        groups: dict[str, dict[str, int]] = {}
        async with self.engine.connect() as conn:
            if span.rolled:
                upto = await self.folded()
                table = ROLLUP
                dim = daily(by) if span.start % DAY == 0 else by
                rolled = sa.select(table.c.value.label("value"), *_rollup_totals()).where(
                    table.c.dim == dim, table.c.bucket >= span.start).group_by(table.c.value)
                rows = list((await conn.execute(rolled)).mappings())
                tail = sa.select(value, *total_columns()).where(
                    UsageRow.id > upto, UsageRow.created_at >= span.since).group_by(value)
                rows += list((await conn.execute(tail)).mappings())
            else:
                query = (sa.select(value, *total_columns())
                         .where(UsageRow.created_at >= span.since).group_by(value))
                rows = list((await conn.execute(query)).mappings())
        for row in rows:
            _add(groups.setdefault(str(row["value"]), _zero()), row)
        return groups

    async def recent(self, window: int, now: datetime | None = None) -> list[dict[str, Any]]:
        """The newest ledger rows of the last ``window`` seconds (at most ``RECENT_ROWS``)."""
        since = datetime.fromtimestamp((now or datetime.now(UTC)).timestamp() - window, UTC)
        query = (sa.select(UsageRow.deployment, UsageRow.status, UsageRow.ttft_ms, UsageRow.latency_ms)
                 .where(UsageRow.created_at >= since).order_by(UsageRow.created_at.desc()).limit(RECENT_ROWS))
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings()]

    async def request_row(self, row_id: int) -> dict[str, Any] | None:
        """One ledger row by id, as ``/admin/requests`` shows rows."""
        query = sa.select(*(getattr(UsageRow, name) for name in REQUEST_FIELDS)).where(UsageRow.id == row_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().one_or_none()
        return dict(row) if row is not None else None
