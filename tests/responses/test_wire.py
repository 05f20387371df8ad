"""The pure Responses encoder: objects and event sequences the official SDK accepts, with
streamed item ids and output indexes equal to the final response's."""

from __future__ import annotations

import json

import openai
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from llm_router.api.responses_wire import Envelope, StreamEncoder, echo_fields, encode_response
from llm_router.messages import ChatChunk, ChatResponse, ToolCall, ToolCallDelta, Usage

EVENTS = TypeAdapter(ResponseStreamEvent)
ORIGIN = {"model": "m", "input": "hi", "tools": [], "store": False}


def envelope() -> Envelope:
    return Envelope("resp_abc123", "model-x", echo_fields(ORIGIN, []), created_at=1700000000)


def frames(data: bytes) -> list[dict]:
    out = []
    for block in data.decode().split("\n\n"):
        if not block:
            continue
        name, payload = block.split("\n")
        assert name.startswith("event: ") and payload.startswith("data: ")
        event = json.loads(payload[6:])
        assert event["type"] == name[7:]
        out.append(event)
    return out


def run_stream(chunks: list[ChatChunk]) -> list[dict]:
    encoder = StreamEncoder(envelope())
    data = encoder.start() + b"".join(encoder.encode(c) for c in chunks)
    events = frames(data)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    state = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    for event in events:
        state.handle_event(EVENTS.validate_python(event))  # the SDK's own accumulator
    return events


def test_text_stream_matches_the_whole_answer():
    chunks = [ChatChunk(text="Hello"), ChatChunk(text=" world"),
              ChatChunk(finish_reason="stop", usage=Usage(5, 2, 1))]
    events = run_stream(chunks)
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed"]
    final = Response.model_validate(events[-1]["response"])
    assert final.output_text == "Hello world" and final.status == "completed"
    assert final.usage.input_tokens_details.cached_tokens == 1
    whole = encode_response(ChatResponse("x", "", "Hello world", "stop", Usage(5, 2, 1)), envelope())
    assert whole == events[-1]["response"]
    assert events[2]["item"]["id"] == final.output[0].id


def test_text_then_two_calls_keep_ids_and_indexes():
    chunks = [ChatChunk(text="Let me check."),
              ChatChunk(tool_calls=(ToolCallDelta(0, "call_1", "get_weather", '{"ci'),)),
              ChatChunk(tool_calls=(ToolCallDelta(0, None, None, 'ty":"Paris"}'),
                                    ToolCallDelta(1, "call_2", "get_time", "{}"))),
              ChatChunk(finish_reason="tool_calls", usage=Usage(3, 4))]
    events = run_stream(chunks)
    final = events[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["message", "function_call", "function_call"]
    added = {e["output_index"]: e["item"]["id"] for e in events if e["type"] == "response.output_item.added"}
    assert added == {i: item["id"] for i, item in enumerate(final["output"])}
    for e in events:
        if "item_id" in e:
            assert final["output"][e["output_index"]]["id"] == e["item_id"]
    assert final["output"][1]["arguments"] == '{"city":"Paris"}'
    calls = (ToolCall("call_1", "get_weather", '{"city":"Paris"}'), ToolCall("call_2", "get_time", "{}"))
    whole = encode_response(ChatResponse("x", "", "Let me check.", "tool_calls", Usage(3, 4), calls), envelope())
    assert whole == final


def test_length_is_incomplete_both_ways():
    events = run_stream([ChatChunk(text="cut"), ChatChunk(finish_reason="length", usage=Usage(1, 1))])
    assert events[-1]["type"] == "response.incomplete"
    final = Response.model_validate(events[-1]["response"])
    assert final.status == "incomplete" and final.incomplete_details.reason == "max_output_tokens"
    whole = encode_response(ChatResponse("x", "", "cut", "length", Usage(1, 1)), envelope())
    assert whole == events[-1]["response"]


def test_empty_answer_still_has_a_message():
    events = run_stream([ChatChunk(finish_reason="stop", usage=Usage())])
    assert events[-1]["response"] == encode_response(ChatResponse("x", "", "", "stop", Usage()), envelope())


def test_failure_after_start():
    encoder = StreamEncoder(envelope())
    data = encoder.start() + encoder.encode(ChatChunk(text="par")) + encoder.fail("server_error", "boom")
    events = frames(data)
    assert events[-1]["type"] == "response.failed"
    failed = Response.model_validate(events[-1]["response"])
    assert failed.error.code == "server_error" and failed.status == "failed"


def test_reasoning_comes_first_with_its_summary_and_signature():
    chunks = [ChatChunk(reasoning="Thinking "), ChatChunk(reasoning="hard.", reasoning_signature="sig=="),
              ChatChunk(text="Answer."), ChatChunk(finish_reason="stop", usage=Usage(2, 5, 0, 3))]
    events = run_stream(chunks)
    kinds = [e["type"] for e in events]
    assert kinds[2:8] == ["response.output_item.added", "response.reasoning_summary_part.added",
                          "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
                          "response.reasoning_summary_text.done", "response.reasoning_summary_part.done"]
    final = Response.model_validate(events[-1]["response"])
    assert [i.type for i in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == "Thinking hard." and final.output[0].encrypted_content == "sig=="
    assert final.usage.output_tokens_details.reasoning_tokens == 3
    whole = encode_response(ChatResponse("x", "", "Answer.", "stop", Usage(2, 5, 0, 3),
                                         reasoning="Thinking hard.", reasoning_signature="sig=="), envelope())
    assert whole == events[-1]["response"]


def test_signature_only_reasoning_has_no_summary():
    events = run_stream([ChatChunk(reasoning_signature="s"), ChatChunk(text="a"),
                         ChatChunk(finish_reason="stop", usage=Usage())])
    assert "response.reasoning_summary_part.added" not in [e["type"] for e in events]
    whole = encode_response(ChatResponse("x", "", "a", "stop", Usage(), reasoning_signature="s"), envelope())
    assert events[-1]["response"] == whole
