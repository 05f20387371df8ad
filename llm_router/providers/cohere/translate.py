"""Pure translation between canonical types and Cohere Chat v2.

Wire format: https://docs.cohere.com/v2/reference/chat and
https://docs.cohere.com/v2/docs/streaming
"""

from __future__ import annotations

from dataclasses import replace
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
from llm_router.providers import params, reasoning
from llm_router.providers.events import EventTranslator, as_dict, as_int, as_opt_str, as_str
from llm_router.providers.sse import SSEEvent

# OpenAI parameters Cohere accepts under the same name.
PASSED_THROUGH = ("frequency_penalty", "presence_penalty")
#: Cohere refuses ``response_format`` together with tools; the schema then goes to the system
#: message as an instruction (the API does not enforce it).
FORMAT_INSTRUCTION = "When you give your final answer (not a tool call), answer with only a JSON object"

INVALID_PREFIX = "invalid request: "
DOUBLED_PREFIX = INVALID_PREFIX * 2

FINISH_REASONS: dict[str, FinishReason] = {
    "COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls", "ERROR": "error", "TIMEOUT": "error",
}


def _part_to_wire(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image = {"url": part.url, "detail": part.detail} if part.detail else {"url": part.url}
    return {"type": "image_url", "image_url": image}


def message_to_wire(message: Message) -> dict[str, Any]:
    """One message in Cohere's shape (system must come first; the caller keeps order)."""
    out: dict[str, Any] = {"role": message.role}
    content = message.content
    if isinstance(content, tuple):
        if message.role in ("user",):
            out["content"] = [_part_to_wire(p) for p in content]
        else:
            out["content"] = message.text()
    elif content is not None:
        out["content"] = content
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
        out.setdefault("content", "")
    return out


def request_to_body(request: ChatRequest, stream: bool, drop_unsupported: bool = False) -> dict[str, Any]:
    """The Chat v2 body for a canonical request; what Cohere cannot honour is mapped, dropped
    or refused (400) by the parameter policy (``providers/params.py``)."""
    params.decide("cohere", request, drop_unsupported)
    systems = [m.text() for m in request.messages if m.role == "system"]
    others = [m for m in request.messages if m.role != "system"]
    fmt = request.response_format
    formatted = fmt is not None and fmt.type != "text"
    if formatted and request.tools:
        systems.append(_format_instruction(request))
    messages = []
    if systems:
        messages.append({"role": "system", "content": "\n\n".join(systems)})
    messages.extend(message_to_wire(m) for m in others)
    body: dict[str, Any] = {"model": request.model, "messages": messages, "stream": stream}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["p"] = request.top_p
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    for key in PASSED_THROUGH:
        if key in request.extra:
            body[key] = request.extra[key]
    _thinking_to_wire(request, body)
    _tools_to_wire(request, body, drop_unsupported)
    if fmt is not None and formatted and not request.tools:
        body["response_format"] = {"type": "json_object"}
        if fmt.schema:
            body["response_format"]["json_schema"] = fmt.schema
    return body


def _format_instruction(request: ChatRequest) -> str:
    fmt = request.response_format
    schema = fmt.schema if fmt is not None else None
    if not schema:
        return FORMAT_INSTRUCTION + "."
    return f"{FORMAT_INSTRUCTION} matching this JSON schema:\n{orjson.dumps(schema).decode()}"


def _thinking_to_wire(request: ChatRequest, body: dict[str, Any]) -> None:
    """The reasoning setting → ``thinking`` on Cohere's reasoning models (``none``: disabled;
    ``token_budget`` the client's exact budget, else its level's)."""
    thinking = reasoning.cohere_thinking(request.model, reasoning.requested(request))
    if thinking is not None:
        body["thinking"] = thinking


def first_call_only(request: ChatRequest, response: ChatResponse) -> ChatResponse:
    """``parallel_tool_calls: false`` honoured: Cohere is asked as usual, one call is returned."""
    if request.parallel_tool_calls is False and len(response.tool_calls) > 1:
        return replace(response, tool_calls=response.tool_calls[:1])
    return response


def first_call_chunk(request: ChatRequest, chunk: ChatChunk) -> ChatChunk | None:
    """The streamed form of :func:`first_call_only`: fragments of later calls are left out
    (None: nothing of the chunk is left)."""
    if request.parallel_tool_calls is not False or not chunk.tool_calls:
        return chunk
    calls = tuple(d for d in chunk.tool_calls if d.index == 0)
    if len(calls) == len(chunk.tool_calls):
        return chunk
    if not calls and not (chunk.text or chunk.reasoning or chunk.finish_reason or chunk.usage):
        return None
    return replace(chunk, tool_calls=calls)


def _tools_to_wire(request: ChatRequest, body: dict[str, Any], drop: bool) -> None:
    if request.tools:
        body["tools"] = [
            {"type": "function", "function": {
                "name": t.name, "description": t.description or "",
                "parameters": t.parameters or {"type": "object", "properties": {}}}}
            for t in request.tools
        ]
    tc = request.tool_choice
    if tc is None or not request.tools or tc.mode == "auto":
        return
    if tc.mode == "function":
        # Cohere cannot force a named tool; with exactly that one tool, REQUIRED is the same.
        names = [t.name for t in request.tools]
        if names != [tc.name] and not drop:
            raise InvalidRequest("Cohere cannot force a specific tool among several.", "tool_choice")
        body["tool_choice"] = "REQUIRED"
        return
    body["tool_choice"] = "REQUIRED" if tc.mode == "required" else "NONE"


def usage_from_wire(usage: dict[str, Any] | None) -> Usage:
    """Canonical usage from Cohere's ``billed_units`` (what is charged), else ``tokens``."""
    if not usage:
        return Usage()
    counts = as_dict(usage.get("billed_units") or usage.get("tokens"))
    return Usage(
        input_tokens=as_int(counts.get("input_tokens")),
        output_tokens=as_int(counts.get("output_tokens")),
        cached_input_tokens=as_int(usage.get("cached_tokens")),
    )


def response_from_body(body: dict[str, Any]) -> ChatResponse:
    """The canonical response for a Chat v2 body."""
    message = body["message"]
    content = message.get("content") or ()
    text = "".join(c.get("text", "") for c in content if c.get("type") == "text")
    thinking = "".join(str(c.get("thinking") or "") for c in content if c.get("type") == "thinking")
    calls = tuple(
        ToolCall(c["id"], c["function"]["name"], c["function"].get("arguments") or "{}")
        for c in message.get("tool_calls") or ()
    )
    return ChatResponse(
        id=str(body.get("id", "")),
        model=str(body.get("model", "")),
        text=text,
        finish_reason=FINISH_REASONS.get(body.get("finish_reason") or "COMPLETE", "other"),
        usage=usage_from_wire(body.get("usage")),
        tool_calls=calls,
        reasoning=thinking,
    )


def error_from_body(body: Any) -> tuple[str | None, str]:
    """Cohere errors carry only a message (its repeated ``invalid request: `` prefix once)."""
    message = str(body.get("message") or "")
    while message.startswith(DOUBLED_PREFIX):
        message = message[len(INVALID_PREFIX):]
    return None, message


class CohereStreamTranslator(EventTranslator):
    """Chat v2 stream events to canonical chunks. Ends at ``message-end``."""

    def __init__(self, model: str = "") -> None:
        super().__init__()
        self.id: str | None = None
        self.model = model

    def translate(self, event: SSEEvent) -> list[ChatChunk]:
        """Chunks for one SSE event."""
        data = self.load(event)
        kind = data.get("type") or event.event
        message = as_dict(as_dict(data.get("delta")).get("message"))
        if kind == "message-start":
            self.id = as_opt_str(data.get("id"))
        elif kind == "content-delta":
            content = as_dict(message.get("content"))
            text, thinking = as_str(content.get("text")), as_str(content.get("thinking"))
            if text or thinking:
                return [ChatChunk(text=text, reasoning=thinking, id=self.id, model=self.model)]
        elif kind in ("tool-call-start", "tool-call-delta"):
            call = as_dict(message.get("tool_calls"))
            return [self._tool_delta(str(kind), as_int(data.get("index")), call)]
        elif kind == "message-end":
            return self._end(as_dict(data.get("delta")))
        return []

    def _tool_delta(self, kind: str, index: int, call: dict[str, Any]) -> ChatChunk:
        function = as_dict(call.get("function"))
        start = kind == "tool-call-start"
        delta = ToolCallDelta(
            index=index,
            id=as_opt_str(call.get("id")) if start else None,
            name=as_opt_str(function.get("name")) if start else None,
            arguments=as_str(function.get("arguments")),
        )
        return ChatChunk(tool_calls=(delta,), id=self.id, model=self.model)

    def _end(self, delta: dict[str, Any]) -> list[ChatChunk]:
        reason = delta.get("finish_reason") or "COMPLETE"
        if reason in ("ERROR", "TIMEOUT"):
            raise classify_inband("cohere", None, str(delta.get("error") or "Upstream stream error."))
        usage = usage_from_wire(as_dict(delta.get("usage")))
        self.done = True
        return [ChatChunk(finish_reason=FINISH_REASONS.get(as_str(reason), "other"),
                          usage=usage, id=self.id, model=self.model)]
