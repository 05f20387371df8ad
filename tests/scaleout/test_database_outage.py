"""P3: PostgreSQL unreachable (a proxy the test cuts) under load. The data plane keeps serving
keys already in the auth cache, past the cache TTL; ``/ready`` stays 200; records wait in
the journal and the ledger buffer; when the database is back the backlog drains: every
upstream attempt has its row, every answered request its ledger row."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx

from tests.conftest import provider_env
from tests.scaleout.replicas import ADMIN_KEY, Replica, admin_client, fresh_postgres
from tests.scaleout.tcp_proxy import cuttable

OUTAGE = 4.0


def _chat(url: str, key: str) -> int:
    body = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=15,
                      headers={"authorization": f"Bearer {key}"}).status_code


async def _count(database: str, table: str) -> int:
    connection = await asyncpg.connect(database)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


def test_database_outage_keeps_serving_cached_keys_and_drains_after(fakes):
    with fresh_postgres() as database, cuttable(("127.0.0.1", 5432)) as proxy:
        through_proxy = database.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        env = {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY, "LLM_ROUTER_DATABASE_URL": through_proxy,
               "LLM_ROUTER_JOURNAL_PATH": "journal.db", "LLM_ROUTER_AUTH_CACHE_TTL": "1",
               "LLM_ROUTER_USAGE_FLUSH_INTERVAL": "0.1"}
        replica = Replica(env)
        replica.start()
        try:
            replica.wait_ready()
            with admin_client(replica.url) as admin:
                key = admin.post("/admin/keys", json={"name": "p3"}).json()["key"]
            assert _chat(replica.url, key) == 200  # now in the auth cache
            proxy.cut()
            statuses, ready = [], []
            deadline = time.monotonic() + OUTAGE  # longer than the auth cache TTL
            with ThreadPoolExecutor(4) as pool:
                while time.monotonic() < deadline:
                    statuses += list(pool.map(lambda _: _chat(replica.url, key), range(8)))
                    ready.append(httpx.get(replica.url + "/ready", timeout=5).status_code)
            assert set(statuses) == {200}, statuses
            assert set(ready) == {200}
            proxy.restore()
            answered = 1 + len(statuses)
            upstream = len([r for r in fakes["openai"].requests if r.path.endswith("/chat/completions")])
            deadline = time.monotonic() + 20
            while asyncio.run(_count(database, "usage_attempts")) < upstream or \
                    asyncio.run(_count(database, "usage")) < answered:
                assert time.monotonic() < deadline, replica.log_text()[-4000:]
                time.sleep(0.2)
            assert replica.stop() == 0
        finally:
            replica.kill()
        assert asyncio.run(_count(database, "usage_attempts")) == upstream
        assert asyncio.run(_count(database, "usage")) == answered
