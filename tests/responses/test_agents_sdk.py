"""The OpenAI Agents SDK with its default (Responses) model pointed at the gateway: an agent
with a function tool, streamed and not, on each provider."""

from __future__ import annotations

import json

import pytest
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

from tests.fakes import Reply, ToolCallSpec
from tests.gateway_process import GatewayProcess

PROVIDERS = ["openai", "anthropic", "cohere"]
MODEL = {"openai": "openai/gpt-4.1-mini", "anthropic": "anthropic", "cohere": "cohere"}
set_tracing_disabled(True)  # no trace uploads to OpenAI from tests


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny and 21C in {city}"


def agent(gateway: GatewayProcess, provider: str) -> tuple[Agent, RunConfig]:
    client = AsyncOpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10)
    model = OpenAIResponsesModel(model=MODEL[provider], openai_client=client)
    return Agent(name="forecaster", instructions="Answer with the tool.", tools=[get_weather], model=model), \
        RunConfig(tracing_disabled=True)


def script(fakes, provider):
    call = ToolCallSpec("call_ag1", "get_weather", json.dumps({"city": "Paris"}))
    fakes[provider].enqueue(Reply(text="", tool_calls=[call]), Reply(text="It is sunny and 21C in Paris."))


def check_round_trip(fakes, provider):
    path = {"openai": "/v1/responses", "anthropic": "/v1/messages", "cohere": "/v2/chat"}[provider]
    calls = [r for r in fakes[provider].requests if r.path == path]
    assert len(calls) == 2
    second = json.dumps(calls[1].body)
    assert "call_ag1" in second and "sunny and 21C in Paris" in second  # the tool's result went back


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_agent_with_a_tool(gateway, fakes, provider):
    script(fakes, provider)
    forecaster, config = agent(gateway, provider)
    result = await Runner.run(forecaster, "Weather in Paris?", run_config=config)
    assert result.final_output == "It is sunny and 21C in Paris."
    check_round_trip(fakes, provider)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_agent_with_a_tool_streamed(gateway, fakes, provider):
    script(fakes, provider)
    forecaster, config = agent(gateway, provider)
    result = Runner.run_streamed(forecaster, "Weather in Paris?", run_config=config)
    kinds = [event.type async for event in result.stream_events()]
    assert result.final_output == "It is sunny and 21C in Paris."
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
    check_round_trip(fakes, provider)
