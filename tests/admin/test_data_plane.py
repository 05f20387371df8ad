"""The plane's policies over HTTP (the harness's stand-in endpoint): limits, budgets, and
totals that survive a restart on the same database."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from llm_router.admin_plane import build_admin_plane
from tests.admin.harness import admin, make_app, settings
from tests.storage.db import BACKENDS, database_url


async def new_key(client: httpx.AsyncClient, **body) -> dict:
    response = await client.post("/admin/keys", json={"name": "k", **body}, headers=admin())
    assert response.status_code == 201, response.text
    return response.json()


async def call(client: httpx.AsyncClient, key: str, **body) -> httpx.Response:
    return await client.post("/v1/echo", json={"model": "smart", **body}, headers=admin(key))


async def test_rpm_five_then_429_with_headers_other_keys_unaffected(client: httpx.AsyncClient):
    limited, other = await new_key(client, limits={"rpm": 5}), await new_key(client, limits={"rpm": 5})
    for i in range(5):
        response = await call(client, limited["key"])
        assert response.status_code == 200
        assert response.headers["x-ratelimit-remaining-requests"] == str(4 - i)
    refused = await call(client, limited["key"])
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 55 <= int(refused.headers["retry-after"]) <= 60  # when the first of the five leaves the window
    assert refused.headers["x-ratelimit-limit-requests"] == "5"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert (await call(client, other["key"])).status_code == 200
    forbidden = await new_key(client, models=["fast"], limits={"rpm": 5})
    denied = await call(client, forbidden["key"])
    assert denied.status_code == 403 and denied.headers["x-ratelimit-limit-requests"] == "5"
    assert "'smart'" in denied.json()["error"]["message"]


async def test_budget_of_a_few_cents_runs_out(client: httpx.AsyncClient):
    key = await new_key(client, budget={"max_usd": 0.05, "period": "month"})
    results = [(await call(client, key["key"], cost_usd=0.02, max_tokens=10)).status_code for _ in range(4)]
    assert results == [200, 200, 200, 429]
    refused = await call(client, key["key"], cost_usd=0.02, max_tokens=10)
    error = refused.json()["error"]
    assert error["type"] == "insufficient_quota" and error["code"] == "insufficient_quota"
    assert "key 'k'" in error["message"] and "resets at" in error["message"]
    assert int(refused.headers["retry-after"]) > 0
    shown = (await client.get(f"/admin/keys/{key['id']}", headers=admin())).json()
    assert shown["spend_usd"] == pytest.approx(0.06)


async def test_revocation_is_effective_within_a_second(client: httpx.AsyncClient):
    key = await new_key(client)
    assert (await call(client, key["key"])).status_code == 200
    await client.delete(f"/admin/keys/{key['id']}", headers=admin())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.0
    while (await call(client, key["key"])).status_code != 401:
        assert loop.time() < deadline
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_totals_and_budgets_survive_a_restart(backend):
    async with database_url(backend) as (url, schema):
        for run in range(2):
            plane = build_admin_plane(settings(url), database_schema=schema)
            await plane.start()
            try:
                transport = httpx.ASGITransport(app=make_app(plane))
                async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                    if run == 0:
                        key = await new_key(client, budget={"max_usd": 0.03, "period": "day"})
                        for _ in range(2):
                            assert (await call(client, key["key"], cost_usd=0.02)).status_code == 200
                        continue
                    usage = (await client.get("/admin/usage?group_by=key", headers=admin())).json()["data"]
                    assert [(g["group"], g["requests"], g["cost_usd"]) for g in usage] == [(key["id"], 2, 0.04)]
                    assert (await call(client, key["key"], cost_usd=0.02)).status_code == 429
                    assert [t["requests"] for t in await plane.usage_totals(3600, "model")] == [3]
            finally:
                await plane.close()
