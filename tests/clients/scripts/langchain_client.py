"""LangChain ChatOpenAI against the router: invoke, stream, a bind_tools round trip,
with_structured_output (default json_schema, json_mode, function_calling)."""

from __future__ import annotations

from common import KEY, MODEL, URL, check, lookup, run
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel


class Person(BaseModel):
    name: str
    age: int


llm = ChatOpenAI(model=MODEL, base_url=URL, api_key=KEY, max_retries=0, timeout=20,  # type: ignore[arg-type]
                 max_completion_tokens=200)
lookup_tool = tool(lookup)


def invoke() -> None:
    answer = llm.invoke("Say hello")
    check(answer.content == "Hello there.", repr(answer.content))
    usage = answer.usage_metadata or {}
    check(usage.get("input_tokens") == 11 and usage.get("output_tokens") == 7, repr(usage))


def stream() -> None:
    pieces = [chunk.content for chunk in llm.stream("Count")]
    check("".join(str(p) for p in pieces) == "one two three", repr(pieces))


def tools_round_trip() -> None:
    bound = llm.bind_tools([lookup_tool])
    first = bound.invoke([HumanMessage("Look up 'cat'")])
    check(len(first.tool_calls) == 1 and first.tool_calls[0]["name"] == "lookup", repr(first.tool_calls))
    call = first.tool_calls[0]
    check(call["args"] == {"q": "cat"}, repr(call))
    result = ToolMessage(lookup(**call["args"]), tool_call_id=call["id"])
    final = bound.invoke([HumanMessage("Look up 'cat'"), first, result])
    check(final.content == "A cat is a small animal.", repr(final.content))


def structured(method: str | None) -> None:
    kwargs = {"method": method} if method else {}
    out = llm.with_structured_output(Person, **kwargs).invoke("Who is Ada, 36?")  # type: ignore[arg-type]
    if method == "json_mode":
        out = Person.model_validate(out)
    check(isinstance(out, Person) and out.name == "Ada" and out.age == 36, repr(out))


run([
    ("invoke", invoke),
    ("stream", stream),
    ("bind_tools_round_trip", tools_round_trip),
    ("structured_default", lambda: structured(None)),
    ("structured_json_mode", lambda: structured("json_mode")),
    ("structured_function_calling", lambda: structured("function_calling")),
])
