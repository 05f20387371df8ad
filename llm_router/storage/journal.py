"""The usage journal (P1): every upstream attempt that may cost money is on local disk before
it is sent, so a ``kill -9`` loses no billable attempt.

- Before each upstream attempt the router awaits ``intent(...)``: the record is appended to
  a local SQLite file in WAL mode and committed (fsync with ``synchronous=FULL``) before the
  attempt starts. Commits are grouped: one writer thread takes everything queued since its
  last commit, so under load one fsync covers many records and an intent waits at most one
  commit (well under 10 ms on any SSD); idle, a record commits at once.
- When the request is over, ``add(usage_record)`` (an Observer usage sink) appends one
  completion per attempt of the request: its status, and for the attempt that answered the
  real usage and cost. Completions are not waited for.
- ``journal_shipper`` copies records to the database with an idempotent upsert on
  ``(request_id, attempt)`` and moves the checkpoint only after the commit; shipped pairs
  are then deleted from the file.
- On start, intents left without a completion by an earlier process are completed as
  ``unknown_possibly_billed``: the provider may have done (and billed) the work.

One journal file belongs to one process: it is locked (``flock``); a second process (a
second ``--workers`` worker) takes ``<path>.1``, ``<path>.2``... and replays whichever it
gets. The journal is bounded by ``max_pending`` unshipped records: past it new attempts are
refused (503 ``overloaded``), never dropped, and ``full`` says so (a metric)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from llm_router.errors import ConfigError, Overloaded
from llm_router.observability.state import AttemptRecord, current_state
from llm_router.observability.usage import UsageRecord
from llm_router.storage.records import usd_to_micros

log = logging.getLogger("llm_router.journal")
UNKNOWN = "unknown_possibly_billed"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL,
  attempt INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_pair ON records (request_id, attempt, kind);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT OR IGNORE INTO checkpoint (id, seq) VALUES (1, 0);
"""


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One journal line: ``kind`` is ``intent`` or ``completion``."""

    seq: int
    request_id: str
    attempt: int
    kind: str
    body: dict[str, Any]


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
    conn.executescript(_SCHEMA)
    return conn


def _lock(path: Path) -> tuple[Path, IO[bytes]]:
    """The first of ``path``, ``path.1``... that no other process holds, locked."""
    for index in range(64):
        candidate = path if index == 0 else path.with_name(f"{path.name}.{index}")
        handle = open(candidate.with_name(candidate.name + ".lock"), "a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return candidate, handle
    raise ConfigError(f"every journal file next to {path} is in use by another process")


class Journal:
    """The local write-ahead journal of one process; see the module docstring."""

    def __init__(self, path: str | Path, replica: str = "", synchronous: str = "full",
                 max_pending: int = 1_000_000,
                 owner_of: Callable[[str], tuple[str | None, str | None]] | None = None) -> None:
        self.path, self._lock_handle = _lock(Path(path))
        self.owner_of = owner_of
        self.replica = replica or os.uname().nodename
        self.synchronous = synchronous
        self.max_pending = max_pending
        self.pending = 0  # records written and not yet shipped (approximate)
        self.written = 0
        self.unknown = 0
        self._open: dict[str, list[AttemptRecord]] = {}
        self._queue: queue.SimpleQueue[tuple[tuple[str, int, str, str], asyncio.Future[None] | None] | None]
        self._queue = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._db = _connect(self.path, synchronous)

    @property
    def full(self) -> bool:
        """Whether the bound of unshipped records is reached (new attempts are refused)."""
        return self.pending >= self.max_pending

    async def start(self) -> int:
        """Complete what an earlier process left open; start the writer. The orphan count."""
        self._loop = asyncio.get_running_loop()
        orphans = await asyncio.to_thread(self._close_orphans)
        self.pending = await asyncio.to_thread(self._count_pending)
        self._thread = threading.Thread(target=self._write_forever, name="llm-router-journal", daemon=True)
        self._thread.start()
        log.info("usage journal %s: %d record(s) to ship, %d orphaned attempt(s) marked %s",
                 self.path, self.pending, orphans, UNKNOWN)
        return orphans

    async def intent(self, attempt: AttemptRecord) -> None:
        """Record an upstream attempt about to start; returns once it is on disk."""
        state = current_state()
        if state is None or self._loop is None:
            return
        if self.full:
            raise Overloaded("The usage journal is full (the database is unreachable); try again later.")
        attempts = self._open.setdefault(state.uid, [])
        attempts.append(attempt)
        key_id, team_id = self.owner_of(state.uid) if self.owner_of else (None, None)
        body = {"replica": self.replica, "key_id": key_id, "team_id": team_id,
                "surface": state.surface, "route": state.route,
                "deployment": attempt.deployment, "provider": attempt.provider, "model": attempt.model,
                "started_at": time.time()}
        done: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(((state.uid, len(attempts), "intent", json.dumps(body)), done))
        await done

    def add(self, record: UsageRecord) -> None:
        """The request is over: one completion per attempt it made (a usage sink; never blocks)."""
        attempts = self._open.pop(record.uid, None)
        if not attempts:
            return
        last = len(attempts)
        for number, attempt in enumerate(attempts, 1):
            self._queue.put(((record.uid, number, "completion",
                              json.dumps(_completion(record, attempt, number == last))), None))

    async def flush(self) -> None:
        """Wait until everything queued so far is on disk."""
        if self._loop is None or self._thread is None:
            return
        done: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((("", 0, "", ""), done))
        await done

    async def close(self) -> None:
        """Write what is queued, stop the writer, release the file."""
        if self._thread is not None:
            await self.flush()
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join, 10)
            self._thread = None
        self._db.close()
        self._lock_handle.close()

    # ----- the writer thread -----
    def _write_forever(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: Sequence[tuple[tuple[str, int, str, str], asyncio.Future[None] | None]]) -> None:
        rows = [row for row, _ in batch if row[2]]
        error: BaseException | None = None
        try:
            if rows:
                with self._db:
                    self._db.execute("BEGIN")
                    self._db.executemany("INSERT INTO records (request_id, attempt, kind, body) "
                                         "VALUES (?, ?, ?, ?)", rows)
                self.written += len(rows)
                self.pending += len(rows)
        except sqlite3.Error as exc:  # disk full, I/O error: the waiting attempts fail
            log.error("usage journal write failed: %s", exc)
            error = exc
        assert self._loop is not None
        for _, done in batch:
            if done is not None:
                self._loop.call_soon_threadsafe(_settle, done, error)

    # ----- start-up and the shipper's side (each with its own short-lived connection) -----
    def _close_orphans(self) -> int:
        orphans = self._db.execute(
            "SELECT request_id, attempt, body FROM records i WHERE kind = 'intent' AND NOT EXISTS "
            "(SELECT 1 FROM records c WHERE c.request_id = i.request_id AND c.attempt = i.attempt "
            "AND c.kind = 'completion')").fetchall()
        body = json.dumps({"status": UNKNOWN, "possibly_billed": True, "ended_at": time.time()})
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO records (request_id, attempt, kind, body) VALUES (?, ?, ?, ?)",
                                 [(rid, attempt, "completion", body) for rid, attempt, _ in orphans])
        self.unknown += len(orphans)
        return len(orphans)

    def _count_pending(self) -> int:
        (checkpoint,) = self._db.execute("SELECT seq FROM checkpoint").fetchone()
        (count,) = self._db.execute("SELECT count(*) FROM records WHERE seq > ?", (checkpoint,)).fetchone()
        return int(count)

    def read_batch(self, limit: int) -> list[JournalRecord]:
        """Up to ``limit`` records after the checkpoint, oldest first (blocking; run in a thread)."""
        with sqlite3.connect(self.path, timeout=30) as conn:
            (checkpoint,) = conn.execute("SELECT seq FROM checkpoint").fetchone()
            rows = conn.execute("SELECT seq, request_id, attempt, kind, body FROM records WHERE seq > ? "
                                "ORDER BY seq LIMIT ?", (checkpoint, limit)).fetchall()
        return [JournalRecord(seq, rid, attempt, kind, json.loads(body))
                for seq, rid, attempt, kind, body in rows]

    def advance(self, seq: int, shipped: int) -> None:
        """Move the checkpoint to ``seq`` (after the database commit) and drop shipped pairs."""
        with sqlite3.connect(self.path, timeout=30, isolation_level=None) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE checkpoint SET seq = ? WHERE seq < ?", (seq, seq))
            conn.execute("DELETE FROM records WHERE seq <= ? AND EXISTS (SELECT 1 FROM records c WHERE "
                         "c.request_id = records.request_id AND c.attempt = records.attempt AND "
                         "c.kind = 'completion' AND c.seq <= ?)", (seq, seq))
            conn.execute("COMMIT")
        self.pending = max(0, self.pending - shipped)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(Overloaded("The usage journal cannot be written; try again later."))


def _completion(record: UsageRecord, attempt: AttemptRecord, answered: bool) -> dict[str, Any]:
    """What one attempt ended with; usage and cost belong to the attempt that answered."""
    failed = attempt.error_type is not None
    if failed:
        status = UNKNOWN if attempt.possibly_billed else "failed"
    elif record.cancelled:
        status = "cancelled"
    else:
        status = "ok" if record.status < 400 else "failed"
    error_type = attempt.error_type or (record.error_type if answered else None)
    body: dict[str, Any] = {"status": status, "error_type": error_type,
                            "possibly_billed": bool(attempt.possibly_billed), "ended_at": time.time(),
                            "http_status": record.status if answered else None}
    if answered and not failed:
        body.update(input_tokens=record.input_tokens, output_tokens=record.output_tokens,
                    cached_tokens=record.cached_input_tokens,
                    cost_micros=usd_to_micros(record.cost_usd) if record.cost_usd is not None else None)
    return body
