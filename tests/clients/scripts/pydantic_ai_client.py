"""pydantic-ai against the router: run, run_stream, output_type, a tool."""

from __future__ import annotations

import asyncio

from common import KEY, MODEL, URL, check, lookup, run
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider


class Person(BaseModel):
    name: str
    age: int


model = OpenAIChatModel(MODEL, provider=OpenAIProvider(base_url=URL, api_key=KEY))


def plain() -> None:
    result = Agent(model).run_sync("Say hello")
    check(result.output == "Hello there.", repr(result.output))
    usage = result.usage()
    check(usage.input_tokens == 11 and usage.output_tokens == 7, repr(usage))


def stream() -> None:
    async def go() -> str:
        async with Agent(model).run_stream("Count") as response:
            return "".join([piece async for piece in response.stream_text(delta=True)])
    text = asyncio.run(go())
    check(text == "one two three", repr(text))


def output_type() -> None:
    result = Agent(model, output_type=Person).run_sync("Who is Ada, 36?")
    check(result.output == Person(name="Ada", age=36), repr(result.output))


def with_tool() -> None:
    agent = Agent(model, tools=[lookup])
    result = agent.run_sync("Look up 'cat'")
    check(result.output == "A cat is a small animal.", repr(result.output))
    returns = [p for m in result.all_messages() for p in m.parts if p.part_kind == "tool-return"]
    check(len(returns) == 1 and returns[0].content == "cat: a small test word", repr(returns))


run([("run", plain), ("run_stream", stream), ("output_type", output_type), ("tool", with_tool)])
