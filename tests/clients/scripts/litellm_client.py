"""The LiteLLM SDK as a client of the router (``openai/<model>`` with ``api_base``)."""

from __future__ import annotations

import json

import litellm
from common import KEY, MODEL, URL, check, run

TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "Look a word up.",
          "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}]
ARGS = {"model": "openai/" + MODEL, "api_base": URL, "api_key": KEY, "num_retries": 0, "timeout": 20}


def completion() -> None:
    answer = litellm.completion(messages=[{"role": "user", "content": "Say hello"}], **ARGS)
    check(answer.choices[0].message.content == "Hello there.", repr(answer.choices[0].message))
    check(answer.usage.prompt_tokens == 11 and answer.usage.completion_tokens == 7, repr(answer.usage))


def stream() -> None:
    chunks = litellm.completion(messages=[{"role": "user", "content": "Count"}], stream=True, **ARGS)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check(text == "one two three", repr(text))


def tools() -> None:
    messages = [{"role": "user", "content": "Look up 'cat'"}]
    first = litellm.completion(messages=messages, tools=TOOLS, **ARGS)
    calls = first.choices[0].message.tool_calls
    check(len(calls) == 1 and json.loads(calls[0].function.arguments) == {"q": "cat"}, repr(calls))
    messages += [first.choices[0].message.model_dump(),
                 {"role": "tool", "tool_call_id": calls[0].id, "content": "cat: a small test word"}]
    final = litellm.completion(messages=messages, tools=TOOLS, **ARGS)
    check(final.choices[0].message.content == "A cat is a small animal.", repr(final.choices[0].message))


run([("completion", completion), ("stream", stream), ("tools_round_trip", tools)])
