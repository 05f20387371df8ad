"""Anthropic → Anthropic is a pass-through; what Claude Code sends works on every provider."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llm_router.api.app import create_app
from tests.anthropic_surface.conftest import MODELS, sdk
from tests.anthropic_surface.fakes import ThinkingReply
from tests.anthropic_surface.sse import accumulate, events
from tests.api.conftest import settings_from
from tests.fakes import Reply, ToolCallSpec

BETA = ("claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
        "fine-grained-tool-streaming-2025-05-14")
CLAUDE = MODELS["anthropic"]


async def _post(env: dict[str, str], raw: bytes, headers: dict[str, str] | None = None,
                path: str = "/v1/messages?beta=true") -> httpx2.Response:
    app = create_app(settings_from(env), None, configure_logging=False)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://router.test") as http:
        return await http.post(path, content=raw, headers={
            "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "k", **(headers or {})})


def claude_code_body(model: str, stream: bool) -> dict[str, Any]:
    """A request shaped like Claude Code's: ~50 KB, cache_control everywhere, a thinking block
    with its signature, a mid-conversation system message, beta-only fields."""
    read_schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                   "properties": {"file_path": {"type": "string"}}, "required": ["file_path"],
                   "additionalProperties": False}
    return {
        "model": model, "max_tokens": 128000, "stream": stream,
        "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                    "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "Instructions. " * 3500, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "tools": [{"name": "Read", "description": "Read a file.", "input_schema": read_schema,
                   "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Read notes.txt", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should read it.", "signature": "EqQBCkYIBxgCKkB+sig/=="},
                {"type": "tool_use", "id": "toolu_01A", "name": "Read", "input": {"file_path": "notes.txt"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "hello"}],
                 "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "What does it say?"}]},
            {"role": "system", "content": "Be concise."}],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "session_id": "5f0c"})},
    }


async def test_the_body_reaches_anthropic_byte_identical(env, upstreams):
    body = claude_code_body(CLAUDE, stream=False)
    # unusual spacing, escaped unicode and key order: a re-serialised body would differ
    raw = json.dumps(body, indent=1, ensure_ascii=True).replace('"max_tokens": 128000', '"max_tokens" :128000').encode()
    upstreams["anthropic"].enqueue(ThinkingReply(text="It says hello."))
    answer = await _post(env, raw, {"anthropic-beta": BETA})
    assert answer.status_code == 200, answer.text
    assert upstreams["anthropic"].raw_bodies[-1] == raw
    received = upstreams["anthropic"].requests[-1]
    assert received.headers["anthropic-beta"] == BETA
    assert received.headers["x-api-key"] != "k"  # our provider key, never the client's
    message = answer.json()
    assert message["id"] == "msg_01fake"  # the upstream's own answer, not re-encoded
    assert message["content"][0] == {"type": "thinking", "thinking": "Let me think about this.",
                                     "signature": "EqQBCkYIBxgCKkBsig+/=="}
    assert answer.headers["request-id"]


async def test_a_new_model_name_replaces_only_the_model(env, upstreams):
    body = {"model": "anthropic/claude-opus-4-8", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}],
            "context_management": {"edits": []}}
    answer = await _post(env, json.dumps(body).encode())
    assert answer.status_code == 200, answer.text
    assert json.loads(upstreams["anthropic"].raw_bodies[-1]) == {**body, "model": "claude-opus-4-8"}


async def test_the_stream_comes_back_as_anthropic_sent_it(env, upstreams):
    upstreams["anthropic"].enqueue(ThinkingReply(text="Streamed answer.", cached_tokens=5, input_tokens=50))
    raw = json.dumps(claude_code_body(CLAUDE, stream=True)).encode()
    answer = await _post(env, raw, {"anthropic-beta": BETA})
    assert answer.status_code == 200, answer.text
    assert upstreams["anthropic"].raw_bodies[-1] == raw
    assert b'data: {"type": "ping"}' in answer.content  # the fake's own spacing survives
    assert b'{"type":"message_stop"}               \n' in answer.content  # and its padding
    message = accumulate(answer.content)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].signature == "EqQBCkYIBxgCKkBsig+/=="  # type: ignore[union-attr]
    assert message.usage.cache_read_input_tokens == 5 and message.usage.input_tokens == 45


@pytest.mark.parametrize("upstream", ["openai", "cohere"])
@pytest.mark.parametrize("stream", [False, True])
async def test_what_claude_code_sends_works_on_other_providers(env, upstreams, upstream, stream):
    fake = upstreams[upstream]
    fake.enqueue(Reply(text="It says hello.", input_tokens=12000))
    raw = json.dumps(claude_code_body(MODELS[upstream], stream)).encode()
    answer = await _post(env, raw, {"anthropic-beta": BETA})
    assert answer.status_code == 200, answer.text
    dropped = answer.headers["x-llm-router-dropped-params"].split(",")
    assert {"cache_control", "thinking_blocks", "thinking", "context_management", "output_config.effort"} <= set(dropped)
    sent = fake.requests[-1]
    assert not any(name.startswith("anthropic-") for name in sent.headers)
    text = json.dumps(sent.body)
    assert "cache_control" not in text and "$schema" not in text and "EqQBCkYIBxgCKkB" not in text
    roles = [m["role"] for m in sent.body["messages"]]
    assert roles[0] == "system" and "tool" in roles
    message = accumulate(answer.content) if stream else answer.json()
    text_blocks = [b for b in (message.model_dump() if stream else message)["content"] if b["type"] == "text"]
    assert text_blocks[0]["text"] == "It says hello."


@pytest.mark.parametrize("upstream", ["openai", "anthropic", "cohere"])
async def test_anthropic_beta_and_version_reach_only_anthropic(env, upstreams, upstream):
    upstreams[upstream].enqueue(Reply(text="ok"))
    async with sdk(env) as client:
        await client.beta.messages.create(model=MODELS[upstream], max_tokens=10, betas=["interleaved-thinking-2025-05-14"],
                                          messages=[{"role": "user", "content": "x"}])
    headers = upstreams[upstream].requests[-1].headers
    if upstream == "anthropic":
        assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
        assert headers["anthropic-version"] == client.default_headers["anthropic-version"]
    else:
        assert not any(name.startswith("anthropic-") for name in headers)


async def test_client_anthropic_version_is_forwarded(env, upstreams):
    body = {"model": CLAUDE, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    answer = await _post(env, json.dumps(body).encode(), {"anthropic-version": "2026-10-21"})
    assert answer.status_code == 200
    assert upstreams["anthropic"].requests[-1].headers["anthropic-version"] == "2026-10-21"


async def test_streamed_tool_input_from_anthropic_passes_through(env, upstreams):
    upstreams["anthropic"].enqueue(Reply(text="", tool_calls=[ToolCallSpec("toolu_9", "Read", '{"file_path": "a.txt"}')]))
    body = {"model": CLAUDE, "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "read a.txt"}],
            "tools": [{"name": "Read", "input_schema": {"type": "object"}}]}
    answer = await _post(env, json.dumps(body).encode())
    names = [n for n, _ in events(answer.content)]
    assert names.count("message_start") == 1 and names[-1] == "message_stop"
    message = accumulate(answer.content)
    assert message.stop_reason == "tool_use"
    assert message.content[0].input == {"file_path": "a.txt"}  # type: ignore[union-attr]
