"""Mid-stream resume through the real app: a stream cut (or stalled, or failed in-band) after
N events on deployment A goes on on deployment B; the client sees one answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.cache.helpers import records, text_of, until
from tests.conftest import provider_env
from tests.fakes import Reply, ToolCallSpec
from tests.gateway_process import GatewayProcess, run_gateway

CONFIG = """\
deployments:
  openai-a: {provider: openai, model: gpt-a, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}", retries: 0}
  openai-b: {provider: openai, model: gpt-b, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}", retries: 0}
  anthropic-a: {provider: anthropic, model: claude-a, api_key: "${ANTHROPIC_API_KEY}",
                base_url: "${ANTHROPIC_BASE_URL}", retries: 0}
  anthropic-b: {provider: anthropic, model: claude-b, api_key: "${ANTHROPIC_API_KEY}",
                base_url: "${ANTHROPIC_BASE_URL}", retries: 0}
routes:
  to-claude: {deployments: [openai-a, anthropic-b], resume: true}
  to-openai: {deployments: [openai-a, openai-b], resume: true}
  from-claude: {deployments: [anthropic-a, openai-b], resume: true}
  no-resume: {deployments: [openai-a, openai-b]}
settings:
  retries: 0
  timeouts: {total: 10, first_byte: 3, stream_idle: 1}
  cooldown: {failures: 100}
  retry_budget: {ratio: 1.0, minimum: 100}  # continuations count as retries
"""
FIRST = Reply(text="The quick brown fox jumps", cut_after=4)  # role, "The", " quick", " brown"
DELIVERED = "The quick brown"


@pytest.fixture(scope="module")
def gateway(fakes, tmp_path_factory) -> Iterator[GatewayProcess]:
    path: Path = tmp_path_factory.mktemp("resume") / "config.yaml"
    path.write_text(CONFIG)
    with run_gateway(provider_env(fakes), args=("--config", str(path))) as process:
        yield process


def stream(gateway, model, **extra):
    body = {"model": model, "messages": [{"role": "user", "content": "Say the sentence."}], "stream": True,
            "stream_options": {"include_usage": True}, **extra}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=20)


@pytest.mark.parametrize("fault", [FIRST, Reply(text=FIRST.text, inband_error_after=4),
                                   Reply(text=FIRST.text, stall_after=4)],
                         ids=["cut", "inband-error", "idle-timeout"])
def test_a_stream_failing_midway_goes_on_on_claude_with_prefill(gateway, fakes, fault):
    fakes["openai"].enqueue(fault)
    fakes["anthropic"].enqueue(Reply(text=" brown fox jumps over the lazy dog."))
    response = stream(gateway, "to-claude")
    assert response.status_code == 200
    assert text_of(response) == "The quick brown fox jumps over the lazy dog."
    assert response.text.rstrip().endswith(": x-llm-router-resumed: 1")
    assert "data: [DONE]" in response.text and '"error"' not in response.text
    continuation = fakes["anthropic"].requests[0].body
    prefill = continuation["messages"][-1]
    assert prefill["role"] == "assistant" and prefill["content"] == [{"type": "text", "text": DELIVERED}]
    record = until(lambda: records(gateway.log_text(), response.headers["x-request-id"]))[0]
    assert record["resumed"] is True and record["attempts"] == 2 and record["deployment"] == "anthropic-b"
    usage = next(json.loads(line[6:])["usage"] for line in response.text.splitlines()
                 if line.startswith("data: {") and '"usage"' in line)
    assert usage["completion_tokens"] > 7  # both attempts' output


def test_a_provider_without_prefill_is_told_to_continue(gateway, fakes):
    fakes["openai"].enqueue(FIRST, Reply(chunks=[" fox", " jumps", " over."]))
    response = stream(gateway, "to-openai")
    assert text_of(response) == "The quick brown fox jumps over."
    sent = fakes["openai"].requests[1].body["messages"]
    assert sent[-2] == {"role": "assistant", "content": DELIVERED}
    assert sent[-1]["role"] == "user" and "Continue" in sent[-1]["content"]


def test_the_openai_sdk_accumulator_sees_one_complete_message(gateway, fakes):
    fakes["openai"].enqueue(FIRST)
    fakes["anthropic"].enqueue(Reply(text="quick brown fox jumps high."))
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    with client.chat.completions.stream(model="to-claude", messages=[{"role": "user", "content": "x"}]) as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    assert final.choices[0].message.content == "The quick brown fox jumps high."
    assert final.choices[0].finish_reason == "stop"


def test_the_anthropic_sdk_accumulator_sees_one_complete_message(gateway, fakes):
    fakes["anthropic"].enqueue(Reply(text="One two three four five six", cut_after=6))
    fakes["openai"].enqueue(Reply(text=" three four five six."))
    client = anthropic.Anthropic(base_url=gateway.url, api_key="x", max_retries=0)
    with client.messages.stream(model="from-claude", max_tokens=100,
                                messages=[{"role": "user", "content": "count"}]) as s:
        for _ in s:
            pass
        message = s.get_final_message()
    delivered = fakes["openai"].requests[0].body["messages"][-2]["content"]
    assert delivered and "One two three four five six".startswith(delivered)
    assert message.content[0].text == "One two three four five six."
    assert message.stop_reason == "end_turn"


def test_the_chat_surface_resumes(gateway, fakes):
    fakes["openai"].enqueue(FIRST)
    fakes["anthropic"].enqueue(Reply(text=" fox jumps."))
    response = httpx.post(gateway.url + "/chat/", json={"message": "x", "chat_model_name": "to-claude",
                                                        "stream": True},
                          headers={"accept": "text/event-stream"}, timeout=20)
    deltas = [json.loads(line[6:])["delta"] for line in response.text.splitlines()
              if line.startswith("data: ") and '"delta"' in line]
    assert "".join(deltas) == "The quick brown fox jumps."
    assert "event: done" in response.text and "x-llm-router-resumed" in response.text


def test_tool_call_deltas_in_flight_are_not_resumed(gateway, fakes):
    fakes["openai"].enqueue(Reply(text="", tool_calls=[ToolCallSpec("c1", "lookup", '{"city": "Paris"}')],
                                  cut_after=3))
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    response = stream(gateway, "to-claude", tools=tools)
    assert '"error"' in response.text and "x-llm-router-resumed" not in response.text
    assert len(fakes["anthropic"].requests) == 0


def test_a_route_without_resume_keeps_the_explicit_error(gateway, fakes):
    fakes["openai"].enqueue(FIRST)
    response = stream(gateway, "no-resume")
    assert '"error"' in response.text and "[DONE]" not in response.text
    assert len(fakes["openai"].requests) == 1


def test_when_the_continuation_fails_too_the_error_stays(gateway, fakes):
    fakes["openai"].enqueue(FIRST)
    fakes["anthropic"].enqueue(Reply(status=500))
    response = stream(gateway, "to-claude")
    assert text_of(response) == DELIVERED
    assert '"error"' in response.text and "x-llm-router-resumed" not in response.text
