"""Pure translation between canonical types and OpenAI Chat Completions.

Wire format: https://platform.openai.com/docs/api-reference/chat
"""

from __future__ import annotations

from typing import Any

from llm_router.errors import classify_inband
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
from llm_router.providers.events import EventTranslator, as_dict, as_int, as_list, as_opt_str, as_str
from llm_router.providers.sse import SSEEvent

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls",
    "function_call": "tool_calls", "content_filter": "content_filter",
}


def part_to_wire(part: ContentPart) -> dict[str, Any]:
    """One content part in OpenAI's shape."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image: dict[str, Any] = {"url": part.url}
    if part.detail:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


def message_to_wire(message: Message) -> dict[str, Any]:
    """One message in OpenAI's shape."""
    out: dict[str, Any] = {"role": message.role}
    content = message.content
    if content is None or isinstance(content, str):
        out["content"] = content
    else:
        out["content"] = [part_to_wire(p) for p in content]
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def request_to_body(
    request: ChatRequest, stream: bool, max_tokens_field: str = "max_completion_tokens"
) -> dict[str, Any]:
    """The Chat Completions body for a canonical request."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [message_to_wire(m) for m in request.messages],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    _copy_sampling(request, body, max_tokens_field)
    if request.tools:
        body["tools"] = [_tool_to_wire(t) for t in request.tools]
    if request.tool_choice is not None:
        tc = request.tool_choice
        body["tool_choice"] = (
            {"type": "function", "function": {"name": tc.name}} if tc.mode == "function" else tc.mode
        )
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.response_format is not None:
        body["response_format"] = _format_to_wire(request)
    for key, value in request.extra.items():
        body.setdefault(key, value)  # OpenAI-only parameters pass through untouched
    return body


def passthrough_body(body: dict[str, Any], model: str, stream: bool,
                     max_tokens_field: str = "max_completion_tokens") -> dict[str, Any]:
    """A client's own Chat Completions body, to send upstream as it is: ``model`` replaced,
    ``stream``/``stream_options`` ours (usage always asked for), and the output cap under
    ``max_tokens_field`` when the server wants ``max_tokens``. The same body, streamed or not."""
    out = {key: value for key, value in body.items() if key not in ("stream", "stream_options")}
    out["model"] = model
    if max_tokens_field == "max_tokens" and "max_completion_tokens" in out:
        # Both fields in, one out: max_completion_tokens wins, as on OpenAI and in ChatRequest.
        cap = out.pop("max_completion_tokens")
        if cap is not None:
            out["max_tokens"] = cap
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _copy_sampling(request: ChatRequest, body: dict[str, Any], max_tokens_field: str) -> None:
    for name in ("temperature", "top_p", "seed", "user", "n"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)


def _tool_to_wire(tool: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = tool.parameters
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _format_to_wire(request: ChatRequest) -> dict[str, Any]:
    fmt = request.response_format
    assert fmt is not None
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    schema: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.schema or {}}
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": schema}


def usage_from_wire(usage: dict[str, Any] | None) -> Usage:
    """Canonical usage from OpenAI's usage object (prompt tokens include cached ones)."""
    if not usage:
        return Usage()
    details = as_dict(usage.get("prompt_tokens_details"))
    output = as_dict(usage.get("completion_tokens_details"))
    return Usage(_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")),
                 _count(details.get("cached_tokens")), _count(output.get("reasoning_tokens")))


def _count(value: Any) -> int:
    """``as_int(value)``, with the usual case (a plain int in range) decided first."""
    return value if type(value) is int and 0 <= value < 2**53 else as_int(value)


def response_from_body(body: dict[str, Any], raw: bytes | None = None) -> ChatResponse:
    """The canonical response for a ``chat.completion`` body (first choice); ``raw``, the
    body's bytes, is kept when the answer is to be passed through."""
    choice = body["choices"][0]
    message = choice["message"]
    wire_calls = message.get("tool_calls")
    calls = tuple(
        ToolCall(c["id"], c["function"]["name"], c["function"].get("arguments") or "")
        for c in wire_calls
    ) if wire_calls else ()
    return ChatResponse(
        id=str(body.get("id", "")),
        model=str(body.get("model", "")),
        text=message.get("content") or "",
        finish_reason=FINISH_REASONS.get(choice.get("finish_reason") or "stop", "other"),
        usage=usage_from_wire(body.get("usage")),
        tool_calls=calls,
        raw=raw,
        reasoning=reasoning_text(message),
    )


def reasoning_text(message: dict[str, Any]) -> str:
    """The visible reasoning OpenAI-compatible hosts return beside ``content``: ``reasoning_content``
    (DeepSeek, vLLM, Qwen) or ``reasoning`` (OpenRouter, Ollama, Groq)."""
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) else ""


def error_from_body(body: Any) -> tuple[str | None, str]:
    """Error type (``code`` preferred, e.g. ``insufficient_quota``) and message."""
    error = body["error"]
    if isinstance(error, str):
        return None, error
    return (error.get("code") or error.get("type")), str(error.get("message") or "")


class OpenAIStreamTranslator(EventTranslator):
    """Chat Completions chunks to canonical chunks. Ends at ``data: [DONE]``."""

    def __init__(self, provider: str = "openai") -> None:
        super().__init__()
        self.provider = provider
        self.finish_reason: FinishReason | None = None
        self.usage: Usage | None = None
        self.id: str | None = None
        self.model: str | None = None

    def translate(self, event: SSEEvent) -> list[ChatChunk]:
        """Chunks for one SSE event."""
        if event.data.strip() == "[DONE]":
            self.done = True
            return [ChatChunk(finish_reason=self.finish_reason or "stop", usage=self.usage or Usage())]
        data = self.load(event)
        if data.get("error"):
            kind, message = _stream_error(data)
            raise classify_inband(self.provider, kind, message or "Upstream stream error.")
        if self.id is None:
            self.id, self.model = as_opt_str(data.get("id")), as_opt_str(data.get("model"))
        if data.get("usage"):
            self.usage = usage_from_wire(as_dict(data["usage"]))
        return self._choices(as_list(data.get("choices")))

    def _choices(self, choices: list[Any]) -> list[ChatChunk]:
        out: list[ChatChunk] = []
        for choice in choices:
            choice = as_dict(choice)
            if choice.get("index", 0) != 0:
                continue
            delta = as_dict(choice.get("delta"))
            calls = tuple(_call_delta(as_dict(c)) for c in as_list(delta.get("tool_calls")))
            if choice.get("finish_reason"):
                self.finish_reason = FINISH_REASONS.get(as_str(choice["finish_reason"]), "other")
            text, thought = as_str(delta.get("content")), reasoning_text(delta)
            if text or calls or thought:
                out.append(ChatChunk(text=text, tool_calls=calls, id=self.id, model=self.model,
                                     reasoning=thought))
        return out


def _call_delta(call: dict[str, Any]) -> ToolCallDelta:
    function = as_dict(call.get("function"))
    return ToolCallDelta(index=as_int(call.get("index")), id=as_opt_str(call.get("id")),
                         name=as_opt_str(function.get("name")), arguments=as_str(function.get("arguments")))


def _stream_error(data: dict[str, Any]) -> tuple[str | None, str]:
    error = data["error"]
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, ""
    kind = error.get("code") or error.get("type")
    return (kind if isinstance(kind, str) else None), str(error.get("message") or "")
