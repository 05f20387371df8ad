"""SQLite's ledger insert goes straight to the driver: every column reads back exactly as
the ORM insert of the same row does (times, booleans, NULLs, text)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from llm_router.observability.usage import UsageRecord
from llm_router.storage.ledger import Ledger, RequestFilter
from llm_router.storage.models import UsageRow
from llm_router.storage.usage_sink import usage_row
from tests.storage.db import migrated_engine


def _record(request_id: str) -> UsageRecord:
    return UsageRecord(request_id, time.time(), "openai", "route", "dep", "openai", "gpt-4.1-mini", 1, 0, 200,
                       None, 10, 5, 2, 0.000123, 0.25, 0.05, True, False, "stop")


async def test_driver_insert_reads_back_like_the_orm_insert():
    async with migrated_engine("sqlite") as engine:
        ledger = Ledger(engine)
        assert ledger._driver is not None
        fast, slow = usage_row(_record("fast"), "key_a", None), usage_row(_record("slow"), "key_a", None)
        slow["created_at"] = fast["created_at"]
        await ledger.insert_usage([fast])
        async with ledger.sessions() as session:
            await session.execute(sa.insert(UsageRow), [slow])
            await session.commit()
        rows = {r["request_id"]: r for r in await ledger.requests(RequestFilter())}
        a, b = rows["fast"], rows["slow"]
        assert {k: v for k, v in a.items() if k not in ("id", "request_id")} == \
            {k: v for k, v in b.items() if k not in ("id", "request_id")}
        assert a["created_at"] == fast["created_at"] and a["streamed"] is True and a["team_id"] is None
