"""The Observer's UsageSink for the database: rows are batched off the request path.

``add`` only appends to a buffer. A background task writes the buffer every
``interval`` seconds (0.5 s by default) or as soon as ``batch_size`` rows wait, and
``close`` writes what is left: a graceful stop loses nothing, a ``kill -9`` loses at most
the last interval. A failed write keeps its rows for the next try (the buffer is bounded
by ``max_buffer``; past it the oldest rows are dropped and counted in ``dropped``)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from llm_router.observability.usage import UsageRecord
from llm_router.storage.dead_letters import dead_letter, refused_row
from llm_router.storage.ledger import Ledger
from llm_router.storage.records import usd_to_micros

log = logging.getLogger("llm_router.storage")


class RequestOwners:
    """Which key and team made each in-flight request (filled by the key policy at admit,
    consumed when the request's usage record arrives). Bounded."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._owners: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()

    def set(self, request_id: str, key_id: str | None, team_id: str | None) -> None:
        """Remember the owner of ``request_id``."""
        self._owners[request_id] = (key_id, team_id)
        while len(self._owners) > self.max_entries:
            self._owners.popitem(last=False)

    def get(self, request_id: str) -> tuple[str | None, str | None]:
        """The owner of ``request_id``, kept (the usage journal reads it before each attempt)."""
        return self._owners.get(request_id, (None, None))

    def pop(self, request_id: str) -> tuple[str | None, str | None]:
        """The owner of ``request_id`` (forgotten afterwards); (None, None) if unknown."""
        return self._owners.pop(request_id, (None, None))


def _clip(value: str | None, size: int) -> str | None:
    """Text that fits its column and that every database accepts (no NUL)."""
    if value is None:
        return None
    return value.replace("\x00", "")[:size]


def usage_row(record: UsageRecord, key_id: str | None, team_id: str | None) -> dict[str, Any]:
    """The ledger row for one usage record."""
    return {
        "request_id": _clip(record.request_id, 64) or "-", "key_id": _clip(key_id, 40),
        "team_id": _clip(team_id, 40), "surface": _clip(record.surface, 40) or "-",
        "route": _clip(record.route, 200), "deployment": _clip(record.deployment, 200),
        "provider": _clip(record.provider, 64), "model": _clip(record.model, 200), "status": record.status,
        "error_type": _clip(record.error_type, 64), "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens, "cached_tokens": record.cached_input_tokens,
        "cost_micros": usd_to_micros(record.cost_usd) if record.cost_usd is not None else None,
        "latency_ms": round(record.latency * 1000),
        "ttft_ms": round(record.time_to_first_token * 1000)
        if record.time_to_first_token is not None else None,
        "streamed": record.streamed, "cancelled": record.cancelled,
        "possibly_billed_attempts": record.possibly_billed_attempts,
        "usage_estimated": bool(getattr(record, "usage_estimated", False)),
        "created_at": datetime.fromtimestamp(record.timestamp, UTC),
    }


def _settled(batch: list[dict[str, Any]], count: int, error: BaseException) -> list[dict[str, Any]]:
    if count == 0:
        raise error
    return batch[:count]


class DatabaseUsageSink:
    """Batches usage records into the ledger table."""

    def __init__(self, ledger: Ledger, owners: RequestOwners, interval: float = 0.5,
                 batch_size: int = 500, max_buffer: int = 100_000) -> None:
        self.ledger = ledger
        self.owners = owners
        self.interval = interval
        self.batch_size = batch_size
        self.max_buffer = max_buffer
        self.dropped = 0
        self.dead_letters = 0
        self._rows: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = False
        self._failing = False

    def add(self, record: UsageRecord) -> None:
        """Take one record (never blocks, never raises)."""
        key_id, team_id = self.owners.pop(record.uid)
        key_id = getattr(record, "key_id", None) or key_id
        team_id = getattr(record, "team_id", None) or team_id
        self._rows.append(usage_row(record, key_id, team_id))
        if len(self._rows) > self.max_buffer:
            excess = len(self._rows) - self.max_buffer
            del self._rows[:excess]
            self.dropped += excess
            log.error("usage buffer full: dropped %d ledger rows", excess)
        if len(self._rows) >= self.batch_size:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Rows not yet written."""
        return len(self._rows)

    def start(self) -> None:
        """Start the background writer (in the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="llm-router-usage-writer")

    async def flush(self) -> None:
        """Write every buffered row now; on failure the rows stay buffered and it raises."""
        async with self._lock:
            while self._rows:
                batch = self._rows[: self.batch_size]
                try:
                    await self.ledger.insert_usage(batch)
                except Exception as exc:
                    if not refused_row(exc):
                        raise  # unreachable, or a table missing: everything stays buffered
                    batch = await self._isolate(batch, exc)
                del self._rows[: len(batch)]

    async def _isolate(self, batch: list[dict[str, Any]], error: BaseException) -> list[dict[str, Any]]:
        """A batch was refused: write its rows one by one; a row refused alone goes to the
        dead-letter table (P4: never dropped). The leading rows settled (written or kept
        there); stops at the first row that cannot be settled (the database went away), which
        stays buffered with the rest. Raises ``error`` if not even the first row settled."""
        for index, row in enumerate(batch):
            try:
                await self.ledger.insert_usage([row])
            except Exception as exc:
                if not refused_row(exc):
                    return _settled(batch, index, error)
                try:
                    await dead_letter(self.ledger.sessions, "ledger", row, exc)
                except Exception:
                    return _settled(batch, index, error)
                self.dead_letters += 1
        return batch

    async def close(self) -> None:
        """Stop the writer and write what is left (the writer is never cancelled mid-write)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                if not self._failing:
                    log.exception("could not write %d ledger rows; retrying", len(self._rows))
                self._failing = True
            else:
                if self._failing:
                    log.warning("ledger writes recovered")
                self._failing = False
