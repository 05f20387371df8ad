"""The local provider's tool format (providers/local/tools.py) without the model: how tools,
calls and results are written into the prompt, and how calls are read back."""

from __future__ import annotations

import json

import pytest

from llm_router.errors import InvalidRequest
from llm_router.messages import ChatRequest, Message, Tool, ToolCall, ToolChoice
from llm_router.providers.local import tools
from llm_router.providers.local.chat_model import llama_arguments

READ = Tool("Read", "Reads a file.", {"$schema": "x", "type": "object", "required": ["file_path"],
                                      "properties": {"file_path": {"type": "string"}, "pages": {"type": "string"}}})
ASK = (Message("user", "Read notes.txt"),)


def request(*messages: Message, choice: ToolChoice | None = None) -> ChatRequest:
    return ChatRequest(model="local", messages=messages or ASK, tools=(READ,), tool_choice=choice)


def test_tools_go_into_the_system_message_and_auto_leaves_the_model_free():
    arguments = llama_arguments(request())
    system = arguments["messages"][0]
    assert system["role"] == "system" and '"name": "Read"' in system["content"] and "<tool_call>" in system["content"]
    assert "$schema" not in system["content"] and "json_schema" not in arguments


def test_a_required_call_is_a_grammar_of_the_tools_required_arguments():
    schema = llama_arguments(request(choice=ToolChoice("required")))["json_schema"]
    assert schema["properties"]["name"] == {"const": "Read"}
    assert list(schema["properties"]["arguments"]["properties"]) == ["file_path"]


def test_first_mode_requires_a_call_only_while_the_user_has_the_last_word():
    assert "json_schema" in llama_arguments(request(), tool_mode="first")
    after = request(*ASK, Message("assistant", None, (ToolCall("c1", "Read", '{"file_path": "n"}'),)),
                    Message("tool", "hello", tool_call_id="c1"))
    arguments = llama_arguments(after, tool_mode="first")
    assert "json_schema" not in arguments
    assert "<tool_call>" in arguments["messages"][2]["content"]
    assert arguments["messages"][3] == {"role": "user", "content": "<tool_response>\nhello\n</tool_response>"}


def test_none_offers_no_tools_and_an_unknown_named_tool_is_a_400():
    assert llama_arguments(request(choice=ToolChoice("none")))["messages"] == [{"role": "user", "content": "Read notes.txt"}]
    with pytest.raises(InvalidRequest):
        llama_arguments(request(choice=ToolChoice("function", "Write")))


def test_calls_are_read_from_tool_call_blocks_and_text_before_them_is_kept():
    text, calls = tools.read_calls('Sure.\n<tool_call>\n{"name": "Read", "arguments": {"file_path": "a"}}\n</tool_call>',
                                   constrained=False)
    assert text == "Sure." and [(c.name, json.loads(c.arguments)) for c in calls] == [("Read", {"file_path": "a"})]
    assert tools.read_calls("<tool_call> not json </tool_call>", constrained=False)[1] == ()


def test_a_constrained_call_cut_short_stays_text():
    assert tools.read_calls('{"name": "Read", "argu', constrained=True) == ('{"name": "Read", "argu', ())
    _, calls = tools.read_calls('{"name": "Read", "arguments": {"file_path": "a"}}', constrained=True)
    assert calls[0].name == "Read" and calls[0].id.startswith("call_")
