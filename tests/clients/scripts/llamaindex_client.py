"""LlamaIndex OpenAILike against the router: chat, stream_chat, chat_with_tools (which sends
parallel_tool_calls: false by default) and a tool-result turn."""

from __future__ import annotations

from common import KEY, MODEL, URL, check, lookup, run
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai_like import OpenAILike

llm = OpenAILike(model=MODEL, api_base=URL, api_key=KEY, is_chat_model=True, is_function_calling_model=True,
                 max_retries=0, timeout=20, context_window=128000)
tool = FunctionTool.from_defaults(fn=lookup)


def chat() -> None:
    answer = llm.chat([ChatMessage(role="user", content="Say hello")])
    check(answer.message.content == "Hello there.", repr(answer.message))


def stream_chat() -> None:
    text = "".join(chunk.delta or "" for chunk in llm.stream_chat([ChatMessage(role="user", content="Count")]))
    check(text == "one two three", repr(text))


def chat_with_tools() -> None:
    response = llm.chat_with_tools([tool], user_msg="Look up 'cat'")
    calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=True)
    check(len(calls) == 1 and calls[0].tool_name == "lookup" and calls[0].tool_kwargs == {"q": "cat"},
          repr(calls))
    history = [ChatMessage(role="user", content="Look up 'cat'"), response.message,
               ChatMessage(role="tool", content=tool(**calls[0].tool_kwargs).content,
                           additional_kwargs={"tool_call_id": calls[0].tool_id, "name": "lookup"})]
    final = llm.chat_with_tools([tool], chat_history=history)
    check(final.message.content == "A cat is a small animal.", repr(final.message))


run([("chat", chat), ("stream_chat", stream_chat), ("chat_with_tools", chat_with_tools)])
