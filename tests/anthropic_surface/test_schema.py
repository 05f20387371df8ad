"""The Messages request decoded into the canonical request: what maps, what is dropped and listed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_router.api.anthropic_decode import decode
from llm_router.api.anthropic_schema import parse_count, parse_messages
from llm_router.errors import InvalidRequest
from llm_router.messages import ImagePart, Reasoning, TextPart, ToolCall, ToolChoice


def _decode(body: dict[str, Any], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    raw = json.dumps(body).encode()
    return decode(parse_messages(raw), raw, headers or {})


BASE = {"model": "claude-sonnet-4-5", "max_tokens": 100}


def test_system_blocks_multi_turn_and_sampling() -> None:
    decoded = _decode({**BASE, "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                                          {"type": "text", "text": "Be kind."}],
                       "messages": [{"role": "user", "content": "Hi"},
                                    {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
                                    {"role": "user", "content": [{"type": "text", "text": "Again"}]}],
                       "temperature": 0.5, "top_p": 0.9, "stop_sequences": ["END"],
                       "metadata": {"user_id": "u-1"}})
    req = decoded.request
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "user"]
    assert req.messages[0].content == "Be brief.\n\nBe kind."
    assert req.messages[2].content == "Hello"
    assert req.messages[3].content == (TextPart("Again"),)
    assert (req.temperature, req.top_p, req.max_tokens, req.stop, req.user) == (0.5, 0.9, 100, ("END",), "u-1")
    assert decoded.dropped == ("cache_control",)


def test_images_base64_and_url() -> None:
    decoded = _decode({**BASE, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "text", "text": "What?"}]}]})
    assert decoded.request.messages[0].content == (
        ImagePart("data:image/png;base64,AAAA"), ImagePart("https://example.com/a.png"), TextPart("What?"))


def test_tool_round_trip_blocks() -> None:
    decoded = _decode({**BASE, "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "22C", "cache_control": {"type": "ephemeral"}},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "boom"}],
             "is_error": True},
            {"type": "text", "text": "Thanks"}]}],
        "tools": [{"name": "get_weather", "description": "d", "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {}}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}})
    req = decoded.request
    assert [m.role for m in req.messages] == ["user", "assistant", "tool", "tool", "user"]
    assistant = req.messages[1]
    assert assistant.content == "Checking."
    assert assistant.tool_calls == (ToolCall("toolu_1", "get_weather", '{"city":"Paris"}'),)
    assert (req.messages[2].tool_call_id, req.messages[2].content) == ("toolu_1", "22C")
    assert req.messages[3].content == (TextPart("Error: "), TextPart("boom"))
    assert req.messages[4].content == (TextPart("Thanks"),)
    assert [t.name for t in req.tools] == ["get_weather"]
    assert req.tools[0].parameters == {"type": "object", "properties": {}}
    assert req.tool_choice == ToolChoice("function", "get_weather")
    assert req.parallel_tool_calls is False
    assert set(decoded.dropped) == {"thinking_blocks", "cache_control", "tools.web_search"}


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, ToolChoice("auto")), ({"type": "any"}, ToolChoice("required")),
    ({"type": "none"}, ToolChoice("none"))])
def test_tool_choice(choice: dict[str, Any], expected: ToolChoice) -> None:
    decoded = _decode({**BASE, "messages": [{"role": "user", "content": "x"}], "tool_choice": choice,
                       "tools": [{"name": "t", "input_schema": {"type": "object"}}]})
    assert decoded.request.tool_choice == expected
    assert decoded.request.parallel_tool_calls is None


def test_claude_code_extras_are_listed_and_origin_kept() -> None:
    body = {**BASE, "max_tokens": 128000, "messages": [
        {"role": "user", "content": "hi"}, {"role": "system", "content": "mid-conversation rule"}],
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
        "context_management": {"edits": []}, "metadata": {"user_id": json.dumps({"session": "s"})},
        "top_k": 5}
    headers = {"anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
               "anthropic-version": "2023-06-01", "x-api-key": "secret"}
    raw = json.dumps(body).encode()
    decoded = decode(parse_messages(raw), raw, headers)
    req = decoded.request
    assert req.messages[1].role == "system" and req.messages[1].content == "mid-conversation rule"
    assert req.max_tokens == 128000
    assert set(decoded.dropped) == {"context_management", "top_k"}
    assert req.reasoning == Reasoning("high")  # adaptive: the level of output_config.effort
    assert decoded.with_thinking == ("thinking", "output_config.effort")  # lost where thinking is
    assert req.origin is not None and req.origin.format == "anthropic"
    assert req.origin.raw == raw and req.origin.body == body
    assert req.origin.headers == {"anthropic-beta": headers["anthropic-beta"], "anthropic-version": "2023-06-01"}


def test_output_config_format_becomes_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    decoded = _decode({**BASE, "messages": [{"role": "user", "content": "x"}],
                       "output_config": {"format": {"type": "json_schema", "schema": schema}}})
    fmt = decoded.request.response_format
    assert fmt is not None and fmt.type == "json_schema" and fmt.schema == schema
    assert decoded.dropped == ()


def test_documents() -> None:
    decoded = _decode({**BASE, "messages": [{"role": "user", "content": [
        {"type": "document", "title": "Notes", "source": {"type": "text", "media_type": "text/plain", "data": "abc"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}]}]})
    assert decoded.request.messages[0].content == (TextPart("Notes\n\nabc"),)
    assert decoded.dropped == ("document.source.base64",)


@pytest.mark.parametrize(("body", "field"), [
    ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
    ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "temperature": 3}, "temperature"),
])
def test_invalid_bodies_are_400_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_messages(json.dumps(body).encode())
    assert info.value.status == 400
    assert info.value.param == field


def test_unreadable_json_is_400() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_messages(b"{nope")
    assert info.value.status == 400


def test_count_tokens_body_needs_no_max_tokens() -> None:
    raw = json.dumps({"model": "m", "system": "s", "messages": [{"role": "user", "content": "x"}],
                      "tools": [{"name": "t", "input_schema": {"type": "object"}}]}).encode()
    decoded = decode(parse_count(raw), raw, {})
    assert decoded.request.max_tokens is None
    assert [m.role for m in decoded.request.messages] == ["system", "user"]
    assert decoded.request.tools[0].name == "t"
