"""Pure decoding of Gemini's ``streamGenerateContent?alt=sse`` body into canonical chunks.

Each ``data:`` event is a whole ``GenerateContentResponse`` (CRLF separators, no event
names, no terminator: the last one carries ``finishReason`` and the final, cumulative
``usageMetadata``). An error after the 200 comes as raw JSON lines, not as an event,
so the body is read line by line here rather than by the generic SSE decoder.
"""

from __future__ import annotations

from typing import Any

import orjson

from llm_router.errors import (
    ProviderError,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamServerError,
)
from llm_router.messages import ChatChunk, FinishReason, ToolCallDelta, Usage
from llm_router.providers.events import as_dict, as_opt_str
from llm_router.providers.gemini.translate import (
    answer_text,
    call_from_part,
    candidate_parts,
    finish_reason,
    thought_text,
    usage_from_wire,
)
from llm_router.providers.sse import SSEEvent

SHAPE_ERRORS = (TypeError, KeyError, AttributeError, ValueError, IndexError)
RETRYABLE = frozenset({"INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "ABORTED"})


class JsonLineDecoder:
    """Splits the body into JSON texts: ``data:`` events, and raw JSON objects spread
    over several lines (balanced braces outside strings), as errors are sent."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._raw: list[str] = []
        self._depth = 0

    def feed(self, chunk: bytes) -> list[str]:
        """JSON texts completed by ``chunk``."""
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        out: list[str] = []
        for raw in lines:
            text = self._line(raw.rstrip(b"\r").decode("utf-8", errors="replace"))
            if text is not None:
                out.append(text)
        return out

    def close(self) -> list[str]:
        """What the end of the body completes (an event without its blank line)."""
        tail = self.feed(b"\n") if self._buffer else []
        if self._data:
            tail.append("\n".join(self._data))
            self._data = []
        if self._raw:
            tail.append("".join(self._raw))
            self._raw = []
        return tail

    def _line(self, line: str) -> str | None:
        if not line and not self._raw:
            text = "\n".join(self._data) if self._data else None
            self._data = []
            return text
        if line.startswith("data:") and not self._raw:
            self._data.append(line[6:] if line.startswith("data: ") else line[5:])
            return None
        if line.startswith(":") and not self._raw:
            return None  # an SSE comment
        self._raw.append(line)
        self._depth += _brace_balance(line)
        if self._depth > 0:
            return None
        text, self._raw, self._depth = "".join(self._raw), [], 0
        return text if text.strip() else None


def _brace_balance(line: str) -> int:
    depth, in_string, escaped = 0, False, False
    for c in line:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
    return depth


def inband_error(provider: str, error: dict[str, Any]) -> ProviderError:
    """The typed error for a google.rpc error object that arrived inside a 200 stream."""
    status = str(error.get("status") or "")
    message = str(error.get("message") or "Upstream stream error.")[:2000]
    cls: type[ProviderError]
    if status == "RESOURCE_EXHAUSTED" or error.get("code") == 429:
        return UpstreamRateLimited(message, provider=provider, upstream_type=status)
    cls = UpstreamServerError if status in RETRYABLE or not status else UpstreamBadRequest
    return cls(message, provider=provider, upstream_type=status or None)


class GeminiStreamTranslator:
    """``GenerateContentResponse`` objects to canonical chunks; done at ``finishReason``.
    Unreadable events are skipped and counted in ``skipped``."""

    def __init__(self, provider: str = "gemini") -> None:
        self.provider = provider
        self.done = False
        self.skipped = 0
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Usage = Usage()
        self.calls = 0

    def feed(self, event: SSEEvent) -> list[ChatChunk]:
        """Chunks for one SSE event (the StreamTranslator protocol)."""
        return self.feed_json(event.data)

    def feed_json(self, text: str) -> list[ChatChunk]:
        """Chunks for one JSON text from the body."""
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, list) and len(data) == 1:
            data = data[0]  # an error wrapped in an array
        if not isinstance(data, dict):
            self.skipped += 1
            return []
        if isinstance(data.get("error"), dict):
            raise inband_error(self.provider, data["error"])
        try:
            return self._response(data)
        except SHAPE_ERRORS:  # a field of the wrong JSON type: the event is skipped
            self.skipped += 1
            return []

    def _response(self, data: dict[str, Any]) -> list[ChatChunk]:
        self.id = self.id or as_opt_str(data.get("responseId"))
        self.model = self.model or as_opt_str(data.get("modelVersion"))
        if data.get("usageMetadata"):
            self.usage = usage_from_wire(data["usageMetadata"])  # cumulative: the last one wins
        candidate, parts = candidate_parts(data)
        out: list[ChatChunk] = []
        text, thoughts = answer_text(parts), thought_text(parts)
        deltas = self._calls(parts)
        if text or deltas or thoughts:
            out.append(ChatChunk(text=text, tool_calls=deltas, id=self.id, model=self.model,
                                 reasoning=thoughts))
        if candidate is None and as_dict(data.get("promptFeedback")).get("blockReason"):
            out.append(self._final("content_filter"))
        elif candidate is not None and candidate.get("finishReason"):
            out.append(self._final(finish_reason(candidate["finishReason"], self.calls > 0)))
        return out

    def _calls(self, parts: list[dict[str, Any]]) -> tuple[ToolCallDelta, ...]:
        deltas = []
        for part in parts:
            call = call_from_part(part)
            if call is not None:  # calls arrive whole, one part each
                deltas.append(ToolCallDelta(self.calls, call.id, call.name, call.arguments))
                self.calls += 1
        return tuple(deltas)

    def _final(self, reason: FinishReason) -> ChatChunk:
        self.done = True
        return ChatChunk(finish_reason=reason, usage=self.usage, id=self.id, model=self.model)
