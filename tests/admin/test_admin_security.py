"""Regression tests for peers' CVEs and the rules of reliability-and-security §4.3 / §5.2-5.4.

- CVE-2026-42208 (SQL injection in the key check): injection-looking bearers are 401, in
  the time of any wrong key, without a database query; a 10 KB bearer too.
- CVE-2026-47101 / -47102 (self-granted routes, self-promotion): a virtual key cannot call
  any admin route, cannot PATCH itself, and no body field can grant a role or routes.
- I13: duplicate Authorization headers, an empty bearer: 401."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import pytest
from sqlalchemy import event

from llm_router.admin_plane import AdminPlane
from tests.admin.harness import ADMIN_KEY, MASTER_KEY, admin

ROUTES = [
    ("POST", "/admin/keys", {"name": "x"}), ("GET", "/admin/keys", None), ("GET", "/admin/keys/{key}", None),
    ("PATCH", "/admin/keys/{key}", {"name": "y"}), ("DELETE", "/admin/keys/{key}", None),
    ("POST", "/admin/teams", {"name": "t"}), ("GET", "/admin/teams", None),
    ("GET", "/admin/teams/{team}", None), ("PATCH", "/admin/teams/{team}", {"name": "u"}),
    ("DELETE", "/admin/teams/{team}", None), ("GET", "/admin/usage", None), ("GET", "/admin/requests", None),
    ("GET", "/admin/audit", None),
]
INJECTIONS = ["' OR '1'='1", "' OR (SELECT pg_sleep(10)) IS NULL --", "sk-lr-' OR 1=1; DROP TABLE api_keys;--",
              "sk-lr-" + "A" * 42 + "'", "x" * 10_240, "sk-lr-" + "A" * 10_240]


class KeyLookups:
    """Counts SQL statements that read the key table (a real engine event, not a mock)."""

    def __init__(self, plane: AdminPlane) -> None:
        self.count = 0
        event.listen(plane.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "api_keys" in statement and statement.lstrip().upper().startswith("SELECT"):
            self.count += 1


async def fixtures(client: httpx.AsyncClient) -> dict[str, str]:
    team = (await client.post("/admin/teams", json={"name": "blue"}, headers=admin())).json()
    key = (await client.post("/admin/keys", json={"name": "v", "team_id": team["id"]}, headers=admin())).json()
    return {"team": team["id"], "key": key["id"], "secret": key["key"]}


async def send(client: httpx.AsyncClient, method: str, path: str, body, headers) -> httpx.Response:
    return await client.request(method, path, json=body, headers=headers)


async def test_every_admin_route_needs_the_admin_key(plane):
    _, client = plane
    ids = await fixtures(client)
    for method, template, body in ROUTES:
        path = template.format(**ids)
        assert (await send(client, method, path, body, {})).status_code == 401, path
        assert (await send(client, method, path, body, admin("wrong" * 10))).status_code == 401, path
        virtual = await send(client, method, path, body, admin(ids["secret"]))
        assert virtual.status_code == 403, path
        assert virtual.json()["error"]["type"] == "permission_error"
        assert (await send(client, method, path, body, admin(MASTER_KEY))).status_code == 403, path
        assert (await send(client, method, path, body, {"x-api-key": ADMIN_KEY})).status_code == 401, path
    assert (await client.get("/admin/keys", headers=admin())).status_code == 200


async def test_a_virtual_key_cannot_patch_itself(plane):
    _, client = plane
    ids = await fixtures(client)
    for body in ({"models": ["*"]}, {"limits": None}, {"budget": None}, {"name": "admin"}):
        response = await client.patch(f"/admin/keys/{ids['key']}", json=body, headers=admin(ids["secret"]))
        assert response.status_code == 403
    audit = (await client.get("/admin/audit", headers=admin())).json()["data"]
    assert [a["action"] for a in audit] == ["key.create", "team.create"]


@pytest.mark.parametrize("field", ["role", "allowed_routes", "permissions", "is_admin", "key_hash", "key"])
async def test_no_field_grants_admin_or_sets_the_secret(plane, field):
    _, client = plane
    ids = await fixtures(client)
    assert (await client.post("/admin/keys", json={"name": "x", field: "admin"}, headers=admin())).status_code == 422
    assert (await client.patch(f"/admin/keys/{ids['key']}", json={field: ["/*"]},
                               headers=admin())).status_code == 422


@pytest.mark.parametrize("bearer", INJECTIONS)
async def test_injection_and_huge_bearers_are_401_without_a_lookup(plane, bearer):
    engine_plane, client = plane
    lookups = KeyLookups(engine_plane)
    for path, body in (("/v1/echo", {"model": "smart"}), ("/admin/keys", None)):
        method = "POST" if body else "GET"
        response = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {bearer}"})
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
    assert lookups.count == 0


async def test_a_wellformed_unknown_key_is_looked_up_once_then_cached(plane):
    engine_plane, client = plane
    lookups = KeyLookups(engine_plane)
    unknown = "sk-lr-" + "B" * 43
    for _ in range(3):
        assert (await client.post("/v1/echo", json={}, headers=admin(unknown))).status_code == 401
    assert lookups.count == 1


async def test_requests_that_miss_the_cache_together_share_one_lookup(plane):
    """A busy key's entry expiring sends every connection to the database at once; they wait
    for one lookup instead (here: a key not seen yet, and an unknown one, 20 requests each)."""
    engine_plane, client = plane
    ids = await fixtures(client)
    lookups = KeyLookups(engine_plane)

    async def burst(secret: str) -> list[int]:
        sent = [client.post("/v1/echo", json={}, headers=admin(secret)) for _ in range(20)]
        return [r.status_code for r in await asyncio.gather(*sent)]

    assert await burst(ids["secret"]) == [200] * 20
    assert lookups.count == 1
    assert await burst("sk-lr-" + "C" * 43) == [401] * 20
    assert lookups.count == 2


@pytest.mark.parametrize("headers", [
    [("authorization", "Bearer a"), ("authorization", "Bearer b")],
    [("authorization", f"Bearer {ADMIN_KEY}"), ("authorization", f"Bearer {ADMIN_KEY}")],
    [("authorization", "Bearer ")], [("authorization", "Basic abc")], [("authorization", ADMIN_KEY)],
    [("x-api-key", "a"), ("x-api-key", "b")],
])
async def test_duplicate_or_malformed_credentials_are_401(plane, headers):
    _, client = plane
    for method, path, body in (("POST", "/v1/echo", {}), ("GET", "/admin/keys", None)):
        response = await client.request(method, path, json=body, headers=httpx.Headers(headers))
        assert response.status_code == 401, (path, headers)


async def test_injection_bearers_take_no_longer_than_a_wrong_key(plane):
    _, client = plane

    async def median(bearer: str) -> float:
        times = []
        for _ in range(15):
            started = time.perf_counter()
            await client.post("/v1/echo", json={}, headers=admin(bearer))
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    baseline = await median("sk-lr-" + "C" * 43)
    for bearer in INJECTIONS[:2]:
        assert await median(bearer) <= baseline + 0.05


async def test_master_and_x_api_key_work_on_the_data_plane(plane):
    _, client = plane
    ids = await fixtures(client)
    assert (await client.post("/v1/echo", json={}, headers=admin(MASTER_KEY))).json()["principal"] == "master"
    response = await client.post("/v1/echo", json={}, headers={"x-api-key": ids["secret"]})
    assert response.json()["principal"] == "virtual"
    assert (await client.post("/v1/echo", json={}, headers=admin(ADMIN_KEY))).status_code == 401
