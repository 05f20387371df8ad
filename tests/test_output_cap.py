"""A max_tokens beyond the answering model's output limit is lowered to it, not refused (issue 16:
Claude Code asks for 32,000 to 128,000), per attempt, through the real app and the loopback
fakes; same-provider pass-throughs are left as the client sent them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm_router.config.deployment import Deployment, DeploymentOptions
from llm_router.messages import ChatRequest, Message, WireBody
from llm_router.routing.output_cap import HEADER, capped, known_limit
from tests.api.conftest import app_client
from tests.conftest import CANARY, provider_env
from tests.gateway_process import free_port

HI = [{"role": "user", "content": "Hi"}]
ANTHROPIC = {"anthropic-version": "2023-06-01", "x-api-key": "k"}


@pytest.fixture
def setup(fakes: dict[str, Any], tmp_path: Path) -> tuple[dict[str, str], str]:
    openai = fakes["openai"].base_url
    config = tmp_path / "router.yaml"
    config.write_text(f"""
deployments:
  gpt: {{provider: openai, model: gpt-4o-2024-08-06}}
  opus: {{provider: anthropic, model: claude-opus-4-1-20250805}}
  command: {{provider: cohere, model: command-r-08-2024}}
  compat: {{provider: openai-compatible, model: some-llama, base_url: "{openai}", api_key: {CANARY["openai"]},
            max_output_tokens: 1000}}
  dead: {{provider: openai, model: gpt-4.1, base_url: "http://127.0.0.1:{free_port()}/v1"}}
routes:
  failover: {{strategy: fallback, deployments: [dead, opus]}}
""")
    return provider_env(fakes), str(config)


async def _post(setup: tuple[dict[str, str], str], path: str, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> httpx.Response:
    env, config = setup
    async with app_client(env, config_path=config) as client:
        response = await client.post(path, json=body, headers=headers or {})
        await response.aread()
        return response


@pytest.mark.parametrize("stream", [False, True])
async def test_claude_code_cap_is_lowered_for_an_openai_model(setup, fakes, stream: bool) -> None:
    body = {"model": "gpt", "max_tokens": 128000, "messages": HI, "stream": stream}
    answer = await _post(setup, "/v1/messages?beta=true", body, ANTHROPIC)
    assert answer.status_code == 200, answer.text
    assert answer.headers[HEADER] == "128000->16384"
    assert fakes["openai"].requests[-1].body["max_completion_tokens"] == 16384


@pytest.mark.parametrize(("model", "fake", "field", "limit"), [
    ("opus", "anthropic", "max_tokens", 32000), ("command", "cohere", "max_tokens", 4000)])
async def test_openai_clients_cap_is_lowered_on_other_providers(setup, fakes, model: str, fake: str,
                                                                field: str, limit: int) -> None:
    for stream in (False, True):
        answer = await _post(setup, "/v1/chat/completions",
                             {"model": model, "max_tokens": 100000, "messages": HI, "stream": stream})
        assert answer.status_code == 200, answer.text
        assert answer.headers[HEADER] == f"100000->{limit}"
        assert fakes[fake].requests[-1].body[field] == limit


async def test_the_responses_surface_is_lowered_too(setup, fakes) -> None:
    answer = await _post(setup, "/v1/responses", {"model": "command", "input": "Hi", "max_output_tokens": 9000})
    assert answer.status_code == 200, answer.text
    assert answer.headers[HEADER] == "9000->4000"
    assert fakes["cohere"].requests[-1].body["max_tokens"] == 4000


async def test_same_provider_pass_throughs_are_untouched(setup, fakes) -> None:
    answer = await _post(setup, "/v1/chat/completions", {"model": "gpt", "max_tokens": 128000, "messages": HI})
    assert answer.status_code == 200, answer.text
    assert HEADER not in answer.headers
    assert fakes["openai"].requests[-1].body["max_tokens"] == 128000  # OpenAI accepts or refuses
    answer = await _post(setup, "/v1/messages", {"model": "opus", "max_tokens": 128000, "messages": HI}, ANTHROPIC)
    assert answer.status_code == 200, answer.text
    assert HEADER not in answer.headers
    assert fakes["anthropic"].requests[-1].body["max_tokens"] == 128000


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_a_deployments_own_limit_lowers_an_openai_body_to_a_compatible_server(setup, fakes,
                                                                                    field: str) -> None:
    answer = await _post(setup, "/v1/chat/completions", {"model": "compat", field: 5000, "messages": HI})
    assert answer.status_code == 200, answer.text
    assert answer.headers[HEADER] == "5000->1000"
    assert fakes["openai"].requests[-1].body["max_tokens"] == 1000


async def test_a_cap_within_the_limit_is_left_alone(setup, fakes) -> None:
    answer = await _post(setup, "/v1/chat/completions", {"model": "opus", "max_tokens": 500, "messages": HI})
    assert answer.status_code == 200, answer.text
    assert HEADER not in answer.headers
    assert fakes["anthropic"].requests[-1].body["max_tokens"] == 500


async def test_the_cap_is_that_of_the_deployment_that_answers(setup, fakes) -> None:
    answer = await _post(setup, "/v1/chat/completions", {"model": "failover", "max_tokens": 100000, "messages": HI})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-llm-router-deployment"] == "opus"
    assert answer.headers[HEADER] == "100000->32000"  # opus's limit, not gpt-4.1's 32768
    assert fakes["anthropic"].requests[-1].body["max_tokens"] == 32000


@pytest.mark.parametrize(("model", "limit"), [
    ("gpt-4o", 16384), ("gpt-4o-mini-2024-07-18", 16384), ("gpt-4.1-nano", 32768), ("gpt-5.1", None),
    ("claude-opus-4-20250514", 32000), ("claude-opus-4-5-20251101", 64000), ("claude-opus-4-6", 128000),
    ("claude-sonnet-4@20250514", 64000), ("us.anthropic.claude-sonnet-4-20250514-v1:0", 64000),
    ("anthropic/claude-haiku-4-5", 64000), ("models/gemini-2.5-pro", 65536), ("command-a-03-2025", 8000),
    ("command-a-reasoning-08-2025", 32000), ("smollm2", None)])
def test_the_table_matches_like_the_price_table(model: str, limit: int | None) -> None:
    assert known_limit(model) == limit


def test_other_requests_pass_unchanged() -> None:
    deployment = Deployment("d", "anthropic", "claude-opus-4-1", "http://x",
                            options=DeploymentOptions(max_output_tokens=10))
    request = ChatRequest("m", (Message("user", "hi"),), max_tokens=99)
    assert capped(deployment, request).max_tokens == 10
    assert capped(deployment, "not a chat request") == "not a chat request"
    native = ChatRequest("m", (Message("user", "hi"),), max_tokens=99,
                         origin=WireBody("anthropic", json.loads('{"max_tokens": 99}')))
    assert capped(deployment, native) is native
