"""OpenAI Chat Completions translation, against recorded payloads."""

from __future__ import annotations

import pytest

from llm_router.errors import UpstreamServerError
from llm_router.messages import Usage
from llm_router.providers.openai import translate
from llm_router.providers.sse import SSEEvent
from tests.providers.helpers import RICH_REQUEST, load_json, run_stream


def test_request_body_carries_every_field() -> None:
    body = translate.request_to_body(RICH_REQUEST, stream=True)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "user"]
    image = body["messages"][1]["content"][1]
    assert image == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
    assert body["messages"][2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert body["messages"][3]["tool_call_id"] == "call_1"
    assert body["max_completion_tokens"] == 300 and "max_tokens" not in body
    assert body["stop"] == ["END"] and body["temperature"] == 0.2 and body["top_p"] == 0.9
    assert body["tool_choice"] == "required"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "answer"


def test_compatible_servers_get_max_tokens() -> None:
    body = translate.request_to_body(RICH_REQUEST, stream=False, max_tokens_field="max_tokens")
    assert body["max_tokens"] == 300 and "stream" not in body


def test_response_with_parallel_tool_calls() -> None:
    response = translate.response_from_body(load_json("openai/response_tool_calls.json"))
    assert response.finish_reason == "tool_calls"
    assert [c.name for c in response.tool_calls] == ["get_weather", "get_time"]
    assert response.tool_calls[0].arguments == '{"location":"Boston, MA"}'
    assert response.usage == Usage(82, 17, 64)
    assert response.text == ""


def test_text_stream_with_late_usage() -> None:
    out = run_stream(translate.OpenAIStreamTranslator(), "openai/stream_text.sse")
    assert out.text == "Hello there"
    assert out.final is not None
    assert out.final.finish_reason == "length"
    assert out.final.usage == Usage(14, 30, 4)


def test_tool_call_stream_keeps_index_and_id() -> None:
    out = run_stream(translate.OpenAIStreamTranslator(), "openai/stream_tool_calls.sse", piece=3)
    assert out.calls == {
        0: {"id": "call_c91S", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        1: {"id": "call_d02T", "name": "get_time", "arguments": "{}"},
    }
    assert out.final is not None and out.final.finish_reason == "tool_calls"
    assert out.final.usage == Usage(50, 20, 0)


def test_in_band_error_raises() -> None:
    translator = translate.OpenAIStreamTranslator()
    with pytest.raises(UpstreamServerError):
        translator.feed(SSEEvent('{"error": {"message": "boom", "type": "server_error"}}'))


def test_broken_json_event_is_skipped() -> None:
    translator = translate.OpenAIStreamTranslator()
    assert translator.feed(SSEEvent('{"id": "x", "choices": [')) == []
    assert not translator.done
