"""The parameter policy and the reasoning mapping through the real server on /v1/chat/completions:
the dropped-params header, 400s naming the parameter, Anthropic thinking and Cohere thinking back
as ``reasoning_content``, Cohere's ``parallel_tool_calls: false`` and response_format with tools."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llm_router.providers.params import ANTHROPIC_THINKING_BUDGET, DROPPED_HEADER
from tests.conftest import CANARY, TEST_TIMEOUTS
from tests.fakes import Reply, ToolCallSpec
from tests.gateway_process import run_gateway

HI = [{"role": "user", "content": "Hi"}]
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}
TWO_CALLS = [ToolCallSpec("call_a", "lookup", '{"q": "a"}'), ToolCallSpec("call_b", "lookup", '{"q": "b"}')]


def post(gateway: Any, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=10)


def stream(gateway: Any, body: dict[str, Any]) -> tuple[httpx.Headers, list[dict[str, Any]]]:
    frames = []
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json={**body, "stream": True},
                      timeout=10) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                frames.append(json.loads(line[6:]))
        return response.headers, frames


@pytest.mark.parametrize("provider", ["anthropic", "cohere"])
def test_harmless_openai_fields_are_dropped_and_named(gateway: Any, fakes: Any, provider: str) -> None:
    extra = {"store": True, "metadata": {"tag": "x"}, "prompt_cache_key": "k", "verbosity": "low",
             "logprobs": False, "service_tier": "flex", "n": 1}
    response = post(gateway, {"model": provider, "messages": HI, **extra})
    assert response.status_code == 200, response.text
    assert response.headers[DROPPED_HEADER] == ",".join(sorted(extra))
    sent = fakes[provider].requests[-1].body
    assert not set(extra) & set(sent)
    headers, _ = stream(gateway, {"model": provider, "messages": HI, **extra})
    assert headers[DROPPED_HEADER] == ",".join(sorted(extra))


def test_drop_params_deployment_drops_and_names_what_it_would_refuse(fakes: Any, tmp_path: Any) -> None:
    config = tmp_path / "router.yaml"
    config.write_text(f"deployments:\n  lenient:\n    provider: anthropic\n    model: claude-sonnet-4-5\n"
                      f"    base_url: {fakes['anthropic'].base_url}\n    api_key: {CANARY['anthropic']}\n"
                      f"    drop_params: true\n")
    with run_gateway(dict(TEST_TIMEOUTS), ("--config", str(config))) as lenient:
        response = post(lenient, {"model": "lenient", "messages": HI, "logprobs": True, "seed": 3,
                                  "store": True})
    assert response.status_code == 200, response.text
    assert response.headers[DROPPED_HEADER] == "logprobs,seed,store"
    assert not {"logprobs", "seed", "store"} & set(fakes["anthropic"].requests[-1].body)


@pytest.mark.parametrize(("provider", "name", "value"), [
    ("anthropic", "logprobs", True), ("anthropic", "frequency_penalty", 0.4), ("anthropic", "seed", 1),
    ("anthropic", "n", 2), ("cohere", "logit_bias", {"1": 2}), ("cohere", "n", 2),
])
def test_answer_changing_fields_are_refused_naming_them(gateway: Any, fakes: Any, provider: str,
                                                       name: str, value: Any) -> None:
    response = post(gateway, {"model": provider, "messages": HI, name: value})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == name and f"'{name}'" in error["message"]
    assert fakes[provider].requests == []


def test_reasoning_effort_becomes_anthropic_thinking_and_comes_back(gateway: Any, fakes: Any) -> None:
    fakes["anthropic"].enqueue(Reply(text="42.", reasoning="Six times seven."))
    body = {"model": "anthropic", "messages": HI, "reasoning_effort": "low", "max_completion_tokens": 100}
    response = post(gateway, body)
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    assert (message["content"], message["reasoning_content"]) == ("42.", "Six times seven.")
    sent = fakes["anthropic"].requests[-1].body
    budget = ANTHROPIC_THINKING_BUDGET["low"]
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert sent["max_tokens"] == budget + 100
    assert DROPPED_HEADER not in response.headers

    fakes["anthropic"].enqueue(Reply(text="42.", reasoning="Six times seven."))
    _, frames = stream(gateway, body)
    deltas = [f["choices"][0]["delta"] for f in frames if f["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Six times seven."
    assert "".join(d.get("content") or "" for d in deltas) == "42."


def test_multi_turn_with_thinking_keeps_working(gateway: Any, fakes: Any) -> None:
    """The assistant turn comes back without its signed thinking block: the next turn after a
    tool result goes without thinking (Anthropic would refuse it), and says so."""
    messages = [*HI, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "a"}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "found"}]
    response = post(gateway, {"model": "anthropic", "messages": messages, "tools": [TOOL],
                              "reasoning_effort": "high"})
    assert response.status_code == 200, response.text
    assert "thinking" not in fakes["anthropic"].requests[-1].body
    assert response.headers[DROPPED_HEADER] == "reasoning_effort"


def test_cohere_thinking_comes_back_as_reasoning_content(gateway: Any, fakes: Any) -> None:
    fakes["cohere"].enqueue(Reply(text="Yes.", reasoning="Checking."))
    response = post(gateway, {"model": "cohere", "messages": HI})
    assert response.json()["choices"][0]["message"]["reasoning_content"] == "Checking."
    fakes["cohere"].enqueue(Reply(text="Yes.", reasoning="Checking."))
    _, frames = stream(gateway, {"model": "cohere", "messages": HI})
    deltas = [f["choices"][0]["delta"] for f in frames if f["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Checking."


def test_cohere_parallel_tool_calls_false_returns_the_first_call(gateway: Any, fakes: Any) -> None:
    body = {"model": "cohere", "messages": HI, "tools": [TOOL], "parallel_tool_calls": False}
    fakes["cohere"].enqueue(Reply(text="", tool_calls=TWO_CALLS))
    response = post(gateway, body)
    assert response.status_code == 200, response.text
    calls = response.json()["choices"][0]["message"]["tool_calls"]
    assert [c["id"] for c in calls] == ["call_a"]
    fakes["cohere"].enqueue(Reply(text="", tool_calls=TWO_CALLS))
    _, frames = stream(gateway, body)
    ids = {c.get("id") for f in frames if f["choices"] for c in f["choices"][0]["delta"].get("tool_calls", [])}
    assert ids - {None} == {"call_a"}


def test_cohere_response_format_with_tools_is_not_sent_together(gateway: Any, fakes: Any) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "out", "schema": {
        "type": "object", "properties": {"x": {"type": "integer"}}}}}
    fakes["cohere"].enqueue(Reply(text='{"x": 1}'))
    response = post(gateway, {"model": "cohere", "messages": HI, "tools": [TOOL], "response_format": fmt})
    assert response.status_code == 200, response.text
    sent = fakes["cohere"].requests[-1].body
    assert "response_format" not in sent and sent["tools"]
    assert '"x"' in sent["messages"][0]["content"]
