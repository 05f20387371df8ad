"""P12: the schema stepped down one revision and up again, three times, while two replicas
serve traffic on the same PostgreSQL database: no request errors, no row lost (every
answered request has its ledger row, every upstream attempt its attempt row)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx

from llm_router.storage.engine import downgrade, make_engine, upgrade
from tests.conftest import provider_env
from tests.scaleout.replicas import ADMIN_KEY, admin_client, fresh_postgres, replicas


def _chat(url: str, key: str, n: int) -> int:
    body = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}], "stream": n % 2 == 0}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=15,
                      headers={"authorization": f"Bearer {key}"}) as answer:
        for _ in answer.iter_bytes():
            pass
        return answer.status_code


async def _migrate_back_and_forth(database: str, rounds: int) -> None:
    engine = make_engine(database)
    try:
        for _ in range(rounds):
            await downgrade(engine, "-1")
            await asyncio.sleep(0.3)
            await upgrade(engine)
            await asyncio.sleep(0.3)
    finally:
        await engine.dispose()


async def _count(database: str, table: str) -> int:
    connection = await asyncpg.connect(database)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


def test_migrations_with_traffic(fakes):
    with fresh_postgres() as database:
        env = {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY, "LLM_ROUTER_DATABASE_URL": database,
               "LLM_ROUTER_JOURNAL_PATH": "journal.db", "LLM_ROUTER_USAGE_FLUSH_INTERVAL": "0.1"}
        with replicas(env, 2) as group:
            with admin_client(group[0].url) as admin:
                key = admin.post("/admin/keys", json={"name": "p12"}).json()["key"]
            migrating = threading.Thread(target=lambda: asyncio.run(_migrate_back_and_forth(database, 3)))
            statuses: list[int] = []
            urls = itertools.cycle([r.url for r in group])
            with ThreadPoolExecutor(6) as pool:
                migrating.start()
                n = 0
                while migrating.is_alive() or n < 60:
                    statuses += list(pool.map(lambda i: _chat(next(urls), key, i), range(n, n + 12)))
                    n += 12
                migrating.join()
            assert set(statuses) == {200}, statuses
            for replica in group:
                assert replica.stop() == 0
        upstream = len([r for r in fakes["openai"].requests if r.path.endswith("/chat/completions")])
        assert asyncio.run(_count(database, "usage")) == len(statuses)
        assert asyncio.run(_count(database, "usage_attempts")) == upstream == len(statuses)
