"""Ships the usage journal to the database: one row per upstream attempt in
``usage_attempts``, upserted on ``(request_id, attempt)``, so shipping a record twice (a
crash between the commit and the checkpoint) changes nothing. An upsert never moves a row
back: a completion (phase 1) is not overwritten by its intent (phase 0).

The checkpoint advances only after the database commit. While the database is unreachable
the shipper retries with backoff (up to ``max_backoff``) and the journal grows, bounded by
its ``max_pending``; when the database is back the backlog drains at ``batch_size`` records
per round trip. A batch the database refuses for another reason (a constraint, bad data) is
retried row by row; a row refused alone goes to ``usage_dead_letters`` with the error,
never dropped (P4). The tables come from migration 0004."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.storage.dead_letters import dead_letter, refused_row
from llm_router.storage.journal import Journal, JournalRecord
from llm_router.storage.models import UsageAttemptRow

log = logging.getLogger("llm_router.journal")
attempts = cast(sa.Table, UsageAttemptRow.__table__)
_INTENT_FIELDS = ("replica", "key_id", "team_id", "surface", "route", "deployment", "provider", "model")
_COMPLETION_FIELDS = ("status", "http_status", "error_type", "possibly_billed", "input_tokens",
                      "output_tokens", "cached_tokens", "cost_micros")


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def fold(records: Iterable[JournalRecord]) -> list[dict[str, Any]]:
    """One row per (request_id, attempt) from intents and completions, in journal order."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for record in records:
        row = rows.setdefault((record.request_id, record.attempt), {
            **dict.fromkeys(_INTENT_FIELDS + _COMPLETION_FIELDS), "request_id": record.request_id[:64],
            "attempt": record.attempt, "phase": 0, "status": "pending", "possibly_billed": False,
            "started_at": None, "ended_at": None})
        body = record.body
        if record.kind == "intent":
            row.update({k: body.get(k) for k in _INTENT_FIELDS if k in body})
            row["started_at"] = _time(body.get("started_at"))
        else:
            row["phase"] = 1
            row.update({k: body[k] for k in _COMPLETION_FIELDS if k in body})
            row["ended_at"] = _time(body.get("ended_at"))
    return list(rows.values())


def _upsert(dialect: str, rows: list[dict[str, Any]]) -> sa.Executable:
    insert = postgresql.insert(attempts) if dialect == "postgresql" else sqlite.insert(attempts)
    statement = insert.values(rows)
    excluded = statement.excluded
    update: dict[str, Any] = {c: sa.func.coalesce(getattr(excluded, c), getattr(attempts.c, c))
              for c in (*_INTENT_FIELDS, "started_at")}
    update.update({c: sa.case((excluded.phase >= attempts.c.phase, getattr(excluded, c)),
                              else_=getattr(attempts.c, c)) for c in (*_COMPLETION_FIELDS, "ended_at")})
    update["phase"] = sa.func.greatest(excluded.phase, attempts.c.phase) if dialect == "postgresql" \
        else sa.func.max(excluded.phase, attempts.c.phase)
    return statement.on_conflict_do_update(index_elements=["request_id", "attempt"], set_=update)


class JournalShipper:
    """Copies the journal to ``usage_attempts``; see the module docstring."""

    def __init__(self, journal: Journal, engine: AsyncEngine, interval: float = 0.2, batch_size: int = 500,
                 max_backoff: float = 5.0) -> None:
        self.journal = journal
        self.engine = engine
        self.interval = interval
        self.batch_size = batch_size
        self.max_backoff = max_backoff
        self.shipped = 0
        self.dead = 0
        self.failing = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Start shipping."""
        self._task = asyncio.create_task(self._run(), name="llm-router-journal-shipper")

    async def ship_once(self) -> int:
        """Ship one batch; the number of records shipped (0: nothing to do)."""
        records = await asyncio.to_thread(self.journal.read_batch, self.batch_size)
        if not records:
            return 0
        rows = fold(records)
        await self._write(rows)
        await asyncio.to_thread(self.journal.advance, records[-1].seq, len(records))
        self.shipped += len(records)
        return len(records)

    async def drain(self, within: float = 10.0) -> None:
        """Ship until the journal is empty or ``within`` seconds pass (shutdown)."""
        try:
            async with asyncio.timeout(within):  # a database that hangs must not hold the exit
                while await self.ship_once():
                    pass
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("journal not fully shipped at shutdown (%s): %d record(s) stay on disk for "
                        "the next start", type(exc).__name__, self.journal.pending)

    async def close(self) -> None:
        """Stop the background loop (after ``drain``, usually)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = self.interval
        while not self._stopping.is_set():
            try:
                shipped = await self.ship_once()
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                if not self.failing:
                    log.error("cannot ship the usage journal (%s); %d record(s) wait on disk",
                              type(exc).__name__, self.journal.pending)
                self.failing, shipped = True, 0
                backoff = min(backoff * 2, self.max_backoff)
            else:
                if self.failing:
                    log.warning("usage journal shipping recovered")
                self.failing, backoff = False, self.interval
            if shipped >= self.batch_size:
                continue
            try:
                await asyncio.wait_for(self._stopping.wait(), backoff)
            except TimeoutError:
                pass

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(_upsert(self.engine.dialect.name, rows))
        except SQLAlchemyError as exc:
            if not refused_row(exc):
                raise  # unreachable, or a table missing: the caller retries the batch later
            await self._one_by_one(rows)

    async def _one_by_one(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(_upsert(self.engine.dialect.name, [row]))
            except SQLAlchemyError as exc:
                if not refused_row(exc):
                    raise
                await self._dead_letter(row, exc)

    async def _dead_letter(self, row: dict[str, Any], exc: Exception) -> None:
        await dead_letter(self.engine, "journal", row, exc)
        self.dead += 1
