"""Tools on the local model, done here rather than by llama.cpp's template machinery.

The bundled SmolLM2's chat template has no tool support (llama.cpp reports
``supports_tools: false`` for it and then drops ``tools`` from the prompt without a word), so
the tools are written into the system message in the Hermes / Qwen format that small
instruction-tuned models know (``<tools>`` signatures, ``<tool_call>{json}</tool_call>``
answers); earlier tool calls and tool results become text in the same format. This works
with any GGUF file's template.

``tool_choice`` ``required``/``function`` (Anthropic's ``any``/``tool``) constrain the
answer to one call with a JSON-schema grammar (llama.cpp's ``json_schema``): the answer is
then a call of one offered tool with arguments matching its schema. ``auto`` leaves the
model free and reads any ``<tool_call>`` blocks out of its text; ``none`` offers no tools.
The constrained call holds the tool's required arguments only (``_required_only``).
A deployment's ``tool_calls="first"`` (LOCAL_TOOL_CALLS) treats ``auto`` as ``required``
while the last message is the user's, so that an agent driving a tiny model (Claude Code)
gets its tool call, then the answer after the tool result."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from llm_router.errors import InvalidRequest
from llm_router.messages import ChatRequest, Tool, ToolCall

INSTRUCTIONS = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n"
    "</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>')
CALL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def offered(request: ChatRequest) -> tuple[Tool, ...]:
    """The tools the model may call (none when tool_choice is ``none``)."""
    if request.tool_choice is not None and request.tool_choice.mode == "none":
        return ()
    return request.tools


def forced(request: ChatRequest, mode: str = "auto") -> tuple[Tool, ...]:
    """The tools the answer must call one of (empty: the model is free)."""
    tools = offered(request)
    choice = request.tool_choice.mode if request.tool_choice is not None else "auto"
    if choice == "auto" and mode == "first" and request.messages and request.messages[-1].role == "user":
        choice = "required"
    if not tools or choice not in ("required", "function"):
        return ()
    if choice == "function":
        name = request.tool_choice.name if request.tool_choice is not None else None
        chosen = tuple(tool for tool in tools if tool.name == name)
        if not chosen:
            raise InvalidRequest(f"tool_choice names '{name}', which is not among the tools.", "tool_choice")
        return chosen
    return tools


def system_text(system: str, tools: tuple[Tool, ...]) -> str:
    """The system message with the tools' signatures and the call format appended."""
    signatures = "\n".join(json.dumps({"type": "function", "function": _signature(tool)}) for tool in tools)
    instructions = INSTRUCTIONS.format(tools=signatures)
    return f"{system}\n\n{instructions}" if system else instructions


def call_text(calls: tuple[ToolCall, ...]) -> str:
    """Earlier tool calls, as the model would have written them."""
    return "\n".join(f'<tool_call>\n{{"name": {json.dumps(c.name)}, "arguments": {c.arguments or "{}"}}}\n'
                     "</tool_call>" for c in calls)


def result_text(content: str) -> str:
    """A tool result, as the user turn the format expects."""
    return f"<tool_response>\n{content}\n</tool_response>"


def grammar_schema(tools: tuple[Tool, ...]) -> dict[str, Any]:
    """A JSON schema whose instances are exactly the calls of one of ``tools``."""
    calls = [{"type": "object", "properties": {"name": {"const": tool.name},
                                               "arguments": _required_only(_parameters(tool))},
              "required": ["name", "arguments"], "additionalProperties": False} for tool in tools]
    return calls[0] if len(calls) == 1 else {"anyOf": calls}


def read_calls(text: str, constrained: bool) -> tuple[str, tuple[ToolCall, ...]]:
    """The answer's text and tool calls: the whole text is one call when the grammar
    constrained it, else each ``<tool_call>`` block is one (a block that is not a call's JSON
    stays text)."""
    if constrained:  # not JSON only when cut short by max_tokens: the text, as it stopped
        call = _call(text)
        return ("", (call,)) if call is not None else (text, ())
    calls: list[ToolCall] = []
    for block in CALL_BLOCK.finditer(text):
        call = _call(block.group(1))
        if call is not None:
            calls.append(call)
    if not calls:
        return text, ()
    return text[: text.index("<tool_call>")].strip(), tuple(calls)


def _call(text: str) -> ToolCall | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments", {})
    if isinstance(arguments, str):
        arguments = _decoded(arguments)
    return ToolCall(id=f"call_{uuid.uuid4().hex[:24]}", name=value["name"], arguments=json.dumps(arguments))


def _decoded(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return {}


def _signature(tool: Tool) -> dict[str, Any]:
    signature: dict[str, Any] = {"name": tool.name}
    if tool.description:
        signature["description"] = tool.description
    signature["parameters"] = _parameters(tool)
    return signature


def _parameters(tool: Tool) -> dict[str, Any]:
    """The tool's parameter schema without keys that only describe the schema itself."""
    parameters = dict(tool.parameters or {"type": "object", "properties": {}})
    parameters.pop("$schema", None)
    return parameters


def _required_only(parameters: dict[str, Any]) -> dict[str, Any]:
    """The schema of a constrained call: the arguments the tool requires and no others (a
    small model given the choice fills optional ones with junk, such as an empty ``pages``
    that Claude Code's Read refuses); a schema without ``required`` is left whole."""
    required = parameters.get("required")
    properties = parameters.get("properties")
    if not isinstance(required, list) or not required or not isinstance(properties, dict):
        return parameters
    kept = {name: schema for name, schema in properties.items() if name in required}
    return {**parameters, "properties": kept, "additionalProperties": False}
