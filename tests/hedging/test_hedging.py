"""Hedged requests through the real app: two fake upstreams with scripted first-byte delays."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.cache.helpers import records, text_of, until
from tests.fakes import FakeOpenAI, Reply, ToolCallSpec
from tests.gateway_process import GatewayProcess, run_gateway

AFTER = 0.3
CONFIG = """\
deployments:
  first: {provider: openai, model: gpt-first, api_key: k1, base_url: "PRIMARY", retries: 0}
  second: {provider: openai, model: gpt-second, api_key: k2, base_url: "SECONDARY", retries: 0}
routes:
  hedged: {deployments: [first, second], hedge: {after_ms: 300}}
  hedged-tools: {deployments: [first, second], hedge: {after_ms: 300, tools: true}}
  plain: {deployments: [first, second]}
settings:
  retries: 0
  timeouts: {total: 10, first_byte: 5, stream_idle: 5}
  retry_budget: {ratio: 1.0, minimum: 100}
"""
TIGHT = CONFIG.replace("{ratio: 1.0, minimum: 100}", "{ratio: 0.1, minimum: 1}")


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    pair = FakeOpenAI(api_key="k1").start(), FakeOpenAI(api_key="k2").start()
    yield pair
    for fake in pair:
        fake.stop()


def configured(upstreams, folder: Path, text: str = CONFIG) -> str:
    primary, secondary = upstreams
    path = folder / "config.yaml"
    path.write_text(text.replace("PRIMARY", primary.base_url).replace("SECONDARY", secondary.base_url))
    return str(path)


@pytest.fixture(scope="module")
def gateway(upstreams, tmp_path_factory) -> Iterator[GatewayProcess]:
    with run_gateway({}, args=("--config", configured(upstreams, tmp_path_factory.mktemp("hedge")))) as process:
        for name in ("first", "second"):  # warm connections: the timings below are the router's own
            assert ask(process, name).status_code == 200
        yield process


@pytest.fixture(autouse=True)
def _reset(upstreams):
    for fake in upstreams:
        fake.reset()


def ask(gateway, model="hedged", stream=False, **extra):
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream, **extra}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=20)


@pytest.mark.parametrize("stream", [False, True])
def test_a_slow_first_attempt_is_hedged_and_the_faster_answer_wins(gateway, upstreams, stream):
    primary, secondary = upstreams
    primary.enqueue(Reply(delay=4, text="slow answer"))
    secondary.enqueue(Reply(text="fast answer"))
    started = time.monotonic()
    response = ask(gateway, stream=stream)
    assert response.status_code == 200
    assert time.monotonic() - started < 1.5
    assert text_of(response) == "fast answer"
    assert response.headers["x-llm-router-deployment"] == "second"
    assert response.headers["x-llm-router-attempts"] == "2"
    (slow,), (fast,) = primary.requests, secondary.requests
    assert AFTER - 0.05 <= fast.received_at - slow.received_at <= AFTER + 0.05
    until(lambda: primary.requests[0].client_closed, seconds=1.0)  # the loser's connection closed
    record = until(lambda: records(gateway.log_text(), response.headers["x-request-id"]))[0]
    assert record["attempts"] == 2 and record["hedge_cancelled_attempts"] == 1
    assert record["possibly_billed_attempts"] == 1 and record["deployment"] == "second"


def test_a_fast_first_attempt_is_not_hedged(gateway, upstreams):
    primary, secondary = upstreams
    primary.enqueue(Reply(delay=0.05, text="quick"))
    response = ask(gateway, stream=True)
    assert text_of(response) == "quick" and response.headers["x-llm-router-attempts"] == "1"
    assert len(secondary.requests) == 0


def test_the_first_to_produce_content_wins_even_if_it_started_first(gateway, upstreams):
    primary, secondary = upstreams
    primary.enqueue(Reply(delay=0.5, text="first after all"))
    secondary.enqueue(Reply(delay=3, text="too late"))
    response = ask(gateway, stream=True)
    assert text_of(response) == "first after all"
    assert response.headers["x-llm-router-deployment"] == "first"
    until(lambda: secondary.requests and secondary.requests[0].client_closed, seconds=1.0)


def test_requests_with_tools_are_not_hedged_unless_the_route_allows_it(gateway, upstreams):
    primary, secondary = upstreams
    tools = [{"type": "function", "function": {"name": "send_email", "parameters": {"type": "object"}}}]
    call = Reply(delay=0.6, tool_calls=[ToolCallSpec("c1", "send_email", "{}")])
    primary.enqueue(call)
    response = ask(gateway, tools=tools)
    assert response.status_code == 200 and response.headers["x-llm-router-deployment"] == "first"
    assert len(secondary.requests) == 0
    primary.enqueue(call)
    response = ask(gateway, "hedged-tools", tools=tools)
    assert response.headers["x-llm-router-deployment"] == "second" and len(secondary.requests) == 1


def test_a_route_without_hedge_waits(gateway, upstreams):
    primary, secondary = upstreams
    primary.enqueue(Reply(delay=0.6, text="patient"))
    assert text_of(ask(gateway, "plain")) == "patient" and len(secondary.requests) == 0


def test_hedges_respect_the_retry_budget_under_a_half_slow_upstream(upstreams, tmp_path):
    """Budget: 1 retry + 10% of the requests in the window. Half the first attempts are slow."""
    primary, secondary = upstreams
    count = 10
    primary.enqueue(*[Reply(delay=0.5 if i % 2 else 0.0, text=f"p{i}") for i in range(count)])
    with run_gateway({}, args=("--config", configured(upstreams, tmp_path, TIGHT))) as tight:
        answers = [ask(tight, stream=True) for _ in range(count)]
    assert all(a.status_code == 200 for a in answers)
    hedges = len(secondary.requests)
    assert 1 <= hedges <= 1 + 0.1 * count  # 5 slow first attempts, at most 2 hedges
    assert len(primary.requests) == count
    assert sum(a.headers["x-llm-router-deployment"] == "second" for a in answers) == hedges


def test_the_openai_sdk_sees_one_answer_from_a_hedged_stream(gateway, upstreams):
    primary, secondary = upstreams
    primary.enqueue(Reply(delay=4))
    secondary.enqueue(Reply(text="Hedged for the SDK."))
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    with client.chat.completions.stream(model="hedged", messages=[{"role": "user", "content": "x"}]) as s:
        for _ in s:
            pass
        assert s.get_final_completion().choices[0].message.content == "Hedged for the SDK."
    assert json.dumps  # keep the import used


@pytest.mark.parametrize("stream", [False, True])
def test_the_chat_and_anthropic_surfaces_are_hedged_too(gateway, upstreams, stream):
    primary, secondary = upstreams
    primary.enqueue(Reply(delay=4, text="slow"), Reply(delay=4, text="slow"))
    secondary.enqueue(Reply(text="fast seed"), Reply(text="fast claude"))
    seed = httpx.post(gateway.url + "/chat/", json={"message": "x", "chat_model_name": "hedged", "stream": stream},
                      timeout=20)
    assert seed.headers["x-llm-router-deployment"] == "second"
    assert "fast seed" in seed.text
    claude = httpx.post(gateway.url + "/v1/messages", json={"model": "hedged", "max_tokens": 50, "stream": stream,
                                                            "messages": [{"role": "user", "content": "x"}]},
                        headers={"anthropic-version": "2023-06-01"}, timeout=20)
    assert claude.headers["x-llm-router-deployment"] == "second"
    assert "fast" in claude.text and "claude" in claude.text
    until(lambda: all(r.client_closed for r in primary.requests), seconds=1.0)
