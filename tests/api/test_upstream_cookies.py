"""The upstream client keeps no cookies: one shared pool serves every virtual key and team, so a
cookie one upstream answer set (OpenAI's edge sets ``__cf_bm`` and ``_cfuvid`` on every answer)
must not ride along on the next request, whoever sends it."""

from __future__ import annotations

from tests.api.conftest import app_client
from tests.fakes import Reply

CHAT = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]}


async def test_a_cookie_an_upstream_sets_is_not_sent_back(env, fakes):
    openai = fakes["openai"]
    # By host name: aiohttp's default jar ignores cookies from a bare IP address.
    env = {**env, "OPENAI_BASE_URL": openai.base_url.replace("127.0.0.1", "localhost")}
    cookie = "__cf_bm=tenant-a-affinity; path=/; HttpOnly"
    openai.enqueue(Reply(text="one", headers={"set-cookie": cookie}), Reply(text="two"))
    async with app_client(env) as client:
        first = await client.post("/v1/chat/completions", json=CHAT)
        second = await client.post("/v1/chat/completions", json=CHAT)
    assert (first.status_code, second.status_code) == (200, 200)
    assert "set-cookie" not in first.headers  # not passed to the client either
    sent = [request.headers for request in openai.requests]
    assert len(sent) == 2 and "localhost" in sent[1].get("host", "")
    assert "cookie" not in {name.lower() for name in sent[1]}
