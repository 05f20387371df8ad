"""Hostile but well-formed input to the admin API is a 4xx, never a 500, on both databases
(PostgreSQL refuses NUL characters and over-long varchars: they must not reach it)."""

from __future__ import annotations

import httpx
import pytest

from tests.admin.harness import admin


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("body", [
    {"name": "x", "team_id": "team_\u0000"}, {"name": "x", "team_id": "t" * 41},
    {"name": "x", "metadata": {"deep": nested(300)}}, {"name": "x", "models": ["a\u0000"]},
    {"name": "x", "metadata": {"k" * 10: "v" * 9000}}, {"name": "x", "expires_at": "9999-99-99"},
    {"name": "x", "limits": {"rpm": 10**20}},
])
async def test_bad_key_bodies(client: httpx.AsyncClient, body):
    response = await client.post("/admin/keys", json=body, headers=admin())
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("raw", [b'{"name": "x", "budget": {"max_usd": 1e309}}',
                                 b'{"name": "x", "budget": {"max_usd": NaN}}',
                                 b'{"name": "x", "limits": {"rpm": 1e400}}'])
async def test_out_of_range_numbers(client: httpx.AsyncClient, raw):
    response = await client.post("/admin/keys", content=raw, headers={**admin(), "content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text


async def test_nul_in_metadata_values_is_stored_or_refused_never_500(client: httpx.AsyncClient):
    response = await client.post("/admin/keys", json={"name": "x", "metadata": {"a": "b\u0000c"}}, headers=admin())
    assert response.status_code in (201, 400, 422), response.text


@pytest.mark.parametrize("query", [
    "/admin/keys?team_id=%00", "/admin/requests?key_id=%00", "/admin/requests?team_id=a%00",
    "/admin/requests?model=%00", "/admin/requests?status=abc", "/admin/requests?before=-1",
    "/admin/usage?window=0", "/admin/usage?group_by=prompt", "/admin/audit?target_id=%00",
    "/admin/keys/%00", "/admin/teams/..%2F..", "/admin/requests?limit=100000",
])
async def test_bad_queries(client: httpx.AsyncClient, query):
    response = await client.get(query, headers=admin())
    assert 400 <= response.status_code < 500, (query, response.text)


async def test_patch_of_a_team_id_to_garbage_is_4xx(client: httpx.AsyncClient):
    key = (await client.post("/admin/keys", json={"name": "x"}, headers=admin())).json()
    for team_id in ("team_\u0000", "nope"):
        response = await client.patch(f"/admin/keys/{key['id']}", json={"team_id": team_id}, headers=admin())
        assert 400 <= response.status_code < 500, response.text
