"""Pure translation between canonical types and the AWS Bedrock Converse API.

Wire format: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
and ``ConverseStream`` (events named by the binary event stream's ``:event-type`` header;
the frames themselves are decoded in ``chat_model.py`` with botocore's parser).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from llm_router.errors import (
    InvalidRequest,
    ProviderError,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamServerError,
)
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
from llm_router.providers.events import as_dict, as_int, as_str

#: The answer's cap added to a thinking budget when the client sets none (as for Anthropic).
DEFAULT_MAX_TOKENS = 4096
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                 "image/webp": "webp"}
FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
    "model_context_window_exceeded": "length", "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
    "malformed_model_output": "error", "malformed_tool_use": "error",
}
SHAPE_ERRORS = (TypeError, KeyError, AttributeError, ValueError, IndexError)


# ----------------------------------------------------------------- request


def image_block(part: ContentPart) -> dict[str, Any]:
    """An image as a Converse ``image`` block: Bedrock takes bytes (base64 in JSON), no URLs."""
    assert not isinstance(part, TextPart)
    header, _, data = part.url.partition(",")
    mime = header[5:].split(";", 1)[0] if header.startswith("data:") else ""
    if mime not in IMAGE_FORMATS or ";base64" not in header:
        raise InvalidRequest("Bedrock takes images as base64 data: URLs (png, jpeg, gif, webp).", "messages")
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("An image data: URL is not valid base64.", "messages") from None
    return {"image": {"format": IMAGE_FORMATS[mime], "source": {"bytes": data}}}


def _blocks(message: Message) -> list[dict[str, Any]]:
    content = message.content
    if content is None or content == "":
        blocks: list[dict[str, Any]] = []
    elif isinstance(content, str):
        blocks = [{"text": content}]
    else:
        blocks = [{"text": p.text} if isinstance(p, TextPart) else image_block(p) for p in content]
    for call in message.tool_calls:
        use = {"toolUseId": call.id, "name": call.name, "input": _arguments(call.arguments)}
        blocks.append({"toolUse": use})
    return blocks


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        raise InvalidRequest("tool call arguments must be a JSON object.", "messages") from None
    return value if isinstance(value, dict) else {"value": value}


def _tool_result(message: Message) -> dict[str, Any]:
    text = message.text()
    try:
        value = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        value = None
    content = [{"json": value}] if isinstance(value, dict) else [{"text": text or " "}]
    return {"toolResult": {"toolUseId": message.tool_call_id or "", "content": content, "status": "success"}}


def messages_to_wire(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``system`` blocks and ``messages``: tool results are user ``toolResult`` blocks and
    same-role turns merge (Converse wants alternating turns)."""
    system = [{"text": m.text()} for m in messages if m.role == "system" and m.text()]
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = [_tool_result(message)] if message.role == "tool" else _blocks(message)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return system, out


def request_to_body(request: ChatRequest, drop_unsupported: bool = False) -> dict[str, Any]:
    """The Converse body (the model id goes in the URL); 400 for what Converse cannot do."""
    _check_supported(request, drop_unsupported)
    system, messages = messages_to_wire(request.messages)
    body: dict[str, Any] = {"messages": messages}
    if system:
        body["system"] = system
    config: dict[str, Any] = {}
    for ours, theirs in (("max_tokens", "maxTokens"), ("temperature", "temperature"), ("top_p", "topP")):
        if getattr(request, ours) is not None:
            config[theirs] = getattr(request, ours)
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if config:
        body["inferenceConfig"] = config
    _tools_to_wire(request, body, messages)
    _format_to_wire(request, body)
    extra = _model_fields(request, config)
    if extra:
        body["additionalModelRequestFields"] = extra
    return body


def _check_supported(request: ChatRequest, drop: bool) -> None:
    """The parameter policy (``providers/params.py``): 400 for what Converse would silently
    change, unless dropped."""
    params.decide("bedrock", request, drop)
    params.effort(request)


def _tools_to_wire(request: ChatRequest, body: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    choice = request.tool_choice
    used = any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"])
    if not request.tools or (choice is not None and choice.mode == "none" and not used):
        return  # Converse has no "none": no tools offered (kept if the history has tool blocks)
    tools = [{"toolSpec": {"name": t.name, "description": t.description or t.name,
                           "inputSchema": {"json": t.parameters or {"type": "object", "properties": {}}}}}
             for t in request.tools]
    config: dict[str, Any] = {"tools": tools}
    if choice is not None and choice.mode == "required":
        config["toolChoice"] = {"any": {}}
    elif choice is not None and choice.mode == "function" and choice.name:
        config["toolChoice"] = {"tool": {"name": choice.name}}
    body["toolConfig"] = config


def _format_to_wire(request: ChatRequest, body: dict[str, Any]) -> None:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return
    schema = fmt.schema if fmt.type == "json_schema" and fmt.schema else {"type": "object"}
    definition = {"schema": orjson.dumps(schema).decode(), "name": fmt.name or "response"}
    body["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _model_fields(request: ChatRequest, config: dict[str, Any]) -> dict[str, Any]:
    """``additionalModelRequestFields``: ``top_k``, and for Claude models the thinking budget
    of ``reasoning_effort`` (the Anthropic provider's table and conditions; ``maxTokens`` is
    raised by the budget so the answer still fits)."""
    fields: dict[str, Any] = {}
    if request.extra.get("top_k") is not None:
        fields["top_k"] = request.extra["top_k"]
    budget = params.anthropic_thinking_budget(request) if "anthropic." in request.model else None
    if budget is not None:
        fields["thinking"] = {"type": "enabled", "budget_tokens": budget}
        config["maxTokens"] = params.thinking_max_tokens(request, budget, DEFAULT_MAX_TOKENS)
    return fields


# ----------------------------------------------------------------- response


def usage_from_wire(usage: dict[str, Any] | None) -> Usage:
    """Canonical usage: Converse's ``inputTokens`` exclude cache reads and writes."""
    if not usage:
        return Usage()
    usage = as_dict(usage)
    cached, written = as_int(usage.get("cacheReadInputTokens")), as_int(usage.get("cacheWriteInputTokens"))
    total_input = as_int(usage.get("inputTokens")) + cached + written
    return Usage(total_input, as_int(usage.get("outputTokens")), cached)


def response_from_body(body: dict[str, Any]) -> ChatResponse:
    """The canonical response for a Converse answer (reasoning blocks go to ``reasoning``)."""
    content = body["output"]["message"]["content"]
    text = "".join(b["text"] for b in content if isinstance(b.get("text"), str))
    calls = tuple(ToolCall(str(b["toolUse"]["toolUseId"]), str(b["toolUse"]["name"]),
                           orjson.dumps(b["toolUse"].get("input") or {}).decode())
                  for b in content if isinstance(b.get("toolUse"), dict))
    reasoning = [b["reasoningContent"].get("reasoningText") or {} for b in content
                 if isinstance(b.get("reasoningContent"), dict)]
    return ChatResponse(id="", model="", text=text,
                        finish_reason=FINISH_REASONS.get(str(body.get("stopReason")), "other"),
                        usage=usage_from_wire(body.get("usage")), tool_calls=calls,
                        reasoning="".join(str(r.get("text") or "") for r in reasoning),
                        reasoning_signature="".join(str(r.get("signature") or "") for r in reasoning))


def error_type(header: str | None, body: Any) -> str | None:
    """The exception name: ``x-amzn-ErrorType`` cut at ``:`` (botocore's rule), else the body's."""
    if not header and isinstance(body, dict):
        header = body.get("__type") or body.get("code") or body.get("Code")
    value = header
    if not value:
        return None
    return str(value).split(":", 1)[0].rsplit("#", 1)[-1]


def error_message(body: Any) -> str:
    """The message of an error body (``message`` or ``Message``)."""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("Message") or "")
    return ""


def stream_exception(provider: str, kind: str | None, message: str) -> ProviderError:
    """The typed error for an exception frame after the 200 (classified case-insensitively)."""
    name = (kind or "").lower()
    message = message[:2000] or "Upstream stream error."
    if name in ("throttlingexception", "modelnotreadyexception"):
        return UpstreamRateLimited(message, provider=provider, upstream_type=kind)
    if name in ("validationexception", "accessdeniedexception", "resourcenotfoundexception"):
        return UpstreamBadRequest(message, provider=provider, upstream_type=kind)
    return UpstreamServerError(message, provider=provider, upstream_type=kind)


class BedrockStreamTranslator:
    """ConverseStream events to canonical chunks. Text blocks open with their first delta
    (no ``contentBlockStart``); ``metadata`` (usage) is the last event. Unreadable events
    are skipped and counted in ``skipped``."""

    def __init__(self, provider: str = "bedrock") -> None:
        self.provider = provider
        self.done = False
        self.skipped = 0
        self.finish_reason: FinishReason = "stop"
        self.tool_index: dict[int, int] = {}  # contentBlockIndex -> tool-call index

    def feed_event(self, event_type: str, payload: bytes) -> list[ChatChunk]:
        """Chunks for one event frame."""
        try:
            data = orjson.loads(payload)
            handler = getattr(self, "_on_" + event_type, None)
            return handler(data) if handler is not None and isinstance(data, dict) else []
        except (orjson.JSONDecodeError, *SHAPE_ERRORS):
            self.skipped += 1
            return []

    def _on_contentBlockStart(self, data: dict[str, Any]) -> list[ChatChunk]:
        tool = as_dict(data.get("start")).get("toolUse")
        if tool is None:
            return []
        tool = as_dict(tool)
        index = self.tool_index.setdefault(as_int(data.get("contentBlockIndex")), len(self.tool_index))
        return [ChatChunk(tool_calls=(ToolCallDelta(index, as_str(tool.get("toolUseId")),
                                                    as_str(tool.get("name"))),))]

    def _on_contentBlockDelta(self, data: dict[str, Any]) -> list[ChatChunk]:
        delta = as_dict(data["delta"])
        if delta.get("text") is not None:
            text = as_str(delta["text"])
            return [ChatChunk(text=text)] if text else []
        if delta.get("toolUse") is not None:
            piece = as_str(as_dict(delta["toolUse"]).get("input"))
            index = self.tool_index.get(as_int(data.get("contentBlockIndex")), 0)
            return [ChatChunk(tool_calls=(ToolCallDelta(index, arguments=piece),))] if piece else []
        thinking = as_dict(delta.get("reasoningContent"))
        text, signature = as_str(thinking.get("text")), as_str(thinking.get("signature"))
        return [ChatChunk(reasoning=text, reasoning_signature=signature)] if text or signature else []

    def _on_messageStop(self, data: dict[str, Any]) -> list[ChatChunk]:
        self.finish_reason = FINISH_REASONS.get(as_str(data.get("stopReason")), "other")
        return []

    def _on_metadata(self, data: dict[str, Any]) -> list[ChatChunk]:
        self.done = True
        return [ChatChunk(finish_reason=self.finish_reason, usage=usage_from_wire(data.get("usage")))]
