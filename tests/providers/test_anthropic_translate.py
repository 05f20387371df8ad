"""Anthropic Messages translation, against recorded payloads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm_router.errors import InvalidRequest, UpstreamServerError
from llm_router.messages import ChatRequest, Message, ToolChoice, Usage
from llm_router.providers.anthropic import translate
from tests.providers.helpers import RICH_REQUEST, load_json, run_stream


def test_request_hoists_system_and_maps_tools() -> None:
    body = translate.request_to_body(RICH_REQUEST, stream=True)
    assert body["system"] == "Be terse."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    image = body["messages"][0]["content"][1]
    assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}]
    result, text = body["messages"][2]["content"]
    assert result == {"type": "tool_result", "tool_use_id": "call_1", "content": "18C and sunny"}
    assert text == {"type": "text", "text": "Thanks. Summarise."}
    assert body["tools"][0]["input_schema"]["required"] == ["city"]
    assert body["tool_choice"] == {"type": "any"}
    assert body["stop_sequences"] == ["END"] and body["max_tokens"] == 300
    assert body["output_config"]["format"]["type"] == "json_schema"


def test_max_tokens_default_and_named_tool_choice() -> None:
    request = replace(RICH_REQUEST, max_tokens=None, tool_choice=ToolChoice("function", "get_weather"),
                      parallel_tool_calls=False)
    body = translate.request_to_body(request, stream=False)
    assert body["max_tokens"] == translate.DEFAULT_MAX_TOKENS
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    assert "stream" not in body


@pytest.mark.parametrize("field, value", [("n", 2), ("seed", 7)])
def test_unsupported_parameters_are_400_unless_dropped(field: str, value: int) -> None:
    request = replace(ChatRequest("m", (Message("user", "hi"),)), **{field: value})
    with pytest.raises(InvalidRequest) as raised:
        translate.request_to_body(request, stream=False)
    assert raised.value.param == field
    assert field not in translate.request_to_body(request, stream=False, drop_unsupported=True)


def test_response_with_text_and_tool_use_and_cache_usage() -> None:
    response = translate.response_from_body(load_json("anthropic/response_tool_use.json"))
    assert response.text == "I'll check the weather."
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls[0].name == "get_weather"
    assert response.tool_calls[0].arguments == '{"location":"Paris"}'
    assert response.usage == Usage(377 + 20 + 100, 65, 100)


def test_stream_with_tool_use() -> None:
    out = run_stream(translate.AnthropicStreamTranslator(), "anthropic/stream_tool_use.sse", piece=5)
    assert out.text == "Hello"
    assert out.calls == {0: {"id": "toolu_01", "name": "get_weather", "arguments": '{"location": "Paris"}'}}
    assert out.final is not None and out.final.finish_reason == "tool_calls"
    assert out.final.usage == Usage(400, 65, 23)


def test_error_event_raises_retryable_error() -> None:
    with pytest.raises(UpstreamServerError) as raised:
        run_stream(translate.AnthropicStreamTranslator(), "anthropic/stream_error_after_start.sse")
    assert raised.value.upstream_type == "overloaded_error"
