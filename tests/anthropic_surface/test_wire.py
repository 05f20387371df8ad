"""The pure encoders: message JSON, and SSE events the SDK rebuilds into the same message."""

from __future__ import annotations

import json

from anthropic.types import Message

from llm_router.api import anthropic_wire
from llm_router.messages import ChatChunk, ChatResponse, ToolCall, ToolCallDelta, Usage
from tests.anthropic_surface.sse import accumulate, events

USAGE = Usage(input_tokens=30, output_tokens=9, cached_input_tokens=10)


def _message(response: ChatResponse) -> Message:
    return Message.model_validate(json.loads(anthropic_wire.message(response, "msg_1", "gpt-x", 5)))


def _stream(chunks: list[ChatChunk], estimate: int = 5) -> bytes:
    encoder = anthropic_wire.StreamEncoder("msg_1", "gpt-x", estimate)
    return b"".join(encoder.encode(c) for c in chunks)


def test_message_text_and_usage() -> None:
    msg = _message(ChatResponse("r", "gpt-x", "Hi.", "stop", USAGE))
    assert [b.type for b in msg.content] == ["text"]
    assert msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens, msg.usage.output_tokens) == (20, 10, 9)


def test_stop_reasons() -> None:
    for finish, expected in (("length", "max_tokens"), ("content_filter", "refusal"), ("tool_calls", "tool_use"),
                             ("error", "end_turn")):
        assert _message(ChatResponse("r", "m", "x", finish, USAGE)).stop_reason == expected  # type: ignore[arg-type]
    with_tools = ChatResponse("r", "m", "", "stop", USAGE, (ToolCall("c1", "f", "{}"),))
    assert _message(with_tools).stop_reason == "tool_use"


def test_stream_rebuilds_the_same_message_with_thinking_text_and_tools() -> None:
    chunks = [
        ChatChunk(reasoning="Let me "), ChatChunk(reasoning="think.", reasoning_signature="SIG"),
        ChatChunk(text="I'll "), ChatChunk(text="check."),
        ChatChunk(tool_calls=(ToolCallDelta(0, "call_a", "get_weather", ""),)),
        ChatChunk(tool_calls=(ToolCallDelta(0, arguments='{"city": '),)),
        ChatChunk(tool_calls=(ToolCallDelta(0, arguments='"Paris"}'),)),
        ChatChunk(tool_calls=(ToolCallDelta(1, "call_b", "get_time", '{"tz": "CET"}'),)),
        ChatChunk(finish_reason="tool_calls", usage=USAGE),
    ]
    data = _stream(chunks)
    names = [name for name, _ in events(data)]
    assert names.count("message_start") == 1 and names[-1] == "message_stop" and "ping" in names
    starts = [(d["index"], d["content_block"]["type"]) for n, d in events(data) if n == "content_block_start"]
    assert starts == [(0, "thinking"), (1, "text"), (2, "tool_use"), (3, "tool_use")]
    streamed = accumulate(data)
    whole = _message(ChatResponse("r", "gpt-x", "I'll check.", "tool_calls", USAGE,
                                  (ToolCall("call_a", "get_weather", '{"city": "Paris"}'),
                                   ToolCall("call_b", "get_time", '{"tz": "CET"}')),
                                  reasoning="Let me think.", reasoning_signature="SIG"))
    assert streamed.model_dump(exclude={"id"}) == whole.model_dump(exclude={"id"})
    assert streamed.content[2].input == {"city": "Paris"}  # type: ignore[union-attr]


def test_message_start_input_tokens_is_the_estimate_never_zero() -> None:
    data = _stream([ChatChunk(text="a"), ChatChunk(finish_reason="stop", usage=USAGE)], estimate=0)
    start = events(data)[0][1]
    assert start["message"]["usage"]["input_tokens"] == 1
    data = _stream([ChatChunk(text="a"), ChatChunk(finish_reason="stop", usage=USAGE)], estimate=42)
    assert events(data)[0][1]["message"]["usage"]["input_tokens"] == 42
    final = next(d for n, d in events(data) if n == "message_delta")
    assert final["usage"] == {"input_tokens": 20, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 10, "output_tokens": 9}
    assert accumulate(data).usage.input_tokens == 20


def test_text_after_a_tool_call_opens_a_new_block() -> None:
    data = _stream([ChatChunk(text="a"), ChatChunk(tool_calls=(ToolCallDelta(0, "c", "f", "{}"),)),
                    ChatChunk(text="b"), ChatChunk(finish_reason="stop", usage=USAGE)])
    msg = accumulate(data)
    assert [b.type for b in msg.content] == ["text", "tool_use", "text"]
    assert msg.stop_reason == "tool_use"


def test_error_event_has_no_message_stop() -> None:
    encoder = anthropic_wire.StreamEncoder("msg_1", "m", 3)
    data = encoder.encode(ChatChunk(text="partial")) + encoder.error("overloaded_error", "Overloaded")
    names = [n for n, _ in events(data)]
    assert names[-1] == "error" and "message_stop" not in names
    assert events(data)[-1][1] == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_raw_chunks_pass_through_untouched() -> None:
    raw = b'event: ping\ndata: {"type": "ping"}\n\n'
    assert _stream([ChatChunk(raw=raw)]) == raw


def test_an_error_after_raw_chunks_sends_no_second_message_start() -> None:
    encoder = anthropic_wire.StreamEncoder("msg_1", "m", 3)
    start = b'event: message_start\ndata: {"type":"message_start","message":{}}\n\n'
    data = encoder.encode(ChatChunk(raw=start)) + encoder.error("api_error", "boom")
    assert [n for n, _ in events(data)] == ["message_start", "error"]


def test_models_shape() -> None:
    body = json.loads(anthropic_wire.models([("claude-x", "Claude X"), ("gpt", "gpt (openai)")]))
    assert body["data"][0] == {"type": "model", "id": "claude-x", "display_name": "Claude X",
                               "created_at": "1970-01-01T00:00:00Z"}
    assert (body["has_more"], body["first_id"], body["last_id"]) == (False, "claude-x", "gpt")
