"""``/v1/responses`` on Gemini: a function call's thought signature survives the Responses
round trip (it rides in the call id), streamed and not."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import TEST_TIMEOUTS
from tests.fakes import ToolCallSpec
from tests.fakes.gemini import FakeGemini, GeminiReply
from tests.gateway_process import GatewayProcess, run_gateway

KEY = "AIza-canary-responses-Qw19Ze"
WEATHER = {"type": "function", "name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": False}


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGemini]:
    server = FakeGemini(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gemini_gateway(gemini) -> Iterator[GatewayProcess]:
    with run_gateway({**TEST_TIMEOUTS, "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": gemini.base_url}) as process:
        yield process


@pytest.fixture
def client(gemini_gateway, gemini) -> openai.OpenAI:
    gemini.reset()
    return openai.OpenAI(base_url=gemini_gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10)


@pytest.mark.parametrize("stream", [False, True])
def test_function_call_signature_survives_the_round_trip(client, gemini, stream):
    gemini.enqueue(GeminiReply(text="", tool_calls=[ToolCallSpec("", "get_weather", '{"city": "Paris"}')],
                               signature="sig-abc"),
                   GeminiReply(text="Sunny."))
    if stream:
        with client.responses.stream(model="gemini", input="Weather?", tools=[WEATHER]) as events:
            first = events.get_final_response()
    else:
        first = client.responses.create(model="gemini", input="Weather?", tools=[WEATHER])
    call = next(i for i in first.output if i.type == "function_call")
    second = client.responses.create(model="gemini", tools=[WEATHER], input=[
        {"role": "user", "content": "Weather?"}, *[i.model_dump(exclude_none=True) for i in first.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text == "Sunny."
    assert "sig-abc" in json.dumps(gemini.requests[-1].body)  # the fake refuses a call without it
