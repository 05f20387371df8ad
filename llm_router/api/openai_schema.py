"""The OpenAI Chat Completions request, validated at the edge and turned canonical.

https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from llm_router.api.body import invalid_body, reject_huge_integers
from llm_router.api.list_count import longer_than
from llm_router.errors import InvalidRequest
from llm_router.messages import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    WireBody,
)

# Fields a client may never set: they would redirect our keys or requests (I10).
FORBIDDEN = ("api_base", "base_url", "api_key", "extra_headers", "organization", "extra_body")
MAX_MESSAGES = 4096


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow", strict=False)


class TextPartIn(_Strict):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str = Field(min_length=1)
    detail: str | None = None


class ImagePartIn(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


class OtherPartIn(_Strict):
    type: str


PartIn = Annotated[TextPartIn | ImagePartIn | OtherPartIn, Field(union_mode="left_to_right")]


class FunctionIn(_Strict):
    name: str = Field(min_length=1, max_length=128)
    arguments: str = ""


class ToolCallIn(_Strict):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionIn


class MessageIn(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[PartIn] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class FunctionDef(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_.\-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(_Strict):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Strict):
    name: str


class NamedToolChoice(_Strict):
    type: Literal["function"]
    function: NamedFunction


class JSONSchemaIn(_Strict):
    name: str = "response"
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormatIn(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaIn | None = None


class StreamOptions(_Strict):
    include_usage: StrictBool = False


class ChatCompletionIn(_Strict):
    """The request body of ``POST /v1/chat/completions``."""

    model: str = Field(min_length=1, max_length=256)
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)
    user: str | None = None
    n: int | None = Field(None, ge=1, le=128)
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None

    @field_validator("stop")
    @classmethod
    def _at_most_four(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value


def parse_request(raw: bytes) -> tuple[ChatCompletionIn, dict[str, Any]]:
    """Decode (once) and validate a raw body: the model and the decoded JSON object;
    InvalidRequest (400) naming the parameter otherwise."""
    # Counted before decoding: decoding (let alone validating) 100,000 messages only to
    # refuse them would hold the event loop for a tenth of a second.
    if longer_than(raw, MAX_MESSAGES):
        raise InvalidRequest(f"Invalid parameter 'messages': at most {MAX_MESSAGES} messages.", "messages")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON ({exc.msg}).", None, 400) from None
    if not isinstance(data, dict):
        raise InvalidRequest("Request body must be a JSON object.", None, 400)
    try:
        body = ChatCompletionIn.model_validate(data)
    except ValidationError as exc:
        raise invalid_body(exc, 400, "parameter") from None
    reject_huge_integers(raw, 400, "parameter")  # orjson would have read it as a double
    extra = body.model_extra or {}
    for name in FORBIDDEN:
        if name in extra:
            raise InvalidRequest(f"Parameter '{name}' is not allowed.", name)
    if body.stream_options is not None and not body.stream:
        raise InvalidRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options")
    return body, data


def to_canonical(body: ChatCompletionIn, origin: WireBody | None = None) -> ChatRequest:
    """The canonical request for a validated body (``model`` is resolved by the gateway)."""
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    return ChatRequest(
        model="",
        messages=tuple(_message(m, i) for i, m in enumerate(body.messages)),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        stop=stop,
        seed=body.seed,
        user=body.user,
        n=body.n,
        tools=tuple(Tool(t.function.name, t.function.description, t.function.parameters,
                         t.function.strict) for t in body.tools or ()),
        tool_choice=_tool_choice(body.tool_choice),
        parallel_tool_calls=body.parallel_tool_calls,
        response_format=_response_format(body.response_format),
        include_usage=bool(body.stream_options and body.stream_options.include_usage),
        extra=dict(body.model_extra or {}),
        origin=origin,
    )


def _message(message: MessageIn, index: int) -> Message:
    role = "system" if message.role == "developer" else message.role
    if role == "tool" and not message.tool_call_id:
        raise InvalidRequest("A tool message needs 'tool_call_id'.", f"messages.{index}.tool_call_id")
    content: str | tuple[ContentPart, ...] | None
    if isinstance(message.content, list):
        content = tuple(_part(p, index) for p in message.content)
    else:
        content = message.content
    calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ())
    return Message(role, content, calls, message.tool_call_id, message.name)


def _part(part: TextPartIn | ImagePartIn | OtherPartIn, index: int) -> ContentPart:
    if isinstance(part, TextPartIn):
        return TextPart(part.text)
    if isinstance(part, ImagePartIn):
        return ImagePart(part.image_url.url, part.image_url.detail)
    raise InvalidRequest(f"Content part type '{part.type}' is not supported.", f"messages.{index}.content")


def _tool_choice(choice: str | NamedToolChoice | None) -> ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, NamedToolChoice):
        return ToolChoice("function", choice.function.name)
    return ToolChoice(choice)  # type: ignore[arg-type]


def _response_format(fmt: ResponseFormatIn | None) -> ResponseFormat | None:
    if fmt is None:
        return None
    if fmt.type == "json_schema":
        if fmt.json_schema is None:
            raise InvalidRequest("'json_schema' is required for type json_schema.", "response_format")
        schema = fmt.json_schema
        return ResponseFormat("json_schema", schema.schema_, schema.name, schema.strict)
    return ResponseFormat(fmt.type)
