"""Hourly rollups of the usage ledger, folded in by row id.

``usage_rollup`` holds, per UTC hour and dimension ('' = every request, ``key``, ``team``,
``model``, ``provider``), and per UTC day for the four named dimensions (``key@d``, ...: a
30-day top list or a month's budget bar reads 30 rows per key, not 720), the totals of every
ledger row with ``id <= rolled_upto``. A read adds the ledger rows above ``rolled_upto`` (the
tail: seconds of traffic), so answers are exact whatever a row's ``created_at`` and however
late it was written.

Ids are folded only once they have settled: ``refresh`` first notes the highest id
(``candidate``) and folds up to it on a later call at least ``settle`` seconds on. On
SQLite writers take turns, so a visible id has no uncommitted id below it (settle 0); on
PostgreSQL ids come from a sequence and concurrent batches may commit out of order, so
``settle`` (10 s) outlasts any ledger insert. Replicas folding at once are safe: the state
row is updated compare-and-set in the folding transaction; the loser rolls back."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from llm_router.storage.models import UsageRollupRow, UsageRollupState, UsageRow

log = logging.getLogger("llm_router.admin")
HOUR = 3600
DAY = 86_400
DIMS: dict[str, Any] = {"": None, "key": UsageRow.key_id, "team": UsageRow.team_id,
                        "model": UsageRow.model, "provider": UsageRow.provider}
ROLLUP = cast(sa.Table, UsageRollupRow.__table__)
STATE = cast(sa.Table, UsageRollupState.__table__)
TOTALS = ("requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cost_micros", "unpriced")
#: Ledger ids folded per refresh at most (a first refresh over millions of rows takes turns).
MAX_IDS_PER_STEP = 250_000


def daily(dim: str) -> str:
    """The name of ``dim``'s day-wide rows."""
    return dim + "@d"


def bucket_of(column: Any, seconds: int, dialect: str) -> Any:
    """SQL for the start (epoch seconds, UTC) of the ``seconds``-wide bucket of ``column``."""
    if dialect == "sqlite":
        epoch: Any = sa.cast(sa.func.strftime("%s", column), sa.BigInteger)
        return (epoch // seconds) * seconds
    epoch = sa.extract("epoch", column)
    return sa.cast(sa.func.floor(epoch / seconds) * seconds, sa.BigInteger)


def total_columns() -> list[Any]:
    """Aggregates of ledger rows, labelled as the rollup's totals."""
    return [
        sa.func.count().label("requests"),
        sa.func.sum(sa.case((UsageRow.status >= 400, 1), else_=0)).label("errors"),
        sa.func.sum(UsageRow.input_tokens).label("input_tokens"),
        sa.func.sum(UsageRow.output_tokens).label("output_tokens"),
        sa.func.sum(UsageRow.cached_tokens).label("cached_tokens"),
        sa.func.coalesce(sa.func.sum(UsageRow.cost_micros), 0).label("cost_micros"),
        sa.func.sum(sa.case((UsageRow.cost_micros.is_(None), 1), else_=0)).label("unpriced"),
    ]


class _Raced(Exception):
    """Another replica folded the same ids first."""


class Rollup:
    """Keeps ``usage_rollup`` up to date; ``refresh`` returns the id up to which it is."""

    def __init__(self, engine: AsyncEngine, settle: float | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.settle = settle if settle is not None else (0.0 if self.dialect == "sqlite" else 10.0)
        self.clock = clock

    async def refresh(self) -> int:
        """Fold settled ledger rows in (at most ``MAX_IDS_PER_STEP`` ids); the folded bound."""
        try:
            async with self.engine.begin() as conn:
                return await self._step(conn)
        except (_Raced, DBAPIError) as exc:  # another replica is folding: read its bound
            log.debug("rollup step skipped: %s", type(exc).__name__)
            return await self.folded()

    async def folded(self) -> int:
        """The id up to which the rollup holds the ledger."""
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(UsageRollupState.rolled_upto).where(UsageRollupState.id == 1))
        return int(value or 0)

    async def _step(self, conn: AsyncConnection) -> int:
        read = sa.select(UsageRollupState).where(UsageRollupState.id == 1)
        state = (await conn.execute(read)).one_or_none()
        if state is None:  # a schema made without the migration's first row
            await conn.execute(sa.insert(STATE).values(id=1, rolled_upto=0, candidate=0))
            state = (await conn.execute(read)).one()
        now = self.clock()
        upto, candidate, seen_at = int(state.rolled_upto), int(state.candidate), state.candidate_at
        if seen_at is not None and seen_at.tzinfo is None:
            seen_at = seen_at.replace(tzinfo=UTC)
        if candidate > upto and seen_at is not None and (now - seen_at).total_seconds() >= self.settle:
            target = min(candidate, upto + MAX_IDS_PER_STEP)
            await self._fold(conn, upto, target)
            upto = target
        if candidate <= upto:
            newest = int(await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(UsageRow.id), 0))) or 0)
            if newest == candidate and upto == state.rolled_upto:
                return upto  # nothing new: no write, no commit to wait for
            candidate, seen_at = newest, now
            if self.settle == 0 and candidate > upto:  # SQLite: visible ids are committed ids
                target = min(candidate, upto + MAX_IDS_PER_STEP)
                await self._fold(conn, upto, target)
                upto = target
        table = STATE
        result = await conn.execute(
            sa.update(table).where(table.c.id == 1, table.c.rolled_upto == state.rolled_upto)
            .values(rolled_upto=upto, candidate=candidate, candidate_at=seen_at))
        if result.rowcount != 1:
            raise _Raced
        return upto

    async def _fold(self, conn: AsyncConnection, after: int, upto: int) -> None:
        """Add the totals of ledger ids in (after, upto] to the hourly rollup."""
        bucket = bucket_of(UsageRow.created_at, HOUR, self.dialect).label("bucket")
        dims = [c for c in DIMS.values() if c is not None]
        query = (sa.select(bucket, *dims, *total_columns())
                 .where(UsageRow.id > after, UsageRow.id <= upto).group_by(bucket, *dims))
        folded: dict[tuple[str, int, str], list[int]] = defaultdict(lambda: [0] * len(TOTALS))
        for row in (await conn.execute(query)).mappings():
            numbers = [int(row[name] or 0) for name in TOTALS]
            for dim, column in DIMS.items():
                value = "" if column is None else (row[column.key] or "")
                hour = int(row["bucket"])
                targets = [(dim, hour)] if not dim else [(dim, hour), (daily(dim), hour - hour % DAY)]
                for name, bucket in targets:
                    sums = folded[(name, bucket, value)]
                    for i, number in enumerate(numbers):
                        sums[i] += number
        if folded:
            rows = [{"dim": d, "bucket": b, "value": v, **dict(zip(TOTALS, sums, strict=True))}
                    for (d, b, v), sums in folded.items()]
            await conn.execute(self._upsert(), rows)

    def _upsert(self) -> Any:
        table = ROLLUP
        insert = sqlite.insert(table) if self.dialect == "sqlite" else postgresql.insert(table)
        return insert.on_conflict_do_update(
            index_elements=["dim", "bucket", "value"],
            set_={name: table.c[name] + insert.excluded[name] for name in TOTALS})
