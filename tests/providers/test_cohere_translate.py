"""Cohere Chat v2 translation, against recorded payloads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm_router.errors import InvalidRequest
from llm_router.messages import Tool, ToolChoice, Usage
from llm_router.providers.cohere import translate
from tests.providers.helpers import RICH_REQUEST, load_json, run_stream


def test_request_body() -> None:
    body = translate.request_to_body(replace(RICH_REQUEST, tools=(), tool_choice=None), stream=True)
    assert body["response_format"]["type"] == "json_object"
    assert body["response_format"]["json_schema"]["properties"] == {"a": {"type": "string"}}
    body = translate.request_to_body(RICH_REQUEST, stream=True)
    # Cohere refuses response_format with tools: the schema becomes an instruction.
    assert "response_format" not in body
    assert body["messages"][0]["content"].startswith("Be terse.\n\n" + translate.FORMAT_INSTRUCTION)
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert body["messages"][1]["content"][1]["type"] == "image_url"
    assert body["messages"][3] == {"role": "tool", "content": "18C and sunny", "tool_call_id": "call_1"}
    assert body["p"] == 0.9 and body["stop_sequences"] == ["END"] and body["max_tokens"] == 300
    assert body["tool_choice"] == "REQUIRED"
    assert body["stream"] is True


def test_named_tool_choice_only_when_it_is_the_only_tool() -> None:
    one = replace(RICH_REQUEST, tool_choice=ToolChoice("function", "get_weather"))
    assert translate.request_to_body(one, stream=False)["tool_choice"] == "REQUIRED"
    two = replace(one, tools=(*one.tools, Tool("other")))
    with pytest.raises(InvalidRequest):
        translate.request_to_body(two, stream=False)


def test_response_with_tool_call_uses_billed_units() -> None:
    response = translate.response_from_body(load_json("cohere/response_tool_call.json"))
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls[0].arguments == '{"day": "2023-09-29"}'
    assert response.usage == Usage(127, 69, 12)


def test_text_stream() -> None:
    out = run_stream(translate.CohereStreamTranslator("command-a"), "cohere/stream_text.sse")
    assert out.text == "LLMs are neat"
    assert out.final is not None and out.final.finish_reason == "length"
    assert out.final.usage == Usage(5, 26, 0)


def test_tool_call_stream() -> None:
    out = run_stream(translate.CohereStreamTranslator(), "cohere/stream_tool_call.sse", piece=4)
    assert out.calls == {0: {"id": "query_daily_sales_report_j3f0adww9pmr",
                             "name": "query_daily_sales_report", "arguments": '{"day": "2023-09-29"}'}}
    assert out.final is not None and out.final.finish_reason == "tool_calls"
