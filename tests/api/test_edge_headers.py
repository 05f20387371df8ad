"""Issue 20: the edge reads the request headers in one pass — the request id, the refusals
before routing, ``Origin`` — and each still does what it did."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import app_client
from tests.fakes import Reply

CHAT = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]}
GENERATED = re.compile(r"^[0-9a-f]{32}$")


async def test_a_sane_client_id_is_echoed_and_the_first_one_wins(env, fakes):
    fakes["openai"].enqueue(Reply(text="hi"))
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", json=CHAT,
                                   headers=[("x-request-id", "client-1"), ("x-request-id", "client-2")])
    assert answer.status_code == 200
    assert answer.headers.get_list("x-request-id") == ["client-1"]


@pytest.mark.parametrize("given", ["has space", "x" * 129, "semi;colon"])
async def test_an_unfit_client_id_is_replaced(env, given):
    async with app_client(env) as client:
        answer = await client.get("/health", headers={"x-request-id": given})
    assert answer.status_code == 200
    assert GENERATED.match(answer.headers["x-request-id"])


async def test_a_refusal_before_routing_still_carries_the_clients_id(env):
    async with app_client(env) as client:
        many = await client.get("/health", headers=[("x-request-id", "many-1"),
                                                    *((f"x-h{i}", "v") for i in range(120))])
        big = await client.get("/health", headers=[("x-big", "v" * 9000), ("x-request-id", "big-1")])
        hosts = await client.get("/health", headers=[("host", "a.test"), ("host", "b.test"),
                                                     ("x-request-id", "hosts-1")])
    assert (many.status_code, many.headers["x-request-id"]) == (431, "many-1")
    assert (big.status_code, big.headers["x-request-id"]) == (431, "big-1")
    assert (hosts.status_code, hosts.json()["error"]["code"]) == (400, "invalid_host")
    assert hosts.headers["x-request-id"] == "hosts-1"


async def test_an_origin_sends_a_data_plane_post_through_cors(env, fakes):
    env = {**env, "LLM_ROUTER_CORS_ORIGINS": "https://app.test"}
    fakes["openai"].enqueue(Reply(text="hi"))
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", json=CHAT, headers={"origin": "https://app.test"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://app.test"
