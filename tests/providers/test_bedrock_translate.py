"""Bedrock Converse translation, against recorded payload shapes (binary frames decoded by botocore)."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest
from botocore.eventstream import EventStreamBuffer

from llm_router.errors import InvalidRequest, UpstreamBadRequest, UpstreamRateLimited, UpstreamServerError
from llm_router.messages import ChatChunk, ChatRequest, ImagePart, Message, ResponseFormat, ToolChoice, Usage
from llm_router.providers.bedrock import translate
from tests.providers.helpers import PAYLOADS, RICH_REQUEST, load_json


def frames(name: str, piece: int = 7) -> tuple[translate.BedrockStreamTranslator, list[ChatChunk], list[str]]:
    raw = (PAYLOADS / "bedrock" / name).read_bytes()
    buffer, translator, chunks, kinds = EventStreamBuffer(), translate.BedrockStreamTranslator(), [], []
    for start in range(0, len(raw), piece):
        buffer.add_data(raw[start:start + piece])
        for message in buffer:
            kinds.append(message.headers[":message-type"])
            if message.headers[":message-type"] == "event":
                chunks += translator.feed_event(message.headers[":event-type"], message.payload)
    return translator, chunks, kinds


def test_request_shape() -> None:
    body = translate.request_to_body(RICH_REQUEST)
    assert body["system"] == [{"text": "Be terse."}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"][1] == {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
    assert body["messages"][1]["content"] == [
        {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}}]
    result, text = body["messages"][2]["content"]
    assert result == {"toolResult": {"toolUseId": "call_1", "content": [{"text": "18C and sunny"}], "status": "success"}}
    assert text == {"text": "Thanks. Summarise."}
    assert body["inferenceConfig"] == {"maxTokens": 300, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}
    tool = body["toolConfig"]["tools"][0]["toolSpec"]
    assert tool["name"] == "get_weather" and tool["inputSchema"]["json"]["required"] == ["city"]
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    schema = body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert orjson.loads(schema["schema"])["properties"] == {"a": {"type": "string"}} and schema["name"] == "answer"


def test_tool_choice_variants_and_json_results() -> None:
    named = translate.request_to_body(replace(RICH_REQUEST, tool_choice=ToolChoice("function", "get_weather")))
    assert named["toolConfig"]["toolChoice"] == {"tool": {"name": "get_weather"}}
    plain = ChatRequest("m", (Message("user", "hi"),), tools=RICH_REQUEST.tools, tool_choice=ToolChoice("none"))
    assert "toolConfig" not in translate.request_to_body(plain)
    history = replace(RICH_REQUEST, tool_choice=ToolChoice("none"),
                      messages=(*RICH_REQUEST.messages[:3], Message("tool", '{"t": 18}', tool_call_id="call_1")))
    body = translate.request_to_body(history)
    assert "toolConfig" in body  # Converse needs it once the history holds tool blocks
    assert body["messages"][-1]["content"][0]["toolResult"]["content"] == [{"json": {"t": 18}}]


def test_reasoning_effort_and_top_k() -> None:
    request = ChatRequest("us.anthropic.claude-sonnet-4-5-20250929-v1:0", (Message("user", "hi"),), max_tokens=100,
                          extra={"reasoning_effort": "low", "top_k": 40})
    body = translate.request_to_body(request)
    assert body["additionalModelRequestFields"] == {"top_k": 40, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert body["inferenceConfig"]["maxTokens"] == 2048 + 100  # the budget on top of the answer's cap
    with pytest.raises(InvalidRequest):
        translate.request_to_body(replace(request, model="amazon.nova-micro-v1:0"))
    forced = replace(request, tools=RICH_REQUEST.tools, tool_choice=ToolChoice("required"))
    assert "thinking" not in translate.request_to_body(forced)["additionalModelRequestFields"]  # as on Anthropic


def test_unsupported_parameters_and_images() -> None:
    base = ChatRequest("m", (Message("user", "hi"),))
    for change, param in (({"n": 2}, "n"), ({"seed": 1}, "seed"), ({"extra": {"logprobs": True}}, "logprobs"),
                          ({"parallel_tool_calls": False}, "parallel_tool_calls")):
        with pytest.raises(InvalidRequest) as raised:
            translate.request_to_body(replace(base, **change))  # type: ignore[arg-type]
        assert raised.value.param == param
        translate.request_to_body(replace(base, **change), drop_unsupported=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="base64 data: URLs"):
        translate.request_to_body(replace(base, messages=(Message("user", (ImagePart("https://x/y.png"),)),)))
    json_mode = translate.request_to_body(replace(base, response_format=ResponseFormat("json_object")))
    assert json_mode["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"] == '{"type":"object"}'


def test_response_with_reasoning_text_and_tool_use() -> None:
    response = translate.response_from_body(load_json("bedrock/response_tool_use.json"))
    assert response.text == "21" and response.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [("tooluse_1", "calc", '{"x":1}')]
    assert response.usage == Usage(2 + 1322, 5, 0)
    assert (response.reasoning, response.reasoning_signature) == ("hmm", "Eu4C")


@pytest.mark.parametrize("piece", [1, 13, 4096])
def test_stream_text(piece: int) -> None:
    translator, chunks, _ = frames("stream_text.bin", piece)
    assert "".join(c.text for c in chunks) == "The capital of France is Paris."
    assert translator.done and chunks[-1].finish_reason == "stop" and chunks[-1].usage == Usage(13, 82, 0)


def test_stream_tool_use_and_cache_usage() -> None:
    _, chunks, _ = frames("stream_tool_use.bin")
    calls = [d for c in chunks for d in c.tool_calls]
    assert calls[0].id == "tooluse_lAG_zP8QRHmSYOwZzzaCqA" and calls[0].name == "get_temperature"
    assert "".join(d.arguments for d in calls) == '{"city":"Paris"}' and {d.index for d in calls} == {0}
    assert chunks[-1].finish_reason == "tool_calls" and chunks[-1].usage == Usage(1420, 50, 1000)


def test_stream_reasoning_is_reasoning_not_answer_text() -> None:
    _, chunks, _ = frames("stream_thinking.bin")
    assert "".join(c.text for c in chunks) == "Paris." and chunks[-1].finish_reason == "length"
    assert "".join(c.reasoning for c in chunks) == "The user asks"
    assert "".join(c.reasoning_signature for c in chunks) == "Eu0CCkgI"


def test_stream_exception_frame_and_classes() -> None:
    _, chunks, kinds = frames("stream_exception.bin")
    assert kinds == ["event", "event", "exception"] and chunks[0].text == "The"
    assert isinstance(translate.stream_exception("bedrock", "throttlingException", "slow"), UpstreamRateLimited)
    assert isinstance(translate.stream_exception("bedrock", "validationException", "bad"), UpstreamBadRequest)
    error = translate.stream_exception("bedrock", "modelStreamErrorException", "")
    assert isinstance(error, UpstreamServerError) and error.retryable


def test_unreadable_events_are_counted() -> None:
    translator = translate.BedrockStreamTranslator()
    assert translator.feed_event("contentBlockDelta", b'{"delta":') == []
    assert translator.feed_event("contentBlockDelta", b'{"delta": 3}') == []
    assert translator.feed_event("unknownEvent", b"{}") == [] and translator.skipped == 2


def test_error_names() -> None:
    assert translate.error_type("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", None) == \
        "ThrottlingException"
    assert translate.error_type(None, {"__type": "com.amazon#ValidationException"}) == "ValidationException"
    assert translate.error_message({"Message": "x"}) == "x"
