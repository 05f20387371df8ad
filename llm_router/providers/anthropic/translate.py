"""Pure translation between canonical types and Anthropic Messages.

Wire format: https://docs.anthropic.com/en/api/messages and
https://docs.anthropic.com/en/docs/build-with-claude/streaming
"""

from __future__ import annotations

from typing import Any

import orjson

from llm_router.errors import InvalidRequest, classify_inband
from llm_router.messages import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    ContentPart,
    FinishReason,
    Message,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llm_router.providers import params
from llm_router.providers.events import EventTranslator, as_dict, as_int, as_opt_str, as_str
from llm_router.providers.sse import SSEEvent

# Anthropic requires max_tokens; used when the client sets none.
DEFAULT_MAX_TOKENS = 4096

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
    "model_context_window_exceeded": "length", "tool_use": "tool_calls",
    "refusal": "content_filter", "pause_turn": "other",
}


def part_to_block(part: ContentPart) -> dict[str, Any]:
    """A content part as an Anthropic content block (images: base64 or URL source)."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if part.url.startswith("data:"):
        header, _, data = part.url.partition(",")
        media_type = header[5:].split(";", 1)[0]
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def _content_blocks(message: Message) -> list[dict[str, Any]]:
    content = message.content
    if content is None:
        blocks: list[dict[str, Any]] = []
    elif isinstance(content, str):
        blocks = [{"type": "text", "text": content}] if content else []
    else:
        blocks = [part_to_block(p) for p in content]
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name,
                       "input": _arguments(call.arguments)})
    return blocks


def _arguments(arguments: str) -> Any:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        raise InvalidRequest("tool call arguments must be a JSON object.", "messages") from None
    return value if isinstance(value, dict) else {"value": value}


def _tool_result(message: Message) -> dict[str, Any]:
    content = message.content
    if isinstance(content, tuple):
        result: Any = [part_to_block(p) for p in content]
    else:
        result = content or ""
    return {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": result}


def messages_to_wire(messages: tuple[Message, ...]) -> tuple[str | None, list[dict[str, Any]]]:
    """The top-level ``system`` text and the ``messages`` list. System messages are
    hoisted; tool results become user ``tool_result`` blocks; same-role turns merge."""
    system = [m.text() for m in messages if m.role == "system"]
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = [_tool_result(message)] if message.role == "tool" else _content_blocks(message)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return ("\n\n".join(system) if system else None), out


def request_to_body(request: ChatRequest, stream: bool, drop_unsupported: bool = False) -> dict[str, Any]:
    """The Messages body for a canonical request; what Anthropic cannot honour is mapped,
    dropped or refused (400) by the parameter policy (``providers/params.py``)."""
    params.decide("anthropic", request, drop_unsupported)
    system, messages = messages_to_wire(request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    budget = params.anthropic_thinking_budget(request)
    if budget is not None:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = params.thinking_max_tokens(request, budget, DEFAULT_MAX_TOKENS)
    if system:
        body["system"] = system
    if stream:
        body["stream"] = True
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    user_id = params.anthropic_user_id(request)
    if user_id:
        body["metadata"] = {"user_id": user_id}
    tier = request.extra.get("service_tier")
    if isinstance(tier, str) and tier in params.ANTHROPIC_SERVICE_TIER:
        body["service_tier"] = params.ANTHROPIC_SERVICE_TIER[tier]
    _tools_to_wire(request, body)
    if request.response_format is not None and request.response_format.type != "text":
        schema = request.response_format.schema or {"type": "object"}
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    return body


def _tools_to_wire(request: ChatRequest, body: dict[str, Any]) -> None:
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description or "",
             "input_schema": t.parameters or {"type": "object", "properties": {}}}
            for t in request.tools
        ]
    tc = request.tool_choice
    choice: dict[str, Any] | None = None
    if tc is not None and request.tools:
        kind = {"auto": "auto", "none": "none", "required": "any", "function": "tool"}[tc.mode]
        choice = {"type": kind, "name": tc.name} if kind == "tool" else {"type": kind}
    if request.parallel_tool_calls is False and request.tools:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        body["tool_choice"] = choice


def usage_from_wire(usage: dict[str, Any] | None) -> Usage:
    """Canonical usage: Anthropic's input_tokens exclude cache reads and writes."""
    if not usage:
        return Usage()
    cached = as_int(usage.get("cache_read_input_tokens"))
    written = as_int(usage.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=as_int(usage.get("input_tokens")) + cached + written,
        output_tokens=as_int(usage.get("output_tokens")),
        cached_input_tokens=cached,
    )


def response_from_body(body: dict[str, Any]) -> ChatResponse:
    """The canonical response for a Messages ``message`` body."""
    text: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[str] = []
    signature = ""
    for block in body["content"]:
        if block.get("type") == "text":
            text.append(block["text"])
        elif block.get("type") == "tool_use":
            calls.append(ToolCall(block["id"], block["name"], orjson.dumps(block.get("input", {})).decode()))
        elif block.get("type") == "thinking":
            thinking.append(str(block.get("thinking") or ""))
            signature = str(block.get("signature") or signature)
    return ChatResponse(
        reasoning="".join(thinking),
        reasoning_signature=signature,
        id=str(body.get("id", "")),
        model=str(body.get("model", "")),
        text="".join(text),
        finish_reason=FINISH_REASONS.get(body.get("stop_reason") or "end_turn", "other"),
        usage=usage_from_wire(body.get("usage")),
        tool_calls=tuple(calls),
    )


def error_from_body(body: Any) -> tuple[str | None, str]:
    """Anthropic's ``error.type`` and ``error.message``."""
    error = body["error"]
    return error.get("type"), str(error.get("message") or "")


def text_delta(data: str) -> str | None:
    """The text of a ``content_block_delta`` event carrying a ``text_delta``; None otherwise."""
    try:
        value: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict or value.get("type") != "content_block_delta":
        return None
    delta = value.get("delta")
    if type(delta) is not dict or delta.get("type") != "text_delta":
        return None
    text = delta.get("text")
    return text if type(text) is str else None


class AnthropicStreamTranslator(EventTranslator):
    """Messages stream events to canonical chunks. Ends at ``message_stop``."""

    def __init__(self) -> None:
        super().__init__()
        self.id: str | None = None
        self.model: str | None = None
        self.start_usage: dict[str, Any] = {}
        self.output_tokens = 0
        self.finish_reason: FinishReason = "stop"
        self.tool_index: dict[int, int] = {}  # Anthropic block index -> tool-call index

    def translate(self, event: SSEEvent) -> list[ChatChunk]:
        """Chunks for one SSE event (a text delta, the common event, is read directly)."""
        if event.event == "content_block_delta" and (text := text_delta(event.data)) is not None:
            return [self._chunk(text=text)] if text else []
        data = self.load(event)
        kind = data.get("type") or event.event
        handler = getattr(self, "_on_" + str(kind), None)
        return handler(data) if handler is not None else []  # type: ignore[no-any-return]

    def _on_message_start(self, data: dict[str, Any]) -> list[ChatChunk]:
        message = as_dict(data.get("message"))
        self.id, self.model = as_opt_str(message.get("id")), as_opt_str(message.get("model"))
        usage = as_dict(message.get("usage"))
        usage_from_wire(usage)  # wrongly shaped counts skip the event here, not at the end
        self.start_usage = dict(usage)
        return []

    def _on_content_block_start(self, data: dict[str, Any]) -> list[ChatChunk]:
        block = as_dict(data.get("content_block"))
        if block.get("type") == "tool_use":
            index = self.tool_index.setdefault(as_int(data.get("index")), len(self.tool_index))
            delta = ToolCallDelta(index, as_opt_str(block.get("id")), as_opt_str(block.get("name")))
            return [self._chunk(tool_calls=(delta,))]
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk(text=as_str(block["text"]))]
        if block.get("type") == "thinking" and block.get("thinking"):
            return [self._chunk(reasoning=as_str(block["thinking"]))]
        return []

    def _on_content_block_delta(self, data: dict[str, Any]) -> list[ChatChunk]:
        delta = as_dict(data.get("delta"))
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [self._chunk(text=as_str(delta["text"]))]
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            index = self.tool_index.get(as_int(data.get("index")), 0)
            return [self._chunk(tool_calls=(ToolCallDelta(index, arguments=as_str(delta["partial_json"])),))]
        if delta.get("type") == "thinking_delta" and delta.get("thinking"):
            return [self._chunk(reasoning=as_str(delta["thinking"]))]
        if delta.get("type") == "signature_delta" and delta.get("signature"):
            return [ChatChunk(reasoning_signature=as_str(delta["signature"]), id=self.id, model=self.model)]
        return []

    def _on_message_delta(self, data: dict[str, Any]) -> list[ChatChunk]:
        stop = as_opt_str(as_dict(data.get("delta")).get("stop_reason"))
        usage = as_dict(data.get("usage"))
        output_tokens = as_int(usage.get("output_tokens"), self.output_tokens)
        counts = {key: as_int(usage[key]) for key in
                  ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
                  if usage.get(key) is not None}
        if stop:
            self.finish_reason = FINISH_REASONS.get(stop, "other")
        self.output_tokens = output_tokens or self.output_tokens
        self.start_usage.update(counts)
        return []

    def _on_message_stop(self, data: dict[str, Any]) -> list[ChatChunk]:
        self.done = True
        usage = usage_from_wire({**self.start_usage, "output_tokens": self.output_tokens})
        return [ChatChunk(finish_reason=self.finish_reason, usage=usage, id=self.id, model=self.model)]

    def _on_error(self, data: dict[str, Any]) -> list[ChatChunk]:
        error = data.get("error")
        error = error if isinstance(error, dict) else {}
        kind = error.get("type")
        message = str(error.get("message") or "Upstream stream error.")
        raise classify_inband("anthropic", kind if isinstance(kind, str) else None, message)

    def text_chunk(self, text: str) -> ChatChunk:
        """The chunk of a text delta (what :meth:`feed` makes of one)."""
        return ChatChunk(text=text, id=self.id, model=self.model)

    def _chunk(self, text: str = "", tool_calls: tuple[ToolCallDelta, ...] = (),
               reasoning: str = "") -> ChatChunk:
        return ChatChunk(text=text, tool_calls=tool_calls, id=self.id, model=self.model,
                         reasoning=reasoning)
