"""Entries never cross tenants (virtual keys, teams, the gateway key), and a Redis-backed
cache is shared by two gateway processes."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cache.helpers import CONFIG, chat, text_of, until
from tests.conftest import provider_env
from tests.fakes import Reply
from tests.gateway_process import run_gateway
from tests.scaleout.redis_helpers import SHARED_URL, delete_prefix, new_prefix

ADMIN = "admin-" + "c" * 40
MASTER = "master-" + "c" * 40


def test_identical_requests_of_two_keys_never_share_an_entry(fakes, tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    env = {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN, "LLM_ROUTER_API_KEY": MASTER,
           "LLM_ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    with run_gateway(env, args=("--config", str(config))) as gateway:
        admin = httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {ADMIN}"}, timeout=10)
        teams = [admin.post("/admin/teams", json={"name": n}).json()["id"] for n in ("one", "two")]
        keys = [admin.post("/admin/keys", json={"name": f"k{i}", "team_id": team}).json()["key"]
                for i, team in enumerate([teams[0], teams[0], teams[1]])]
        a, b, c = ({"authorization": f"Bearer {k}"} for k in keys)
        master = {"authorization": f"Bearer {MASTER}"}

        def status(headers, model="cached"):
            response = chat(gateway.url, model, headers=headers, user="tenants")
            assert response.status_code == 200, response.text
            return response.headers["x-llm-router-cache"]

        assert status(a) == "miss"
        until(lambda: status(a) == "hit")
        assert [status(b), status(c), status(master)] == ["miss", "miss", "miss"]  # scope: key
        until(lambda: status(master) == "hit")
        assert status(b) == "hit" and status(c) == "hit"  # each its own entry now
        assert status(a, "shared") == "miss"  # scope: team
        until(lambda: status(b, "shared") == "hit")  # the same team shares
        assert status(c, "shared") == "miss"  # another team does not
        assert status(master, "shared") == "miss"


def test_a_redis_cache_is_shared_by_two_gateway_processes(fakes, tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    prefix = new_prefix()
    env = {**provider_env(fakes), "LLM_ROUTER_REDIS_URL": SHARED_URL, "LLM_ROUTER_REDIS_PREFIX": prefix}
    try:
        with run_gateway(env, args=("--config", str(config)), in_process=False) as one, \
                run_gateway(env, args=("--config", str(config)), in_process=False) as two:
            fakes["openai"].enqueue(Reply(text="Shared by replicas."), Reply(text="Streamed to both."))
            for stream in (False, True):
                first = chat(one.url, stream=stream, user="replicas")
                assert first.headers["x-llm-router-cache"] == "miss"
                hit = until(lambda s=stream: (r := chat(two.url, stream=s, user="replicas"))
                            .headers["x-llm-router-cache"] == "hit" and r)
                assert text_of(hit) == text_of(first) == ("Streamed to both." if stream else "Shared by replicas.")
            assert len(fakes["openai"].requests) == 2
    finally:
        delete_prefix(SHARED_URL, prefix)
