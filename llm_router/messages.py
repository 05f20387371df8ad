"""Canonical request, response and stream types shared by every surface and provider.

Surfaces (``/chat/``, ``/v1/chat/completions``) parse their wire format into a
:class:`ChatRequest`; providers turn it into their own body and answer with a
:class:`ChatResponse` or a stream of :class:`ChatChunk`. Plain frozen dataclasses:
they are built on the hot path and must stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]


@dataclass(frozen=True, slots=True)
class TextPart:
    """A piece of text inside a message."""

    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by URL: ``https://...`` or a ``data:<mime>;base64,...`` URL."""

    url: str
    detail: str | None = None


ContentPart = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call made by the model; ``arguments`` is a JSON-encoded string."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn. ``content`` is a string, a tuple of parts, or None."""

    role: Role
    content: str | tuple[ContentPart, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def text(self) -> str:
        """The concatenated text of this message, ignoring non-text parts."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call; ``parameters`` is a JSON schema object."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """``auto``, ``none``, ``required``, or ``function`` with the tool's ``name``."""

    mode: Literal["auto", "none", "required", "function"]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """Structured output: ``json_object`` or ``json_schema`` (with ``schema``)."""

    type: Literal["text", "json_object", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class WireBody:
    """The client's own request body, kept so that a provider speaking the same wire
    format (``openai``, ``anthropic``) can pass it upstream untouched, fields we do not
    model included. Only the provider model of that format reads it."""

    format: str
    body: dict[str, Any]
    #: The body's bytes as the client sent them, for a byte-identical pass-through.
    raw: bytes | None = None
    #: Client headers meant for an upstream of the same format only (``anthropic-beta``,
    #: ``anthropic-version``): a provider of another format never sends them.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reasoning:
    """A reasoning ("thinking") setting: ``effort`` a level (``none``, ``minimal``, ``low``,
    ``medium``, ``high``, ``xhigh``; ``none`` turns it off) and, when the client gave one, an exact
    ``budget_tokens``. Providers that take a token budget use it; those that take levels, the effort
    (``providers/reasoning.py``)."""

    effort: str
    budget_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A provider-neutral chat request; ``model`` is the upstream model name."""

    model: str
    messages: tuple[Message, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    user: str | None = None
    n: int | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    include_usage: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: The reasoning setting of a surface that has one as a field (Anthropic's ``thinking``); the
    #: OpenAI surfaces' ``reasoning_effort`` stays in ``extra``.
    reasoning: Reasoning | None = None
    #: The client's body, when the surface keeps it for a same-format pass-through.
    origin: WireBody | None = None

    def with_model(self, model: str) -> ChatRequest:
        """This request for upstream model ``model``: ``dataclasses.replace`` at half the cost
        (it is made for every attempt)."""
        if model == self.model:
            return self
        copy = object.__new__(ChatRequest)
        for name in _REQUEST_FIELDS:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "model", model)
        return copy


_REQUEST_FIELDS = tuple(ChatRequest.__slots__)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts. ``input_tokens`` includes ``cached_input_tokens``; ``output_tokens``
    includes ``reasoning_tokens`` (when the provider reports them)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    #: The counts are our estimate, not the provider's: it reported none (or 0 input tokens,
    #: which no real prompt has), or the stream ended before its usage came.
    estimated: bool = False
    #: Served from the response cache: the counts are those of the answer it stored.
    cached: bool = False

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """A complete answer from one provider."""

    id: str
    model: str
    text: str
    finish_reason: FinishReason
    usage: Usage
    tool_calls: tuple[ToolCall, ...] = ()
    #: The upstream body as it came, when it is in the format of ``ChatRequest.origin``
    #: (a pass-through): the surface may send it on unchanged.
    raw: bytes | None = None
    #: The model's visible reasoning ("thinking"), when the provider returns it, and the
    #: provider's signature over it (Anthropic), to be sent back unchanged in a later turn.
    reasoning: str = ""
    reasoning_signature: str = ""


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a streamed tool call; ``id`` and ``name`` come with the first one."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """One piece of a streamed answer: text, tool-call fragments, and at the end
    the finish reason and usage."""

    text: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None
    #: A piece of the model's reasoning, and (once, at its end) its signature.
    reasoning: str = ""
    reasoning_signature: str = ""
    #: The upstream bytes this chunk was read from, when the stream is a same-format
    #: pass-through (``ChatRequest.origin``): the surface sends them on unchanged.
    raw: bytes | None = None

    @property
    def has_content(self) -> bool:
        """True when the chunk carries text, reasoning or tool-call data for the client."""
        return bool(self.text or self.tool_calls or self.reasoning)


def merge_chunks(chunks: list[ChatChunk]) -> ChatChunk:
    """One chunk saying what ``chunks`` say in order: texts joined, tool-call fragments of
    the same call joined, the last finish reason and usage kept."""
    if len(chunks) == 1:
        return chunks[0]
    calls: dict[int, ToolCallDelta] = {}
    finish, usage = None, None
    for chunk in chunks:
        for delta in chunk.tool_calls:
            seen = calls.get(delta.index)
            calls[delta.index] = delta if seen is None else ToolCallDelta(
                delta.index, seen.id or delta.id, seen.name or delta.name, seen.arguments + delta.arguments)
        finish = chunk.finish_reason or finish
        usage = chunk.usage or usage
    first = chunks[0]
    raws = [c.raw for c in chunks if c.raw is not None]
    return ChatChunk("".join(c.text for c in chunks), tuple(calls.values()), finish, usage,
                     first.id or chunks[-1].id, first.model or chunks[-1].model,
                     reasoning="".join(c.reasoning for c in chunks),
                     reasoning_signature="".join(c.reasoning_signature for c in chunks),
                     raw=b"".join(raws) if raws else None)
