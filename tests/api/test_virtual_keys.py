"""Issue 15 end to end through the real app: the admin API creates a team and keys, the
official openai SDK uses them, each limit answers with its clear error, usage survives a
restart — on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import httpx
import openai
import pytest

from tests.conftest import provider_env
from tests.fakes import Reply
from tests.gateway_process import run_gateway
from tests.storage.db import POSTGRES_URL

ADMIN_KEY = "admin-" + "z" * 40


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:  # a database of its own on the real server (which must be up: no skip)
        name = f"lr_e2e_{secrets.token_hex(4)}"
        asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
        try:
            yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        finally:
            asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _env(fakes, database):
    return {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY, "LLM_ROUTER_DATABASE_URL": database,
            "LLM_ROUTER_USAGE_FLUSH_INTERVAL": "0.1"}


def _admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)


def _client(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=10)


def _ask(client: openai.OpenAI, model: str = "openai") -> str | None:
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
    return answer.choices[0].message.content


def test_keys_limits_and_usage_through_the_sdk(fakes, database):
    with run_gateway(_env(fakes, database)) as gateway, _admin(gateway.url) as admin:
        team = admin.post("/admin/teams", json={"name": "research"}).json()
        limited = admin.post("/admin/keys", json={"name": "alice", "team_id": team["id"], "models": ["openai"],
                                                  "limits": {"rpm": 3}}).json()
        other = admin.post("/admin/keys", json={"name": "bob"}).json()
        assert limited["key"].startswith("sk-lr-")
        alice, bob = _client(gateway.url, limited["key"]), _client(gateway.url, other["key"])

        for _ in range(3):
            fakes["openai"].enqueue(Reply(text="hi", input_tokens=10, output_tokens=5))
            assert _ask(alice) == "hi"
        with pytest.raises(openai.RateLimitError) as limited_error:
            _ask(alice)
        assert limited_error.value.response.headers["retry-after"]
        assert limited_error.value.response.headers["x-ratelimit-limit-requests"] == "3"
        fakes["openai"].enqueue(Reply(text="bob is fine"))
        assert _ask(bob) == "bob is fine"  # other keys are unaffected

        with pytest.raises(openai.PermissionDeniedError):
            _ask(alice, "anthropic")
        listed = [m.id for m in alice.models.list().data]
        assert listed == ["openai"]

        with pytest.raises(openai.AuthenticationError):
            _ask(_client(gateway.url, "sk-lr-" + "x" * 43))
        assert admin.delete(f"/admin/keys/{other['id']}").status_code in (200, 204)
        with pytest.raises(openai.AuthenticationError):
            _ask(bob)
        usage = _usage_rows(admin)
    assert usage and sum(r["requests"] for r in usage) >= 4

    with run_gateway(_env(fakes, database)) as restarted, _admin(restarted.url) as admin:
        assert _usage_rows(admin) == usage  # the ledger is in the database: it survives a restart


def _usage_rows(admin: httpx.Client) -> list[dict]:
    answer = admin.get("/admin/usage", params={"window": 3600, "group_by": "key"})
    assert answer.status_code == 200, answer.text
    return sorted(answer.json()["data"], key=lambda r: str(r.get("key_id")))


def test_a_budget_runs_out_with_insufficient_quota(fakes, database):
    with run_gateway(_env(fakes, database)) as gateway, _admin(gateway.url) as admin:
        key = admin.post("/admin/keys", json={"name": "carol", "budget": {"max_usd": 0.0001, "period": "day"}}).json()
        carol = _client(gateway.url, key["key"])
        served = 0
        with pytest.raises(openai.RateLimitError) as spent:
            for _ in range(50):
                fakes["openai"].enqueue(Reply(text="hi", input_tokens=20, output_tokens=20))
                client = carol.with_options(max_retries=0)
                client.chat.completions.create(model="openai", max_tokens=20,
                                               messages=[{"role": "user", "content": "Hi"}])
                served += 1
        assert 1 <= served < 50
        error = spent.value.response.json()["error"]
        assert error["type"] == "insufficient_quota" and "budget" in error["message"].lower()


def test_admin_routes_refuse_a_virtual_key(fakes, database):
    with run_gateway(_env(fakes, database)) as gateway, _admin(gateway.url) as admin:
        key = admin.post("/admin/keys", json={"name": "dave"}).json()
        as_key = httpx.get(gateway.url + "/admin/keys", headers={"authorization": f"Bearer {key['key']}"})
        anonymous = httpx.get(gateway.url + "/admin/keys")
    assert as_key.status_code == 403 and anonymous.status_code == 401


ROUTES = """\
deployments:
  gpt-a: {provider: openai, model: gpt-4.1-mini, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
  gpt-b: {provider: openai, model: gpt-4.1, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
  claude: {provider: anthropic, model: claude-sonnet-4-5, api_key: "${ANTHROPIC_API_KEY}",
           base_url: "${ANTHROPIC_BASE_URL}"}
routes:
  openai-only: {deployments: [gpt-a, gpt-b]}
  mixed: {deployments: [gpt-a, claude]}
"""


def test_a_provider_pattern_opens_the_routes_that_reach_only_that_provider(fakes, tmp_path):
    config = tmp_path / "routes.yaml"
    config.write_text(ROUTES)
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    with run_gateway(_env(fakes, database), args=("--config", str(config))) as gateway, _admin(gateway.url) as admin:
        key = admin.post("/admin/keys", json={"name": "erin", "models": ["openai/*"]}).json()
        erin = _client(gateway.url, key["key"])
        fakes["openai"].enqueue(Reply(text="via the route"))
        assert _ask(erin, "openai-only") == "via the route"
        with pytest.raises(openai.PermissionDeniedError):
            _ask(erin, "mixed")
        listed = {m.id for m in erin.models.list().data}
    assert "openai-only" in listed and "mixed" not in listed
