"""Anthropic Messages requests (``/v1/messages``, ``/v1/messages/count_tokens``): the pydantic
models (validation at the edge and the OpenAPI document); ``anthropic_decode`` turns a
validated body into the canonical :class:`~llm_router.messages.ChatRequest`.

Blocks and fields we do not model are accepted (``extra="allow"``, an ``OtherBlock`` for any
other block type): an Anthropic upstream gets them as they came.

https://docs.anthropic.com/en/api/messages
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from llm_router.api.body import parse_json
from llm_router.errors import InvalidRequest

MAX_MESSAGES = 100_000


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CacheControl(_Open):
    type: str = "ephemeral"
    ttl: str | None = None


class TextBlock(_Open):
    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None


class Base64Source(_Open):
    type: Literal["base64"]
    media_type: str
    data: str


class URLSource(_Open):
    type: Literal["url"]
    url: str = Field(min_length=1)


class TextSource(_Open):
    type: Literal["text"]
    data: str
    media_type: str = "text/plain"


class ContentSource(_Open):
    type: Literal["content"]
    content: str | list[ResultPart]


class OtherSource(_Open):
    type: str


Source = Annotated[Base64Source | URLSource | TextSource | ContentSource | OtherSource,
                   Field(union_mode="left_to_right")]


class ImageBlock(_Open):
    type: Literal["image"]
    source: Source
    cache_control: CacheControl | None = None


class DocumentBlock(_Open):
    type: Literal["document"]
    source: Source
    title: str | None = None
    context: str | None = None
    cache_control: CacheControl | None = None


class ToolUseBlock(_Open):
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)
    cache_control: CacheControl | None = None


class ResultPart(_Open):
    type: str


ResultBlock = Annotated[TextBlock | ImageBlock | DocumentBlock | ResultPart,
                        Field(union_mode="left_to_right")]


class ToolResultBlock(_Open):
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[ResultBlock] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(_Open):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(_Open):
    type: Literal["redacted_thinking"]
    data: str


class OtherBlock(_Open):
    """Any other block type (server tool blocks, search results...): passed through to
    Anthropic, dropped for other providers."""

    type: str


Block = Annotated[TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock
                  | RedactedThinkingBlock | OtherBlock, Field(union_mode="left_to_right")]


class MessageParam(_Open):
    role: Literal["user", "assistant", "system"]
    content: str | list[Block]


class ToolParam(_Open):
    """A custom tool (``input_schema``) or a versioned server tool (``type``)."""

    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None
    cache_control: CacheControl | None = None


class ToolChoiceParam(_Open):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class ThinkingParam(_Open):
    type: str
    budget_tokens: int | None = Field(None, ge=0)


class MetadataParam(_Open):
    user_id: str | None = None


class CountTokensIn(_Open):
    """The request body of ``POST /v1/messages/count_tokens``."""

    model: str = Field(min_length=1, max_length=256)
    messages: list[MessageParam] = Field(max_length=MAX_MESSAGES)
    system: str | list[TextBlock] | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoiceParam | None = None
    thinking: ThinkingParam | None = None


class MessagesIn(CountTokensIn):
    """The request body of ``POST /v1/messages``."""

    max_tokens: int = Field(ge=1)
    stream: StrictBool = False
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0)
    stop_sequences: list[str] | None = None
    metadata: MetadataParam | None = None


def parse_messages(raw: bytes) -> MessagesIn:
    """Validate a ``/v1/messages`` body; 400 naming the field otherwise."""
    return read_messages(raw)[0]


def read_messages(raw: bytes) -> tuple[MessagesIn, dict[str, Any]]:
    """:func:`parse_messages`, and the body as decoded (once) for the pass-through."""
    body, data = parse_json(MessagesIn, raw, 400, "field", ("messages", MAX_MESSAGES))
    if not body.messages:
        raise InvalidRequest("messages: at least one message is required.", "messages")
    return body, data


def parse_count(raw: bytes) -> CountTokensIn:
    """Validate a ``/v1/messages/count_tokens`` body; 400 naming the field otherwise."""
    return read_count(raw)[0]


def read_count(raw: bytes) -> tuple[CountTokensIn, dict[str, Any]]:
    """:func:`parse_count`, and the body as decoded (once) for the pass-through."""
    return parse_json(CountTokensIn, raw, 400, "field", ("messages", MAX_MESSAGES))
