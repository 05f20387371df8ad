"""``/v1/responses`` edges: what is dropped (and said so), what is refused (and named), and
failures before and after a stream began."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest

from tests.fakes import Reply
from tests.gateway_process import GatewayProcess

CODEX_TURN = json.loads((Path(__file__).parent / "payloads" / "codex_turn1.json").read_text())


def post(gateway: GatewayProcess, body: dict, **kw) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/responses", json=body, timeout=10, **kw)


def events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize("provider", ["anthropic", "cohere"])
def test_recorded_codex_body_is_translated_and_the_drops_are_named(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(text="hi"))
    answer = post(gateway, {**CODEX_TURN, "model": provider})
    assert answer.status_code == 200, answer.text
    dropped = answer.headers["x-llm-router-dropped-params"].split(",")
    assert {"tools.web_search", "tools.namespace", "include", "prompt_cache_key", "client_metadata"} <= set(dropped)
    stream = events(answer.text)
    assert stream[-1]["type"] == "response.completed"
    assert stream[-1]["response"]["store"] is False


def test_reasoning_effort_becomes_each_upstreams_own_setting(gateway, fakes):
    fakes["anthropic"].enqueue(Reply(text="thought"))
    answer = post(gateway, {"model": "anthropic", "input": "why?", "reasoning": {"effort": "high"},
                            "max_output_tokens": 100})
    assert answer.status_code == 200, answer.text
    assert "reasoning" not in answer.headers.get("x-llm-router-dropped-params", "")
    assert answer.json()["reasoning"] == {"effort": "high", "summary": None}  # echoed as OpenAI does
    sent = fakes["anthropic"].requests[-1].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 24576}
    assert sent["max_tokens"] > 24576  # Anthropic wants room for the answer beyond the budget
    fakes["cohere"].enqueue(Reply(text="no thinking here"))  # command-a-03-2025 does not reason
    answer = post(gateway, {"model": "cohere", "input": "why?", "reasoning": {"effort": "high"}})
    assert answer.status_code == 200, answer.text
    assert "reasoning" in answer.headers["x-llm-router-dropped-params"].split(",")
    assert "thinking" not in fakes["cohere"].requests[-1].body


def test_openai_gets_the_codex_body_untouched(gateway, fakes):
    answer = post(gateway, {**CODEX_TURN, "model": "openai/gpt-4.1-mini"})
    assert answer.status_code == 200 and "x-llm-router-dropped-params" not in answer.headers
    sent = fakes["openai"].requests[-1].body
    assert sent == {**CODEX_TURN, "model": "gpt-4.1-mini"}


def test_forcing_a_hosted_tool_is_a_400_only_where_it_cannot_run(gateway, fakes):
    body = {"input": "news?", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}
    refused = post(gateway, {**body, "model": "anthropic"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "tool_choice"
    assert fakes["anthropic"].requests == []
    assert post(gateway, {**body, "model": "openai/gpt-4.1-mini"}).status_code == 200


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "anthropic", "input": "x", "temperature": "hot"}, "temperature"),
    ({"model": "anthropic"}, "input"),
    ({"model": "anthropic", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
     "input[0].call_id"),
    ({"model": "cohere", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
     "input[0].content[0]"),
    ({"model": "cohere", "input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
    ({"model": "anthropic", "input": "x", "base_url": "http://evil"}, "base_url"),
])
def test_bad_input_is_a_400_naming_the_parameter(gateway, body, param):
    answer = post(gateway, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param


def test_upstream_failure_before_the_stream_is_an_http_error(gateway, fakes):
    fakes["anthropic"].enqueue(Reply(status=400, error_message="prompt is too long"))
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="anthropic", input="x", stream=True)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_failure_after_the_stream_began_is_response_failed(gateway, fakes, provider):
    # after some text: created, in_progress, item added, part added, three deltas (OpenAI)
    fakes[provider].enqueue(Reply(text="one two three four five", inband_error_after=7 if provider == "openai" else 4))
    model = "openai/gpt-4.1-mini" if provider == "openai" else provider
    answer = post(gateway, {"model": model, "input": "x", "stream": True})
    stream = events(answer.text)
    assert stream[-1]["type"] == "response.failed"
    assert stream[-1]["response"]["status"] == "failed" and stream[-1]["response"]["error"]["message"]
    assert [e["sequence_number"] for e in stream] == list(range(len(stream)))


@pytest.fixture(scope="module")
def compat_gateway(fakes):
    from tests.conftest import provider_env
    from tests.fakes import FakeOpenAI
    from tests.gateway_process import run_gateway

    server = FakeOpenAI(api_key="sk-compat-Rsp-Zq81").start()
    env = {**provider_env(fakes), "VLLM_BASE_URL": server.base_url, "VLLM_API_KEY": "sk-compat-Rsp-Zq81",
           "LLM_ROUTER_RETRIES": "1"}
    try:
        with run_gateway(env) as process:
            yield process, server
    finally:
        server.stop()


def test_an_openai_compatible_server_gets_chat_completions(compat_gateway):
    gateway, server = compat_gateway
    server.enqueue(Reply(text="from vllm"))
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    response = client.responses.create(model="vllm/qwen3", input="hi", instructions="Be brief.",
                                       tools=[{"type": "web_search"}])
    assert response.output_text == "from vllm"
    sent = server.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"] and "tools" not in sent.body


@pytest.mark.parametrize("stream", [False, True])
def test_pass_through_is_retried(compat_gateway, fakes, stream):
    gateway, _ = compat_gateway
    fakes["openai"].enqueue(Reply(status=503), Reply(text="second try"))
    answer = post(gateway, {"model": "openai/gpt-4.1-mini", "input": "x", "stream": stream})
    assert answer.status_code == 200 and answer.headers["x-llm-router-attempts"] == "2"
    final = events(answer.text)[-1]["response"] if stream else answer.json()
    assert final["output"][0]["content"][0]["text"] == "second try"
    assert [r.path for r in fakes["openai"].requests] == ["/v1/responses", "/v1/responses"]


def test_surfaces_are_in_the_metrics(gateway, fakes):
    post(gateway, {"model": "anthropic", "input": "x"})
    metrics = httpx.get(gateway.url + "/metrics", timeout=5).text
    assert 'surface="responses"' in metrics
