"""Gemini translation, against recorded payload shapes (pure: no I/O)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from llm_router.errors import InvalidRequest, UpstreamServerError
from llm_router.messages import ChatChunk, ChatRequest, Message, ResponseFormat, ToolCall, ToolChoice, Usage
from llm_router.providers.gemini import translate
from llm_router.providers.gemini.stream import GeminiStreamTranslator, JsonLineDecoder
from tests.providers.helpers import PAYLOADS, RICH_REQUEST, load_json


def run(name: str, piece: int = 7) -> tuple[GeminiStreamTranslator, list[ChatChunk]]:
    raw = (PAYLOADS / "gemini" / name).read_bytes()
    decoder, translator, chunks = JsonLineDecoder(), GeminiStreamTranslator(), []
    for start in range(0, len(raw), piece):
        for text in decoder.feed(raw[start:start + piece]):
            chunks += translator.feed_json(text)
    for text in decoder.close():
        chunks += translator.feed_json(text)
    return translator, chunks


def test_request_shape() -> None:
    body = translate.request_to_body(RICH_REQUEST)
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert body["contents"][1]["parts"] == [
        {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}}]
    result, text = body["contents"][2]["parts"]
    assert result == {"functionResponse": {"id": "call_1", "name": "get_weather",
                                           "response": {"result": "18C and sunny"}}}
    assert text == {"text": "Thanks. Summarise."}
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert declaration["parametersJsonSchema"]["required"] == ["city"]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    config = body["generationConfig"]
    assert config["maxOutputTokens"] == 300 and config["stopSequences"] == ["END"]
    assert (config["temperature"], config["topP"]) == (0.2, 0.9)
    assert config["responseMimeType"] == "application/json" and "responseJsonSchema" in config


def test_named_tool_choice_json_mode_and_object_results() -> None:
    request = replace(RICH_REQUEST, tool_choice=ToolChoice("function", "get_weather"),
                      response_format=ResponseFormat("json_object"),
                      messages=(*RICH_REQUEST.messages[:3], Message("tool", '{"temp": 18}', tool_call_id="call_1")))
    body = translate.request_to_body(request)
    assert body["toolConfig"]["functionCallingConfig"] == {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert "responseJsonSchema" not in body["generationConfig"]
    assert body["contents"][-1]["parts"][-1]["functionResponse"]["response"] == {"temp": 18}


@pytest.mark.parametrize(("model", "effort", "expected"), [
    ("gemini-2.5-flash", "low", {"thinkingBudget": 1024, "includeThoughts": True}),
    ("gemini-2.5-flash", "none", {"thinkingBudget": 0}),
    ("models/gemini-3-pro-preview", "high", {"thinkingLevel": "HIGH", "includeThoughts": True}),
])
def test_reasoning_effort_becomes_thinking_config(model: str, effort: str, expected: dict[str, object]) -> None:
    request = ChatRequest(model, (Message("user", "hi"),), extra={"reasoning_effort": effort})
    assert translate.request_to_body(request)["generationConfig"]["thinkingConfig"] == expected


def test_unsupported_and_invalid_parameters() -> None:
    base = ChatRequest("m", (Message("user", "hi"),))
    with pytest.raises(InvalidRequest) as raised:
        translate.request_to_body(replace(base, n=2))
    assert raised.value.param == "n"
    with pytest.raises(InvalidRequest) as raised:
        translate.request_to_body(replace(base, extra={"logit_bias": {"50256": -100}}))
    assert raised.value.param == "logit_bias" and "Gemini" in raised.value.message
    dropped = translate.request_to_body(replace(base, extra={"logit_bias": {"50256": -100}}), True)
    assert "logit_bias" not in str(dropped)
    # what changes nothing in the answer is dropped, not refused (LangChain, the Agents SDK send these)
    harmless = {"store": True, "metadata": {"a": "b"}, "service_tier": "auto", "prompt_cache_key": "k",
                "logprobs": False}
    assert translate.request_to_body(replace(base, user="u1", extra=harmless)) == translate.request_to_body(base)
    with pytest.raises(InvalidRequest):
        translate.request_to_body(replace(base, extra={"reasoning_effort": "max"}))
    with pytest.raises(InvalidRequest):  # a tool result whose call is not in the conversation
        translate.request_to_body(replace(base, messages=(Message("tool", "x", tool_call_id="nope"),)))


def test_thought_signature_round_trips_through_the_call_id() -> None:
    chunks = run("stream_tool_call_signature.sse")[1]
    call = chunks[0].tool_calls[0]
    assert call.id is not None and call.id.endswith("__thought__EpwICpkIAXLI2nx")
    request = ChatRequest("gemini-3-pro-preview", (
        Message("user", "capital?"),
        Message("assistant", None, tool_calls=(ToolCall(call.id, "get_capital", '{"country":"France"}'),)),
        Message("tool", "Paris", tool_call_id=call.id)))
    model_turn, result_turn = translate.request_to_body(request)["contents"][1:]
    part = model_turn["parts"][0]
    assert part["thoughtSignature"] == "EpwICpkIAXLI2nx"
    assert part["functionCall"]["id"] == result_turn["parts"][0]["functionResponse"]["id"]
    assert "__thought__" not in orjson.dumps(result_turn).decode()


def test_response_with_text_and_calls() -> None:
    response = translate.response_from_body(load_json("gemini/response_tool_calls.json"))
    assert response.text == "Checking." and response.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", '{"city":"Paris"}'), ("get_time", '{"tz":"CET"}')]
    assert len({c.id for c in response.tool_calls}) == 2
    assert response.usage == Usage(52, 5, 32) and response.model == "gemini-2.0-flash"


def test_safety_blocks_are_content_filter() -> None:
    response = translate.response_from_body(load_json("gemini/response_safety.json"))
    assert (response.text, response.finish_reason, response.usage) == ("", "content_filter", Usage(14, 0, 0))
    blocked = translate.response_from_body({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                                            "usageMetadata": {"promptTokenCount": 3}})
    assert blocked.finish_reason == "content_filter"
    assert translate.finish_reason("MAX_TOKENS", False) == "length"
    assert translate.finish_reason("MALFORMED_FUNCTION_CALL", False) == "error"
    assert translate.finish_reason("LANGUAGE", False) == "other"


@pytest.mark.parametrize("piece", [1, 5, 64, 4096])
def test_stream_text_in_any_split(piece: int) -> None:
    translator, chunks = run("stream_text.sse", piece)
    assert "".join(c.text for c in chunks) == "The capital of France is Paris."
    assert translator.done and chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage == Usage(10, 8, 0) and chunks[-1].id == "1lpeaMTxIpW1nvgP"


def test_stream_call_then_final_chunk_uses_the_last_usage() -> None:
    _, chunks = run("stream_tool_call_signature.sse")
    assert chunks[-1].finish_reason == "tool_calls"
    assert chunks[-1].usage == Usage(257, 125, 200, reasoning_tokens=120)


def test_stream_thoughts_are_reasoning_not_answer_text() -> None:
    _, chunks = run("stream_thinking.sse")
    assert "".join(c.text for c in chunks) == "This is a great question!"
    assert "".join(c.reasoning for c in chunks).startswith("**Clarifying User Goals**")
    assert chunks[-1].usage == Usage(34, 23 + 787, 0, reasoning_tokens=787)


def test_inband_error_after_start_and_unreadable_events_counted() -> None:
    raw = (PAYLOADS / "gemini" / "stream_error_after_start.sse").read_bytes()
    decoder, translator = JsonLineDecoder(), GeminiStreamTranslator()
    texts = decoder.feed(raw) + decoder.close()
    assert translator.feed_json(texts[0])[0].text == "Hel"
    with pytest.raises(UpstreamServerError) as raised:
        translator.feed_json(texts[1])
    assert raised.value.upstream_type == "UNAVAILABLE" and raised.value.retryable
    assert translator.feed_json("{not json") == [] and translator.feed_json("[1]") == []
    assert translator.skipped == 2


def test_errors_from_body() -> None:
    body = {"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT",
                      "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}
    assert translate.error_from_body(body) == ("API_KEY_INVALID", "API key not valid.")
    limited = [{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
                          "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}]}}]
    assert translate.retry_delay(limited) == 30.0 and translate.retry_delay({"x": 1}) is None


def test_translation_is_pure() -> None:
    for name in ("translate.py", "stream.py"):
        source = (Path(translate.__file__).parent / name).read_text()
        for forbidden in ("aiohttp", "current_state", "contextvars", "providers.base", "providers.http"):
            assert forbidden not in source, (name, forbidden)
