"""``/v1/responses`` end to end: the official openai SDK against the gateway, on each provider."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from tests.fakes import Reply, ToolCallSpec
from tests.gateway_process import GatewayProcess

PROVIDERS = ["openai", "anthropic", "cohere"]
LENGTH = {"openai": "max_output_tokens", "anthropic": "max_tokens", "cohere": "MAX_TOKENS"}
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
           "strict": False}
CALL = ToolCallSpec("call_abc123", "get_weather", '{"city": "Paris"}')
IMAGE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10)


def sent(fakes, provider):
    return fakes[provider].requests[-1]


def model_for(provider):
    return "openai/gpt-4.1-mini" if provider == "openai" else provider


@pytest.mark.parametrize("provider", PROVIDERS)
def test_text_with_instructions(client, fakes, provider):
    fakes[provider].enqueue(Reply(text="Bonjour!", input_tokens=12, output_tokens=3, cached_tokens=2))
    response = client.responses.create(model=model_for(provider), input="Say hi in French",
                                       instructions="Be terse.")
    assert response.output_text == "Bonjour!" and response.status == "completed"
    assert response.usage.input_tokens == 12 and response.usage.output_tokens == 3
    assert response.usage.input_tokens_details.cached_tokens == 2
    body = json.dumps(sent(fakes, provider).body)
    assert "Be terse." in body and "Say hi in French" in body
    if provider == "openai":
        assert sent(fakes, provider).path == "/v1/responses"
        assert sent(fakes, provider).body["instructions"] == "Be terse."


@pytest.mark.parametrize("provider", PROVIDERS)
def test_multi_turn_items(client, fakes, provider):
    client.responses.create(model=model_for(provider), input=[
        {"role": "user", "content": "My name is Ada."},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Hello Ada.", "annotations": []}]},
        {"role": "user", "content": [{"type": "input_text", "text": "What is my name?"}]}])
    body = json.dumps(sent(fakes, provider).body)
    assert body.index("My name is Ada.") < body.index("Hello Ada.") < body.index("What is my name?")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_image_input(client, fakes, provider):
    client.responses.create(model=model_for(provider), input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": IMAGE, "detail": "auto"}]}])
    body = json.dumps(sent(fakes, provider).body)
    assert "iVBORw0KGgo" in body


@pytest.mark.parametrize("provider", PROVIDERS)
def test_function_tool_round_trip(client, fakes, provider):
    fakes[provider].enqueue(Reply(text="", tool_calls=[CALL]), Reply(text="It is sunny in Paris."))
    first = client.responses.create(model=model_for(provider), input="Weather in Paris?", tools=[WEATHER])
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_abc123", "get_weather", {"city": "Paris"})]
    second = client.responses.create(model=model_for(provider), tools=[WEATHER], input=[
        {"role": "user", "content": "Weather in Paris?"},
        *[item.model_dump(exclude_none=True) for item in first.output],
        {"type": "function_call_output", "call_id": "call_abc123", "output": "sunny, 21C"}])
    assert second.output_text == "It is sunny in Paris."
    body = json.dumps(sent(fakes, provider).body)
    assert "sunny, 21C" in body and "call_abc123" in body


class Weather(BaseModel):
    city: str
    temperature: int


@pytest.mark.parametrize("provider", PROVIDERS)
def test_json_schema_via_parse(client, fakes, provider):
    fakes[provider].enqueue(Reply(text='{"city": "Paris", "temperature": 21}'))
    parsed = client.responses.parse(model=model_for(provider), input="Weather?", text_format=Weather)
    assert parsed.output_parsed == Weather(city="Paris", temperature=21)
    body = json.dumps(sent(fakes, provider).body)
    assert "temperature" in body  # the schema reached the provider


@pytest.mark.parametrize("provider", PROVIDERS)
def test_max_output_tokens_is_incomplete(client, fakes, provider):
    fakes[provider].enqueue(Reply(text="Once upon a", finish=LENGTH[provider]))
    response = client.responses.create(model=model_for(provider), input="Tell a story", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Once upon a"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_final_equals_whole(client, fakes, provider):
    reply = Reply(text="Let me check the weather.", tool_calls=[CALL], input_tokens=20, output_tokens=9)
    fakes[provider].enqueue(reply, reply)
    whole = client.responses.create(model=model_for(provider), input="Weather?", tools=[WEATHER])
    with client.responses.stream(model=model_for(provider), input="Weather?", tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    ids = [i.id for i in final.output]
    assert [e.item.id for e in events if e.type == "response.output_item.added"] == ids
    assert [e.item.id for e in events if e.type == "response.output_item.done"] == ids
    for e in events:
        if hasattr(e, "item_id") and hasattr(e, "output_index"):
            assert ids[e.output_index] == e.item_id
    # Cohere's text beside tool calls is its ``tool_plan``, which the translation leaves out.
    assert final.output_text == whole.output_text == ("" if provider == "cohere" else reply.text)
    # Anthropic sends whole tool input as an object, streamed as JSON fragments: same JSON value.
    shape = lambda r: [(i.type, getattr(i, "call_id", None), getattr(i, "name", None),  # noqa: E731
                        json.loads(getattr(i, "arguments", None) or "null"), i.status) for i in r.output]
    assert shape(final) == shape(whole)
    assert final.usage == whole.usage
    kinds = {e.type for e in events}
    assert {"response.function_call_arguments.delta", "response.function_call_arguments.done"} <= kinds
    if provider != "cohere":  # text and a function call in one turn both come through
        assert {"response.output_text.delta", "response.content_part.added"} <= kinds


def test_translated_ids_are_the_same_streamed_and_final(client, fakes):
    fakes["anthropic"].enqueue(Reply(text="Hi", tool_calls=[CALL]))
    with client.responses.stream(model="anthropic", input="x", tools=[WEATHER]) as stream:
        events = list(stream)
    final = events[-1].response
    assert final.id == events[0].response.id
    done = [e.item for e in events if e.type == "response.output_item.done"]

    def strip(value):  # the SDK's parse helper adds ``parsed`` to the final text parts
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
        return [strip(v) for v in value] if isinstance(value, list) else value

    assert [strip(i.model_dump()) for i in done] == [strip(i.model_dump()) for i in final.output]
