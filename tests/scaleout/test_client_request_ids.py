"""A client's ``x-request-id`` is echoed, never trusted as a key: two requests that name the same
id (at once, on different virtual keys, or one after the other) are two requests in the ledger,
each billed to its own key, each upstream attempt with its own ``usage_attempts`` row."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import provider_env
from tests.fakes import Reply
from tests.scaleout.replicas import ADMIN_KEY, admin_client, fresh_postgres, query, replicas


def _ask(url: str, key: str) -> httpx.Response:
    body = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=20,
                      headers={"authorization": f"Bearer {key}", "x-request-id": "same-id"})


def test_requests_naming_the_same_id_are_billed_apart(fakes):
    with fresh_postgres() as database:
        env = {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY, "LLM_ROUTER_DATABASE_URL": database,
               "LLM_ROUTER_JOURNAL_PATH": "journal.db", "LLM_ROUTER_DRAIN_DELAY": "0"}
        with replicas(env, 1) as (replica,):
            with admin_client(replica.url) as admin:
                a, b = (admin.post("/admin/keys", json={"name": name}).json() for name in ("a", "b"))
            fakes["openai"].enqueue(Reply(delay=0.6), Reply(delay=0.6))  # the first two overlap
            with ThreadPoolExecutor(2) as pool:
                together = list(pool.map(lambda key: _ask(replica.url, key), [a["key"], b["key"]]))
            later = _ask(replica.url, a["key"])
            assert replica.stop() == 0, replica.log_text()[-3000:]  # a graceful stop ships the journal
        usage, attempts = query(database, "SELECT request_id, key_id FROM usage",
                                "SELECT request_id, attempt, key_id, phase FROM usage_attempts")
    for answer in [*together, later]:
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"] == "same-id"  # echoed as the client named it
    assert Counter(r["key_id"] for r in usage) == Counter([a["id"], a["id"], b["id"]])
    assert {r["request_id"] for r in usage} == {"same-id"}  # searchable by the client's id
    assert len(attempts) == 3 and len({(r["request_id"], r["attempt"]) for r in attempts}) == 3
    assert Counter(r["key_id"] for r in attempts) == Counter([a["id"], a["id"], b["id"]])
    assert all(r["phase"] == 1 for r in attempts)
