"""The OpenAI Agents SDK (OpenAIChatCompletionsModel) against the router: a function tool,
output_type together with a tool, and a streamed run."""

from __future__ import annotations

import asyncio

from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled
from common import KEY, MODEL, URL, check, run
from common import lookup as plain_lookup
from openai import AsyncOpenAI
from pydantic import BaseModel

set_tracing_disabled(True)
lookup = function_tool(plain_lookup)


class Person(BaseModel):
    name: str
    age: int


def model() -> OpenAIChatCompletionsModel:
    return OpenAIChatCompletionsModel(model=MODEL, openai_client=AsyncOpenAI(base_url=URL, api_key=KEY,
                                                                              max_retries=0))


def tool() -> None:
    agent = Agent(name="a", instructions="Be brief.", model=model(), tools=[lookup])
    result = asyncio.run(Runner.run(agent, "Look up 'cat'"))
    check(result.final_output == "A cat is a small animal.", repr(result.final_output))


def output_with_tool() -> None:
    agent = Agent(name="a", model=model(), tools=[lookup], output_type=Person)
    result = asyncio.run(Runner.run(agent, "Look up Ada"))
    check(result.final_output == Person(name="Ada", age=36), repr(result.final_output))


def streamed() -> None:
    async def go() -> tuple[str, str]:
        agent = Agent(name="a", model=model(), tools=[lookup])
        result = Runner.run_streamed(agent, "Look up 'cat'")
        pieces = []
        async for event in result.stream_events():
            if event.type == "raw_response_event" and getattr(event.data, "type", "") == "response.output_text.delta":
                pieces.append(event.data.delta)
        return "".join(pieces), str(result.final_output)
    text, final = asyncio.run(go())
    check(final == "A cat is a small animal." and text == final, repr((text, final)))


run([("function_tool", tool), ("output_type_with_tool", output_with_tool), ("streamed", streamed)])
