"""The database unavailable (its tables moved away): fail closed with a clear 503, never a
500; keys already in the auth cache keep working (within its TTL); back to normal after."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
from sqlalchemy import text

from llm_router.admin_plane import AdminPlane
from tests.admin.harness import admin


@asynccontextmanager
async def tables_away(plane: AdminPlane, *tables: str):
    async with plane.engine.connect() as conn:
        for table in tables:
            await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
        await conn.commit()
    try:
        yield
    finally:
        async with plane.engine.connect() as conn:
            for table in tables:
                await conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
            await conn.commit()


async def call(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/v1/echo", json={"model": "smart"}, headers=admin(key))


async def test_outage_is_503_and_cached_keys_keep_working(plane):
    engine_plane, client = plane
    cached = (await client.post("/admin/keys", json={"name": "c"}, headers=admin())).json()
    cold = (await client.post("/admin/keys", json={"name": "d"}, headers=admin())).json()
    budgeted = (await client.post("/admin/keys", json={"name": "b", "budget": {"max_usd": 1}},
                                  headers=admin())).json()
    assert (await call(client, cached["key"])).status_code == 200
    assert (await call(client, budgeted["key"])).status_code == 200
    async with tables_away(engine_plane, "api_keys", "teams"):
        assert (await call(client, cached["key"])).status_code == 200
        refused = await call(client, cold["key"])
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert (await client.get("/admin/keys", headers=admin())).status_code == 503
    assert (await call(client, cold["key"])).status_code == 200


async def test_budget_without_its_ledger_fails_closed(plane):
    engine_plane, client = plane
    key = (await client.post("/admin/keys", json={"name": "b", "budget": {"max_usd": 1, "period": "day"}},
                             headers=admin())).json()
    async with tables_away(engine_plane, "usage"):
        assert (await call(client, key["key"])).status_code == 503
    await engine_plane.usage_sink.flush()
    assert (await call(client, key["key"])).status_code == 200
