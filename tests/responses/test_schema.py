"""Decoding Responses bodies into canonical requests (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from llm_router.api.responses_schema import decode, parse_request
from llm_router.errors import InvalidRequest
from llm_router.messages import ImagePart, Reasoning, TextPart, ToolCall

PAYLOADS = Path(__file__).parent / "payloads"


def decoded(body: dict):
    return decode(parse_request(orjson.dumps(body)), body)


def test_string_input_and_instructions():
    d = decoded({"model": "m", "input": "Hi", "instructions": "Be terse.", "max_output_tokens": 20})
    assert [(m.role, m.content) for m in d.request.messages] == [("system", "Be terse."), ("user", "Hi")]
    assert d.request.max_tokens == 20 and d.dropped == () and d.blocker is None
    assert d.request.origin.format == "openai-responses"


def test_items_become_one_conversation():
    d = decoded({"model": "m", "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Rules"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Look"},
                                     {"type": "input_image", "image_url": "data:image/png;base64,AAAA",
                                      "detail": "auto"}]},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "call_2", "name": "g", "arguments": "{\"a\":1}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "one"},
        {"type": "function_call_output", "call_id": "call_2",
         "output": [{"type": "input_text", "text": "two"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
    ]})
    roles = [m.role for m in d.request.messages]
    assert roles == ["system", "user", "assistant", "tool", "tool"]
    user = d.request.messages[1]
    assert user.content == (TextPart("Look"), ImagePart("data:image/png;base64,AAAA", "auto"))
    assistant = d.request.messages[2]
    assert assistant.content == "Checking."
    assert assistant.tool_calls == (ToolCall("call_1", "f", "{}"), ToolCall("call_2", "g", '{"a":1}'))
    assert d.request.messages[4].content == "two" and d.request.messages[4].tool_call_id == "call_2"
    assert d.dropped == ("input.reasoning",)


def test_hosted_tools_are_dropped_not_refused():
    d = decoded({"model": "m", "input": "x", "tools": [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False},
        {"type": "web_search"}, {"type": "namespace", "name": "ns", "tools": []}]})
    assert [t.name for t in d.request.tools] == ["f"]
    assert d.dropped == ("tools.namespace", "tools.web_search") and d.blocker is None


def test_forcing_a_hosted_tool_blocks_translation_only():
    d = decoded({"model": "m", "input": "x", "tools": [{"type": "web_search"}],
                 "tool_choice": {"type": "web_search_preview"}})
    assert d.blocker is not None and d.blocker.param == "tool_choice"


def test_json_schema_format():
    d = decoded({"model": "m", "input": "x", "text": {"format": {
        "type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": True}}})
    fmt = d.request.response_format
    assert (fmt.type, fmt.name, fmt.schema, fmt.strict) == ("json_schema", "w", {"type": "object"}, True)


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "m"}, "input"),
    ({"model": "m", "input": "x", "temperature": 3}, "temperature"),
    ({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
    ({"model": "m", "input": [{"content": "no role"}]}, "input[0]"),
    ({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
    ({"model": "m", "input": "x", "api_key": "sk-x"}, "api_key"),
])
def test_bad_bodies_name_the_parameter(body, param):
    with pytest.raises(InvalidRequest) as info:
        decoded(body)
    assert info.value.param == param and info.value.status == 400


def test_recorded_codex_turn_decodes():
    body = json.loads((PAYLOADS / "codex_turn1.json").read_text())
    d = decoded(body)
    assert d.blocker is None
    assert {"tools.web_search", "tools.namespace", "include", "prompt_cache_key", "client_metadata"} <= set(d.dropped)
    # Codex asks for reasoning summaries, no effort: nothing to send, nothing lost
    assert d.request.reasoning is None and "reasoning" not in d.dropped
    assert "exec_command" in [t.name for t in d.request.tools]
    assert [m.role for m in d.request.messages] == ["system", "system", "user", "user"]


def test_reasoning_effort_is_the_canonical_reasoning_setting():
    d = decoded({"model": "m", "input": "x", "reasoning": {"effort": "high", "summary": "auto"}})
    assert d.request.reasoning == Reasoning("high")
    assert "reasoning" not in d.dropped  # listed per deployment, only where the model cannot take it


def test_an_unknown_reasoning_effort_is_a_400_naming_it():
    with pytest.raises(InvalidRequest) as info:
        decoded({"model": "m", "input": "x", "reasoning": {"effort": "extreme"}})
    assert info.value.param == "reasoning.effort" and info.value.status == 400
