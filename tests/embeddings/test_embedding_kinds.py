"""Embedding deployments declared in config (``embedding: true``, issue 17): listed in
/v1/models, refused by the chat surfaces with a 400 naming the model, and the only config
names an embeddings request may use once declared; a request-side failure inside an attempt
(a provider that cannot embed) is recorded as that error, not "cancelled", and not retried.
Through the in-process app and the loopback fakes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from llm_router.config.file import load_config
from llm_router.errors import ConfigError
from tests.api.conftest import app_client
from tests.conftest import provider_env

CONFIG = """
deployments:
  embedder: {provider: openai, model: text-embedding-3-small, embedding: true}
  co-embed: {provider: cohere, model: embed-v4.0, embedding: true}
  chat: {provider: openai, model: gpt-4o}
routes:
  vectors: {deployments: [embedder, co-embed]}
"""
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def setup(fakes: dict[str, Any], tmp_path: Path) -> tuple[dict[str, str], str]:
    config = tmp_path / "router.yaml"
    config.write_text(CONFIG)
    return provider_env(fakes), str(config)


async def test_embedding_deployments_are_listed(setup) -> None:
    env, config = setup
    async with app_client(env, config_path=config) as client:
        listed = (await client.get("/v1/models")).json()
    ids = {m["id"] for m in listed["data"]}
    assert {"embedder", "co-embed", "vectors", "chat"} <= ids
    assert all(set(m) == {"id", "object", "created", "owned_by"} for m in listed["data"])  # OpenAI's shape


@pytest.mark.parametrize(("path", "body", "headers"), [
    ("/v1/chat/completions", {"messages": HI}, {}),
    ("/v1/chat/completions", {"messages": HI, "stream": True}, {}),
    ("/v1/messages", {"messages": HI, "max_tokens": 10}, {"anthropic-version": "2023-06-01"}),
    ("/v1/responses", {"input": "Hi"}, {})])
@pytest.mark.parametrize("model", ["embedder", "vectors"])
async def test_a_chat_request_to_an_embedding_model_is_a_400_naming_it(setup, fakes, path: str, body: dict[str, Any],
                                                                     headers: dict[str, str], model: str) -> None:
    env, config = setup
    async with app_client(env, config_path=config) as client:
        answer = await client.post(path, json={"model": model, **body}, headers=headers)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert f"'{model}'" in error["message"] and "/v1/embeddings" in error["message"]
    assert error["type"] == "invalid_request_error"
    assert fakes["openai"].requests == [] and fakes["cohere"].requests == []


@pytest.mark.parametrize("model", ["embedder", "co-embed", "vectors", "openai/text-embedding-3-small"])
async def test_declared_embedding_models_and_provider_names_embed(setup, model: str) -> None:
    env, config = setup
    async with app_client(env, config_path=config) as client:
        answer = await client.post("/v1/embeddings", json={"model": model, "input": ["a", "b"]})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["data"]) == 2


@pytest.mark.parametrize("model", ["chat", "openai"])
async def test_embeddings_to_a_chat_deployment_name_the_embedding_models(setup, fakes, model: str) -> None:
    env, config = setup
    async with app_client(env, config_path=config) as client:
        answer = await client.post("/v1/embeddings", json={"model": model, "input": "a"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert f"'{model}'" in error["message"] and error["param"] == "model"
    assert "embedder" in error["message"] and "vectors" in error["message"]
    assert fakes["openai"].requests == []


def test_a_route_mixing_kinds_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "mixed.yaml"
    config.write_text(CONFIG + "  mixed: {deployments: [embedder, chat]}\n")
    with pytest.raises(ConfigError, match=r"routes\.mixed: mixes embedding and chat"):
        load_config(config, {})


async def test_a_provider_that_cannot_embed_is_one_attempt_recorded_as_a_bad_request(fakes) -> None:
    env = {**provider_env(fakes), "LLM_ROUTER_RETRIES": "2"}
    async with app_client(env) as client:
        answer = await client.post("/v1/embeddings", json={"model": "anthropic", "input": "a"})
        metrics = (await client.get("/metrics")).text
    assert answer.status_code == 400, answer.text
    assert "cannot make embeddings" in answer.json()["error"]["message"]
    attempts = re.findall(r'llm_router_upstream_attempts_total\{([^}]*deployment="anthropic"[^}]*)\} (\S+)', metrics)
    assert attempts == [('deployment="anthropic",provider="anthropic",result="invalid_request_error"', "1.0")]
