"""The OpenAI Responses request (``POST /v1/responses``), validated at the edge and decoded
into the canonical :class:`~llm_router.messages.ChatRequest` (pure; no I/O).

Decoding never depends on the provider. What a translation to a non-OpenAI provider would
lose is reported beside the request: ``dropped`` (hosted tools, reasoning items and
OpenAI-only parameters, listed in ``x-llm-router-dropped-params``; ``reasoning.effort`` becomes
``ChatRequest.reasoning`` and is listed only where the model cannot take it) and ``blocker`` (input
that cannot be translated at all, e.g. a ``file_id`` image or a ``tool_choice`` forcing a
hosted tool: a 400 naming it, raised only when the answering deployment is not OpenAI).

https://platform.openai.com/docs/api-reference/responses/create
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from llm_router.api.body import parse_json
from llm_router.errors import InvalidRequest
from llm_router.messages import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    Reasoning,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    WireBody,
)
from llm_router.providers import params, reasoning

if TYPE_CHECKING:
    from llm_router.config.deployment import Deployment

FORMAT = "openai-responses"
FORBIDDEN = ("api_base", "base_url", "api_key", "extra_headers", "organization", "extra_body")
MAX_ITEMS = 4096
# Parameters a translation to another provider ignores (they are listed as dropped when sent).
OPENAI_ONLY = ("include", "prompt_cache_key", "prompt_cache_retention", "truncation", "service_tier",
               "background", "max_tool_calls", "top_logprobs", "safety_identifier", "stream_options",
               "prompt", "conversation", "client_metadata", "context_management", "moderation")
M = TypeVar("M", bound=BaseModel)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FormatIn(_Open):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class TextIn(_Open):
    format: FormatIn | None = None
    verbosity: str | None = None


class ReasoningIn(_Open):
    effort: str | None = None
    summary: str | None = None


class ResponsesIn(_Open):
    """The request body of ``POST /v1/responses``."""

    model: str = Field(min_length=1, max_length=256)
    input: str | list[dict[str, Any]] | None = Field(None, max_length=MAX_ITEMS)
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["auto", "none", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: TextIn | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    reasoning: ReasoningIn | None = None
    metadata: dict[str, str] | None = Field(None, max_length=16)
    user: str | None = None
    store: bool | None = None
    stream: StrictBool = False
    previous_response_id: str | None = None


class _PartIn(_Open):
    type: str
    text: str | None = None
    refusal: str | None = None
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class MessageItem(_Open):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[_PartIn]


class FunctionCallItem(_Open):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str


class FunctionCallOutputItem(_Open):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: str | list[_PartIn]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A validated body, its canonical request, and what a translation loses."""

    body: ResponsesIn
    request: ChatRequest
    #: Parameter paths a non-OpenAI provider does not get (sorted, deduplicated).
    dropped: tuple[str, ...] = ()
    #: Why the request cannot be translated for a non-OpenAI provider (None: it can).
    blocker: InvalidRequest | None = None

    def dropped_on(self, deployment: Deployment) -> tuple[str, ...]:
        """What the deployment loses: ``dropped``, and ``reasoning`` when its model cannot take
        the reasoning setting (``providers/reasoning.py``)."""
        request = self.request.with_model(deployment.model)
        if reasoning.dropped(deployment.spec_name or deployment.provider, deployment.provider, request):
            return tuple(sorted({*self.dropped, "reasoning"}))
        return self.dropped


class _Acc:
    """What decoding collects besides the messages."""

    def __init__(self) -> None:
        self.dropped: set[str] = set()
        self.blocker: InvalidRequest | None = None

    def block(self, message: str, param: str) -> None:
        if self.blocker is None:
            self.blocker = InvalidRequest(message, param)


def parse_request(raw: bytes) -> ResponsesIn:
    """Validate a raw body; InvalidRequest (400) naming the parameter otherwise."""
    return read_request(raw)[0]


def read_request(raw: bytes) -> tuple[ResponsesIn, dict[str, Any]]:
    """:func:`parse_request`, and the body as decoded (once) for the pass-through."""
    body, data = parse_json(ResponsesIn, raw, 400, "parameter", ("input", MAX_ITEMS))
    extra = body.model_extra or {}
    for name in FORBIDDEN:
        if name in extra:
            raise InvalidRequest(f"Parameter '{name}' is not allowed.", name)
    if body.input is None or body.input == []:
        if body.previous_response_id is None:
            raise InvalidRequest("Missing required parameter: 'input'.", "input")
    return body, data


def decode(body: ResponsesIn, origin: dict[str, Any], history: tuple[Message, ...] = ()) -> Decoded:
    """The canonical request for a validated body. ``origin`` is the client's JSON body (kept
    for an OpenAI pass-through); ``history`` the messages of a stored previous response."""
    acc = _Acc()
    messages: list[Message] = []
    if body.instructions:
        messages.append(Message("system", body.instructions))
    messages.extend(history)
    messages.extend(_messages(body.input, acc))
    tools = _tools(body.tools or [], acc)
    request = ChatRequest(
        model="",
        messages=tuple(messages),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_output_tokens,
        user=body.user,
        tools=tools,
        tool_choice=_tool_choice(body.tool_choice, acc),
        parallel_tool_calls=body.parallel_tool_calls,
        response_format=_format(body.text),
        include_usage=True,
        reasoning=_reasoning(body.reasoning),
        origin=WireBody(FORMAT, origin),
    )
    _note_dropped(body, acc)
    if not request.messages:
        acc.block("The request has no input this provider can answer.", "input")
    return Decoded(body, request, tuple(sorted(acc.dropped)), acc.blocker)


def _note_dropped(body: ResponsesIn, acc: _Acc) -> None:
    extra = body.model_extra or {}
    acc.dropped.update(name for name in OPENAI_ONLY if extra.get(name) is not None)
    if body.text is not None and body.text.verbosity is not None:
        acc.dropped.add("text.verbosity")
    if body.metadata:
        acc.dropped.add("metadata")


def _reasoning(value: ReasoningIn | None) -> Reasoning | None:
    """``reasoning.effort`` as the canonical reasoning setting (400 for an unknown level). A
    ``summary`` alone asks for nothing to be sent: the reasoning a model returns is always given
    back as a reasoning item with its summary."""
    if value is None or value.effort is None:
        return None
    if value.effort not in params.EFFORTS:
        raise InvalidRequest(f"reasoning.effort must be one of {', '.join(params.EFFORTS)}.",
                             "reasoning.effort")
    return Reasoning(value.effort)


# ----- input items -----

def _messages(value: str | list[dict[str, Any]] | None, acc: _Acc) -> list[Message]:
    if value is None:
        return []
    if isinstance(value, str):
        return [Message("user", value)]
    out: list[Message] = []
    for index, raw in enumerate(value):
        kind = raw.get("type", "message" if "role" in raw else None)
        where = f"input[{index}]"
        if kind == "message":
            out.append(_message(_validate(MessageItem, raw, where), where, acc))
        elif kind == "function_call":
            _add_call(out, _validate(FunctionCallItem, raw, where))
        elif kind == "function_call_output":
            item = _validate(FunctionCallOutputItem, raw, where)
            out.append(Message("tool", _output_text(item.output), tool_call_id=item.call_id))
        elif kind == "reasoning":
            acc.dropped.add("input.reasoning")
        elif isinstance(kind, str):
            acc.block(f"Input item type '{kind}' cannot be sent to this provider.", where)
        else:
            raise InvalidRequest(f"Invalid '{where}': an input item needs a 'type'.", where)
    return out


def _validate(model: type[M], raw: dict[str, Any], where: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        path = f"{where}.{field}" if field else where
        raise InvalidRequest(f"Invalid '{path}': {first.get('msg', 'invalid value')}.", path) from None


def _message(item: MessageItem, where: str, acc: _Acc) -> Message:
    role: Literal["user", "assistant", "system"] = (
        "system" if item.role in ("system", "developer") else item.role)  # type: ignore[assignment]
    if isinstance(item.content, str):
        return Message(role, item.content)
    parts = [_part(p, f"{where}.content[{i}]", acc) for i, p in enumerate(item.content)]
    kept = [p for p in parts if p is not None]
    if all(isinstance(p, TextPart) for p in kept):
        return Message(role, "\n".join(p.text for p in kept if isinstance(p, TextPart)))
    return Message(role, tuple(kept))


def _part(part: _PartIn, where: str, acc: _Acc) -> ContentPart | None:
    if part.type in ("input_text", "output_text", "text"):
        return TextPart(part.text or "")
    if part.type == "refusal":
        return TextPart(part.refusal or "")
    if part.type == "input_image" and part.image_url:
        return ImagePart(part.image_url, part.detail)
    acc.block(f"Content part type '{part.type}' (without an image_url) cannot be sent to this "
              "provider.", where)
    return None


def _add_call(out: list[Message], item: FunctionCallItem) -> None:
    call = ToolCall(item.call_id, item.name, item.arguments)
    last = out[-1] if out else None
    if last is not None and last.role == "assistant":
        out[-1] = Message("assistant", last.content, (*last.tool_calls, call))
    else:
        out.append(Message("assistant", None, (call,)))


def _output_text(output: str | list[_PartIn]) -> str:
    if isinstance(output, str):
        return output
    return "\n".join(p.text or "" for p in output if p.text is not None)


# ----- tools, tool choice, text format -----

def _tools(tools: list[dict[str, Any]], acc: _Acc) -> tuple[Tool, ...]:
    out: list[Tool] = []
    for index, tool in enumerate(tools):
        kind = tool.get("type")
        if kind != "function":
            acc.dropped.add(f"tools.{kind}" if isinstance(kind, str) else f"tools[{index}]")
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            param = f"tools[{index}].name"
            raise InvalidRequest(f"Missing required parameter: '{param}'.", param)
        params = tool.get("parameters")
        strict = tool.get("strict")
        description = tool.get("description")
        out.append(Tool(name, description if isinstance(description, str) else None,
                        params if isinstance(params, dict) else None,
                        strict if isinstance(strict, bool) else None))
    return tuple(out)


def _tool_choice(choice: str | dict[str, Any] | None, acc: _Acc) -> ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        return ToolChoice(choice)  # type: ignore[arg-type]
    kind = choice.get("type")
    if kind == "function":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest("Missing required parameter: 'tool_choice.name'.", "tool_choice.name")
        return ToolChoice("function", name)
    if kind == "allowed_tools":
        acc.dropped.add("tool_choice.allowed_tools")
        mode = choice.get("mode")
        return ToolChoice("required" if mode == "required" else "auto")
    acc.block(f"'tool_choice' forces the '{kind}' tool, which this provider cannot run.", "tool_choice")
    return None


def _format(text: TextIn | None) -> ResponseFormat | None:
    fmt = text.format if text is not None else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat("json_object")
    if not fmt.name or fmt.schema_ is None:
        param = "text.format.name" if not fmt.name else "text.format.schema"
        raise InvalidRequest(f"Missing required parameter: '{param}'.", param)
    return ResponseFormat("json_schema", fmt.schema_, fmt.name, fmt.strict)
