"""The admin API in process, on SQLite and PostgreSQL: keys, teams, usage, requests, audit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from llm_router.storage.keysecrets import KEY_LENGTH
from tests.admin.harness import ADMIN_KEY, MASTER_KEY, admin

pytestmark = pytest.mark.usefixtures("plane")


async def create_key(client: httpx.AsyncClient, **body) -> dict:
    response = await client.post("/admin/keys", json={"name": "alice", **body}, headers=admin())
    assert response.status_code == 201, response.text
    return response.json()


async def call(client: httpx.AsyncClient, key: str, **body) -> httpx.Response:
    return await client.post("/v1/echo", json={"model": "smart", **body}, headers={"Authorization": f"Bearer {key}"})


async def test_create_key_shows_the_secret_once(client: httpx.AsyncClient):
    team = (await client.post("/admin/teams", json={"name": "research", "limits": {"rpm": 100}},
                              headers=admin())).json()
    created = await create_key(client, team_id=team["id"], models=["smart", "openai/*"],
                               budget={"max_usd": 50, "period": "month"}, limits={"rpm": 60, "tpm": 100000},
                               metadata={"owner": "alice@example.com"})
    secret = created["key"]
    assert secret.startswith("sk-lr-") and len(secret) == KEY_LENGTH
    assert created["key_display"] == f"sk-lr-...{secret[-4:]}"
    assert created["budget"] == {"max_usd": 50.0, "period": "month"}
    assert created["limits"] == {"rpm": 60, "tpm": 100000, "max_parallel": None}
    listed = await client.get("/admin/keys", headers=admin())
    shown = await client.get(f"/admin/keys/{created['id']}", headers=admin())
    assert shown.json()["spend_usd"] == 0.0
    for response in (listed, shown, await client.get("/admin/audit", headers=admin())):
        assert response.status_code == 200
        assert secret not in response.text and secret[6:] not in response.text
    assert [k["id"] for k in listed.json()["data"]] == [created["id"]]
    assert (await call(client, secret)).json() == {"ok": True, "principal": "virtual", "key_id": created["id"]}


async def test_patch_applies_at_once_and_is_audited(client: httpx.AsyncClient):
    created = await create_key(client, models=["smart"])
    assert (await call(client, created["key"], model="fast")).status_code == 403
    patched = await client.patch(f"/admin/keys/{created['id']}", json={"models": None, "limits": {"rpm": 7}},
                                 headers=admin())
    assert patched.status_code == 200 and patched.json()["models"] is None
    assert (await call(client, created["key"], model="fast")).status_code == 200
    audit = (await client.get("/admin/audit", headers=admin())).json()["data"]
    assert [a["action"] for a in audit] == ["key.update", "key.create"]
    assert audit[0]["actor"] == "admin"
    assert audit[0]["before"] == {"models": ["smart"], "rpm": None}
    assert audit[0]["after"] == {"models": None, "rpm": 7}


async def test_revoked_key_is_refused_at_once(client: httpx.AsyncClient):
    created = await create_key(client)
    assert (await call(client, created["key"])).status_code == 200  # now in the auth cache
    revoked = await client.delete(f"/admin/keys/{created['id']}", headers=admin())
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = await call(client, created["key"])
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    assert (await client.delete(f"/admin/keys/{created['id']}", headers=admin())).status_code == 404


async def test_expired_key_is_refused(client: httpx.AsyncClient):
    soon = datetime.now(UTC) + timedelta(hours=1)
    created = await create_key(client, expires_at=soon.isoformat())
    assert (await call(client, created["key"])).status_code == 200
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    await client.patch(f"/admin/keys/{created['id']}", json={"expires_at": past}, headers=admin())
    response = await call(client, created["key"])
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


async def test_teams_crud_and_a_team_in_use_is_kept(client: httpx.AsyncClient):
    team = (await client.post("/admin/teams", json={"name": "ops"}, headers=admin())).json()
    assert (await client.post("/admin/teams", json={"name": "ops"}, headers=admin())).status_code == 409
    patched = await client.patch(f"/admin/teams/{team['id']}", json={"budget": {"max_usd": 1, "period": "day"}},
                                 headers=admin())
    assert patched.json()["budget"] == {"max_usd": 1.0, "period": "day"}
    key = await create_key(client, team_id=team["id"])
    assert (await client.delete(f"/admin/teams/{team['id']}", headers=admin())).status_code == 409
    await client.delete(f"/admin/keys/{key['id']}", headers=admin())
    assert (await client.delete(f"/admin/teams/{team['id']}", headers=admin())).status_code == 200
    assert (await client.get(f"/admin/teams/{team['id']}", headers=admin())).status_code == 404
    assert (await client.get("/admin/teams", headers=admin())).json()["data"] == []
    assert (await create_key_raw(client, team_id=team["id"])).status_code == 404


async def create_key_raw(client: httpx.AsyncClient, **body) -> httpx.Response:
    return await client.post("/admin/keys", json={"name": "x", **body}, headers=admin())


@pytest.mark.parametrize("body", [
    {"name": ""}, {"name": "a", "role": "admin"}, {"name": "a", "allowed_routes": ["/*"]},
    {"name": "a", "limits": {"rpm": 0}}, {"name": "a", "budget": {"max_usd": -1}},
    {"name": "a", "budget": {"max_usd": 1, "period": "year"}}, {"name": "a", "models": "smart"},
    {"name": "a", "expires_at": "2030-01-01T00:00:00"}, {"name": "a\r\nX-Injected: 1"},
])
async def test_bad_bodies_are_4xx(client: httpx.AsyncClient, body):
    response = await client.post("/admin/keys", json=body, headers=admin())
    assert 400 <= response.status_code < 500, response.text


async def test_usage_and_requests_come_from_the_ledger(client: httpx.AsyncClient):
    alice = await create_key(client)
    bob = await create_key(client, name="bob")
    for _ in range(3):
        assert (await call(client, alice["key"], cost_usd=0.25)).status_code == 200
    assert (await call(client, bob["key"], cost_usd=0.5)).status_code == 200
    assert (await call(client, alice["key"], model="forbidden/x")).status_code == 200
    usage = await client.get("/admin/usage?window=3600&group_by=key", headers=admin())
    assert usage.status_code == 200, usage.text
    groups = {g["group"]: g for g in usage.json()["data"]}
    assert groups[alice["id"]]["requests"] == 4 and groups[alice["id"]]["cost_micros"] == 750_000
    assert groups[bob["id"]]["requests"] == 1 and groups[bob["id"]]["cost_usd"] == 0.5
    assert (await client.get(f"/admin/keys/{alice['id']}", headers=admin())).json()["spend_usd"] == 0.75
    page = (await client.get(f"/admin/requests?limit=2&key_id={alice['id']}", headers=admin())).json()
    assert len(page["data"]) == 2 and page["next_before"] == page["data"][-1]["id"]
    rest = (await client.get(f"/admin/requests?limit=2&key_id={alice['id']}&before={page['next_before']}",
                             headers=admin())).json()
    assert len(rest["data"]) == 2 and rest["next_before"] == rest["data"][-1]["id"]
    assert {r["key_id"] for r in page["data"] + rest["data"]} == {alice["id"]}
    assert all("prompt" not in r and "completion" not in r for r in page["data"])
    by_model = (await client.get("/admin/usage?window=3600&group_by=model", headers=admin())).json()["data"]
    assert {g["group"] for g in by_model} == {"smart", "forbidden/x"}


async def test_openapi_lists_the_admin_routes(client: httpx.AsyncClient):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/admin/keys", "/admin/keys/{key_id}", "/admin/teams", "/admin/teams/{team_id}",
                 "/admin/usage", "/admin/requests", "/admin/audit"):
        assert path in paths


async def test_no_key_in_any_log_line(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    created = await create_key(client)
    await call(client, created["key"])
    await client.patch(f"/admin/keys/{created['id']}", json={"name": "renamed"}, headers=admin())
    await call(client, created["key"][:-1] + "x")
    await client.delete(f"/admin/keys/{created['id']}", headers=admin())
    text = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for secret in (created["key"], created["key"][6:], ADMIN_KEY, MASTER_KEY):
        assert secret not in text
