"""Canonical answers encoded in Anthropic's Messages wire format (pure; no I/O): the
``message`` object, the SSE event stream, errors and the model list.

Streams follow Anthropic's order exactly: one ``message_start`` (its ``input_tokens`` the
real count when known, else the request's estimate: never 0, which breaks Claude Code), then
one block per thinking run, text run and tool call, each with a stable index
(``content_block_start`` / deltas / ``content_block_stop``; tool input as ``input_json_delta``
fragments as they arrive), a ``ping`` after the first block starts, ``message_delta`` with the
stop reason and the final cumulative usage, ``message_stop``. The SDK's accumulator rebuilds
from it exactly the message :func:`message` returns for the same answer.

https://docs.anthropic.com/en/api/messages-streaming
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from llm_router.messages import ChatChunk, ChatResponse, ToolCall, ToolCallDelta, Usage
from llm_router.providers.sse import encode_event

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "content_filter": "refusal", "error": "end_turn", "other": "end_turn"}
PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def stop_reason(finish: str | None, has_tool_calls: bool) -> str:
    """Anthropic's ``stop_reason`` for a canonical finish reason."""
    if has_tool_calls and finish in (None, "stop", "tool_calls", "other"):
        return "tool_use"
    return _STOP_REASONS.get(finish or "stop", "end_turn")


def usage_to_wire(usage: Usage | None, input_estimate: int = 1) -> dict[str, int]:
    """Anthropic's usage: ``input_tokens`` excludes cache reads (canonical input includes them)."""
    if usage is None:
        return {"input_tokens": max(1, input_estimate), "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0, "output_tokens": 0}
    cached = usage.cached_input_tokens
    wire = {"input_tokens": max(0, usage.input_tokens - cached), "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached, "output_tokens": usage.output_tokens}
    if usage.cached:  # served from the response cache: the counts of the stored answer
        wire["cached"] = True
    return wire


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's JSON arguments as the object Anthropic's ``input`` is (``{}`` if unreadable)."""
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def content_blocks(response: ChatResponse) -> list[dict[str, Any]]:
    """The ``content`` of a message: thinking, text, then one ``tool_use`` per call."""
    blocks: list[dict[str, Any]] = []
    if response.reasoning or response.reasoning_signature:
        blocks.append({"type": "thinking", "thinking": response.reasoning,
                       "signature": response.reasoning_signature})
    if response.text:
        blocks.append({"type": "text", "text": response.text})
    blocks.extend(_tool_use(call) for call in response.tool_calls)
    return blocks


def _tool_use(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(call.arguments)}


def message(response: ChatResponse, message_id: str, model: str, input_estimate: int = 1) -> bytes:
    """A complete ``message`` body."""
    return orjson.dumps({
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": content_blocks(response),
        "stop_reason": stop_reason(response.finish_reason, bool(response.tool_calls)),
        "stop_sequence": None,
        "usage": usage_to_wire(response.usage, input_estimate),
    })


def error_event(error_type: str, message_text: str) -> bytes:
    """``event: error``: a failure after the stream began (no ``message_stop`` follows)."""
    body = {"type": "error", "error": {"type": error_type, "message": message_text}}
    return encode_event(orjson.dumps(body), "error")


def models(entries: Iterable[tuple[str, str]]) -> bytes:
    """``GET /v1/models`` in Anthropic's shape, for (id, display name) pairs."""
    data = [{"type": "model", "id": model_id, "display_name": name,
             "created_at": "1970-01-01T00:00:00Z"} for model_id, name in entries]
    return orjson.dumps({"data": data, "has_more": False,
                         "first_id": data[0]["id"] if data else None,
                         "last_id": data[-1]["id"] if data else None})


def _event(kind: str, body: dict[str, Any]) -> bytes:
    return encode_event(orjson.dumps({"type": kind, **body}), kind)


class StreamEncoder:
    """Canonical chunks of one stream to Anthropic SSE events. A chunk that carries the
    upstream's own Anthropic bytes (a pass-through) is sent as it is."""

    def __init__(self, message_id: str, model: str, input_estimate: int) -> None:
        self.message_id = message_id
        self.model = model
        self.input_estimate = max(1, input_estimate)
        self.started = False
        self.finished = False
        self.open: tuple[str, int] | None = None  # (kind, index) of the open block
        self.next_index = 0
        self.tools: dict[int, int] = {}  # canonical tool-call index -> block index

    def encode(self, chunk: ChatChunk) -> bytes:
        """The events for one chunk (possibly none)."""
        if chunk.raw is not None:
            self.started = True  # the upstream's own message_start is in these bytes
            return chunk.raw
        out: list[bytes] = []
        if not self.started:
            out.append(self._message_start(chunk.usage))
        if chunk.reasoning or chunk.reasoning_signature:
            self._reasoning(chunk, out)
        if chunk.text:
            self._ensure("text", out)
            out.append(self._delta({"type": "text_delta", "text": chunk.text}))
        for delta in chunk.tool_calls:
            self._tool(delta, out)
        if chunk.finish_reason is not None:
            self._finish(chunk, out)
        return b"".join(out)

    def _message_start(self, usage: Usage | None) -> bytes:
        self.started = True
        start_usage = usage_to_wire(usage, self.input_estimate) if usage else usage_to_wire(
            None, self.input_estimate)
        start_usage["output_tokens"] = 1
        if start_usage["input_tokens"] + start_usage["cache_read_input_tokens"] == 0:
            start_usage["input_tokens"] = self.input_estimate
        return _event("message_start", {"message": {
            "id": self.message_id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})

    def _reasoning(self, chunk: ChatChunk, out: list[bytes]) -> None:
        self._ensure("thinking", out)
        if chunk.reasoning:
            out.append(self._delta({"type": "thinking_delta", "thinking": chunk.reasoning}))
        if chunk.reasoning_signature:
            out.append(self._delta({"type": "signature_delta", "signature": chunk.reasoning_signature}))

    def _ensure(self, kind: str, out: list[bytes]) -> None:
        """Open a block of ``kind`` unless one is open already."""
        if self.open is not None and self.open[0] == kind:
            return
        start: dict[str, Any] = ({"type": "text", "text": ""} if kind == "text"
                                 else {"type": "thinking", "thinking": "", "signature": ""})
        self._start(kind, start, out)

    def _start(self, kind: str, block: dict[str, Any], out: list[bytes]) -> int:
        self._close(out)
        index = self.next_index
        self.next_index += 1
        self.open = (kind, index)
        out.append(_event("content_block_start", {"index": index, "content_block": block}))
        if index == 0:
            out.append(PING)
        return index

    def _close(self, out: list[bytes]) -> None:
        if self.open is not None:
            out.append(_event("content_block_stop", {"index": self.open[1]}))
            self.open = None

    def _delta(self, delta: dict[str, Any], index: int | None = None) -> bytes:
        if index is None:
            assert self.open is not None
            index = self.open[1]
        return _event("content_block_delta", {"index": index, "delta": delta})

    def _tool(self, delta: ToolCallDelta, out: list[bytes]) -> None:
        index = self.tools.get(delta.index)
        if index is None:
            call_id = delta.id or f"toolu_{self.message_id}_{delta.index}"
            block = {"type": "tool_use", "id": call_id, "name": delta.name or "", "input": {}}
            index = self._start("tool", block, out)
            self.tools[delta.index] = index
        if delta.arguments:
            out.append(self._delta({"type": "input_json_delta", "partial_json": delta.arguments}, index))

    def _finish(self, chunk: ChatChunk, out: list[bytes]) -> None:
        self._close(out)
        self.finished = True
        reason = stop_reason(chunk.finish_reason, bool(self.tools))
        out.append(_event("message_delta", {"delta": {"stop_reason": reason, "stop_sequence": None},
                                            "usage": usage_to_wire(chunk.usage, self.input_estimate)}))
        out.append(_event("message_stop", {}))

    def error(self, error_type: str, message_text: str) -> bytes:
        """The ``error`` event (after a ``message_start`` if none was sent yet)."""
        head = b"" if self.started else self._message_start(None)
        return head + error_event(error_type, message_text)
