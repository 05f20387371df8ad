"""Canonical responses and chunks encoded as OpenAI ``chat.completion`` objects and
``chat.completion.chunk`` SSE events (pure functions; no I/O)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from llm_router.messages import ChatChunk, ChatResponse, Usage

DONE = b"data: [DONE]\n\n"
_FINISH = {"error": "stop", "other": "stop"}


def finish_reason(reason: str) -> str:
    """Canonical finish reason in OpenAI's vocabulary."""
    return _FINISH.get(reason, reason)


def usage_to_wire(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage object, cached tokens included; ``"estimated": true`` is added when
    the upstream reported none and the counts are ours."""
    wire = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        # The detail fields OpenAI itself always sends (we carry no audio or predictions).
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }
    if usage.estimated:
        wire["estimated"] = True
    if usage.cached:  # served from the response cache: the counts of the stored answer
        wire["cached"] = True
    return wire


def completion(response: ChatResponse, completion_id: str, model: str) -> bytes:
    """A complete ``chat.completion`` body."""
    message: dict[str, Any] = {"role": "assistant", "content": response.text or None, "refusal": None}
    if response.reasoning:
        # The convention of LangChain, LiteLLM and the DeepSeek/vLLM servers.
        message["reasoning_content"] = response.reasoning
    if response.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in response.tool_calls
        ]
    elif message["content"] is None:
        message["content"] = ""
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model or model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(response.finish_reason)}],
        "usage": usage_to_wire(response.usage),
    }
    return orjson.dumps(body)


class ChunkEncoder:
    """Encodes one stream's canonical chunks as ``chat.completion.chunk`` SSE frames."""

    def __init__(self, completion_id: str, model: str, include_usage: bool) -> None:
        self.head = {"id": completion_id, "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": model}
        self.include_usage = include_usage
        self.started = False
        # A text-only chunk's frame around its text, once the stream's head is fixed: the
        # same bytes _frame makes from dicts (orjson keeps key order, writes no spaces).
        self._text_frame: tuple[bytes, bytes] | None = None

    def encode(self, chunk: ChatChunk) -> bytes:
        """SSE frames for one chunk (the final chunk also yields usage and ``[DONE]``)."""
        text_frame = self._text_frame
        if (text_frame is not None and chunk.text and chunk.finish_reason is None
                and not chunk.tool_calls and not chunk.reasoning):
            return text_frame[0] + orjson.dumps(chunk.text) + text_frame[1]
        out = b""
        if chunk.model and not self.started:
            self.head["model"] = chunk.model
        if chunk.has_content:
            if self.started and self._text_frame is None:
                prefix, _, suffix = self._frame({"content": ""}, None).partition(b'{"content":""}')
                self._text_frame = prefix + b'{"content":', b"}" + suffix
            out += self._frame(self._delta(chunk), None)
        if chunk.finish_reason is not None:
            if not self.started:
                out += self._frame({"role": "assistant", "content": ""}, None)
            out += self._frame({}, finish_reason(chunk.finish_reason))
            if self.include_usage:
                usage = usage_to_wire(chunk.usage or Usage())
                out += b"data: " + orjson.dumps({**self.head, "choices": [], "usage": usage}) + b"\n\n"
            out += DONE
        return out

    def error(self, error: dict[str, Any]) -> bytes:
        """The frame for a failure after the stream began (no ``[DONE]`` follows)."""
        return b"data: " + orjson.dumps({**self.head, "choices": [], "error": error}) + b"\n\n"

    def _delta(self, chunk: ChatChunk) -> dict[str, Any]:
        delta: dict[str, Any] = {}
        if not self.started:
            self.started = True
            delta["role"] = "assistant"
            delta["content"] = chunk.text if chunk.text or not chunk.tool_calls else None
        elif chunk.text:
            delta["content"] = chunk.text
        if chunk.reasoning:
            delta["reasoning_content"] = chunk.reasoning
        if chunk.tool_calls:
            delta["tool_calls"] = [_tool_delta(d.index, d.id, d.name, d.arguments) for d in chunk.tool_calls]
        return delta

    def _frame(self, delta: dict[str, Any], reason: str | None) -> bytes:
        self.started = True
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return b"data: " + orjson.dumps({**self.head, "choices": [choice]}) + b"\n\n"


def _tool_delta(index: int, call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    out: dict[str, Any] = {"index": index}
    if call_id is not None:
        out["id"] = call_id
        out["type"] = "function"
        out["function"] = {"name": name or "", "arguments": arguments}
    else:
        out["function"] = {"arguments": arguments}
    return out
