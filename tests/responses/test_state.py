"""Responses state with a database (the admin plane's): ``store`` keeps a translated response,
``previous_response_id`` chains to it on any provider, ``GET /v1/responses/{id}`` returns it
to the key that made it; ``store: false`` keeps nothing; without a database,
``previous_response_id`` is a 400 naming the parameter."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import provider_env
from tests.fakes import Reply
from tests.gateway_process import GatewayProcess, run_gateway

ADMIN = "admin-" + "a" * 40


@pytest.fixture(scope="module")
def stateful(fakes, tmp_path_factory) -> Iterator[GatewayProcess]:
    db = tmp_path_factory.mktemp("responses-db") / "router.db"
    env = {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN, "LLM_ROUTER_DATABASE_URL": f"sqlite:///{db}"}
    with run_gateway(env) as process:
        yield process


def new_key(gateway: GatewayProcess, name: str) -> str:
    answer = httpx.post(gateway.url + "/admin/keys", json={"name": name},
                        headers={"authorization": f"Bearer {ADMIN}"}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["key"]


@pytest.fixture(scope="module")
def keys(stateful) -> tuple[str, str]:
    return new_key(stateful, "alice"), new_key(stateful, "bob")


def client(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=10)


@pytest.mark.parametrize("provider", ["anthropic", "cohere"])
def test_previous_response_id_chains_and_get_returns_it(stateful, keys, fakes, provider):
    alice = client(stateful, keys[0])
    fakes[provider].enqueue(Reply(text="Nice to meet you, Ada."), Reply(text="Your name is Ada."))
    first = alice.responses.create(model=provider, input="My name is Ada.", instructions="Be kind.")
    second = alice.responses.create(model=provider, input="What is my name?", previous_response_id=first.id)
    assert second.output_text == "Your name is Ada." and second.previous_response_id == first.id
    sent = json.dumps(fakes[provider].requests[-1].body)
    assert sent.index("My name is Ada.") < sent.index("Nice to meet you, Ada.") < sent.index("What is my name?")
    assert "Be kind." not in sent  # instructions are not inherited
    fetched = alice.responses.retrieve(second.id)
    assert fetched.id == second.id and fetched.output_text == "Your name is Ada."


def test_streamed_response_is_kept_too(stateful, keys, fakes):
    alice = client(stateful, keys[0])
    fakes["anthropic"].enqueue(Reply(text="Streamed and kept."))
    with alice.responses.stream(model="anthropic", input="hi") as stream:
        final = stream.get_final_response()
    assert alice.responses.retrieve(final.id).output_text == "Streamed and kept."


def test_other_keys_cannot_see_it(stateful, keys, fakes):
    alice, bob = client(stateful, keys[0]), client(stateful, keys[1])
    first = alice.responses.create(model="anthropic", input="secret")
    with pytest.raises(openai.NotFoundError):
        bob.responses.retrieve(first.id)
    with pytest.raises(openai.BadRequestError) as info:
        bob.responses.create(model="anthropic", input="x", previous_response_id=first.id)
    assert info.value.body["param"] == "previous_response_id"
    assert info.value.body["code"] == "previous_response_not_found"


def test_store_false_keeps_nothing(stateful, keys, fakes):
    alice = client(stateful, keys[0])
    first = alice.responses.create(model="cohere", input="forget me", store=False)
    assert first.store is False
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(first.id)
    with pytest.raises(openai.BadRequestError):
        alice.responses.create(model="cohere", input="x", previous_response_id=first.id)


def test_a_kept_conversation_continues_on_openai(stateful, keys, fakes):
    alice = client(stateful, keys[0])
    first = alice.responses.create(model="anthropic", input="Remember 42.")
    alice.responses.create(model="openai/gpt-4.1-mini", input="What number?", previous_response_id=first.id)
    body = fakes["openai"].requests[-1].body
    assert "previous_response_id" not in body
    assert json.dumps(body["input"]).index("Remember 42.") < json.dumps(body["input"]).index("What number?")


def test_without_a_database_previous_response_id_is_a_400(gateway, fakes):
    plain = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10)
    with pytest.raises(openai.BadRequestError) as info:
        plain.responses.create(model="anthropic", input="x", previous_response_id="resp_nope")
    assert info.value.body["param"] == "previous_response_id"
    assert fakes["anthropic"].requests == []  # refused before anything was sent
    answer = httpx.get(gateway.url + "/v1/responses/resp_nope", timeout=5)
    assert answer.status_code == 404


def test_openai_keeps_its_own_chain_on_an_openai_route(gateway, fakes):
    plain = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10)
    first = plain.responses.create(model="openai/gpt-4.1-mini", input="Remember 7.")
    plain.responses.create(model="openai/gpt-4.1-mini", input="Which?", previous_response_id=first.id)
    assert fakes["openai"].requests[-1].body["previous_response_id"] == first.id  # passed through
