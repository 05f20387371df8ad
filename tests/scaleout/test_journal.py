"""The usage journal and its shipper, in process, on SQLite and the real PostgreSQL:
intents are on disk before the attempt, completions fold into one row per attempt,
shipping twice changes nothing, orphans become unknown_possibly_billed at start, a row the
database refuses goes to the dead-letter table, an unreachable database keeps records on disk."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from llm_router.errors import Overloaded
from llm_router.observability.state import AttemptRecord, begin_request
from llm_router.observability.usage import UsageRecord
from llm_router.storage.dead_letters import dead_letters
from llm_router.storage.engine import make_engine, upgrade
from llm_router.storage.journal import UNKNOWN, Journal
from llm_router.storage.journal_shipper import JournalShipper, attempts
from tests.storage.db import BACKENDS, database_url


def _usage(request_id: str, status: int = 200, cost: float | None = 0.001) -> UsageRecord:
    return UsageRecord(request_id=request_id, uid=request_id, timestamp=0.0, surface="openai", route="smart", deployment="d",
                       provider="openai", model="m", attempts=1, possibly_billed_attempts=0, status=status,
                       error_type=None, input_tokens=11, output_tokens=7, cached_input_tokens=0, cost_usd=cost,
                       latency=0.1, time_to_first_token=None, streamed=False, cancelled=False, finish_reason="stop")


async def _attempt(journal: Journal, request_id: str, error: str | None = None, billed: bool = False) -> None:
    begin_request(request_id, "openai", request_id)  # the request's state in this context, as the edge does
    record = AttemptRecord("d", "openai", "m", 0.0)
    await journal.intent(record)
    record.end(error, billed)


async def _rows(engine) -> list[dict]:
    async with engine.connect() as conn:
        result = await conn.execute(sa.select(attempts).order_by(attempts.c.request_id, attempts.c.attempt))
        return [dict(r) for r in result.mappings()]


async def _ship_all(shipper: JournalShipper) -> None:
    while await shipper.ship_once():
        pass


@pytest.mark.parametrize("backend", BACKENDS)
async def test_attempts_are_shipped_once_each_and_orphans_become_unknown(backend, tmp_path):
    async with database_url(backend) as (url, schema):
        engine = make_engine(url, schema=schema)
        path = tmp_path / "journal.db"
        try:
            await upgrade(engine)  # migration 0004: the attempts and dead-letter tables
            journal = Journal(path, replica="r1")
            shipper = JournalShipper(journal, engine)
            await journal.start()
            await shipper.start()
            await shipper.close()  # ship by hand below
            await _attempt(journal, "req-a", error="upstream_server_error")  # failed, retried
            await _attempt(journal, "req-a")
            journal.add(_usage("req-a"))
            await _attempt(journal, "req-b")  # in flight when the process dies
            with sqlite3.connect(journal.path) as conn:  # the intents are on disk already
                assert conn.execute("SELECT count(*) FROM records WHERE kind = 'intent'").fetchone() == (3,)
            await journal.flush()
            await _ship_all(shipper)
            rows = await _rows(engine)
            assert [(r["request_id"], r["attempt"], r["status"]) for r in rows] == [
                ("req-a", 1, "failed"), ("req-a", 2, "ok"), ("req-b", 1, "pending")]
            assert rows[1]["cost_micros"] == 1000 and rows[1]["input_tokens"] == 11
            # a crash: no close, the lock goes with the process (closing the handle here)
            journal._lock_handle.close()
            journal._queue.put(None)

            again = Journal(path, replica="r1")
            assert await again.start() == 1  # req-b's intent has no completion
            shipper = JournalShipper(again, engine)
            await _ship_all(shipper)
            with sqlite3.connect(again.path) as conn:  # replay from the start: idempotent
                conn.execute("UPDATE checkpoint SET seq = 0")
                conn.execute("INSERT INTO records (request_id, attempt, kind, body) VALUES (?, ?, ?, ?)",
                             ("req-b", 1, "intent", json.dumps({"replica": "r1"})))
            await _ship_all(shipper)
            rows = await _rows(engine)
            assert [(r["request_id"], r["attempt"], r["status"]) for r in rows] == [
                ("req-a", 1, "failed"), ("req-a", 2, "ok"), ("req-b", 1, UNKNOWN)]
            assert rows[2]["possibly_billed"] is True
            await again.close()
        finally:
            await engine.dispose()


async def test_a_refused_row_goes_to_the_dead_letter_table(tmp_path):
    async with database_url("postgresql") as (url, schema):
        engine = make_engine(url, schema=schema)
        try:
            await upgrade(engine)
            journal = Journal(tmp_path / "journal.db")
            await journal.start()
            shipper = JournalShipper(journal, engine)
            await shipper.start()
            await shipper.close()
            await _attempt(journal, "good")
            journal.add(_usage("good"))
            await _attempt(journal, "bad")
            await journal.flush()
            with sqlite3.connect(journal.path) as conn:  # a value the database refuses (too long)
                conn.execute("INSERT INTO records (request_id, attempt, kind, body) VALUES (?, ?, ?, ?)",
                             ("bad", 1, "completion", json.dumps({"status": "x" * 100})))
            await _ship_all(shipper)
            assert [r["request_id"] for r in await _rows(engine)] == ["good"]
            async with engine.connect() as conn:
                dead = (await conn.execute(sa.select(dead_letters))).mappings().all()
            assert [(d["request_id"], d["attempt"]) for d in dead] == [("bad", 1)] and shipper.dead == 1
            assert journal.pending == 0  # nothing waits: shipped or dead-lettered, never dropped
            await journal.close()
        finally:
            await engine.dispose()


async def test_unreachable_database_keeps_records_and_a_full_journal_refuses(tmp_path):
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")  # nothing listens there
    journal = Journal(tmp_path / "journal.db", max_pending=3)
    await journal.start()
    shipper = JournalShipper(journal, engine)
    try:
        for n in range(3):
            await _attempt(journal, f"r{n}")
        with pytest.raises((SQLAlchemyError, OSError)):
            await shipper.ship_once()
        assert journal.pending == 3 and journal.full
        with pytest.raises(Overloaded):
            await _attempt(journal, "r9")
    finally:
        await journal.close()
        await engine.dispose()


async def test_group_commit_keeps_intents_fast(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    await journal.start()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def one(n: int) -> None:
            await _attempt(journal, f"g{n}")

        await asyncio.gather(*(one(n) for n in range(500)))
        elapsed = loop.time() - started
        assert journal.written == 500
        assert elapsed < 5.0, elapsed  # grouped: far fewer fsyncs than records
    finally:
        await journal.close()
