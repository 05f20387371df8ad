"""Canonical responses and chunks encoded as OpenAI Responses ``response`` objects and the
Responses streaming event sequence (pure; no I/O).

A stream's items get their ids and ``output_index`` values when they open, and the final
``response`` object (in ``response.completed`` / ``response.incomplete``) is built from the
same items, so what the events said and what the final object says always agree.
Item ids derive from the response id: ``msg_<hex><index>``, ``fc_<hex><index>``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from llm_router.messages import ChatChunk, ChatResponse, ToolCallDelta, Usage

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def usage_to_wire(usage: Usage | None) -> dict[str, Any]:
    """The Responses usage object."""
    usage = usage or Usage()
    return {"input_tokens": usage.input_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_input_tokens, "cache_write_tokens": 0},
            "output_tokens": usage.output_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.total_tokens}


def echo_fields(origin: dict[str, Any], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The request parameters a ``response`` object repeats, with OpenAI's defaults."""
    text = origin.get("text")
    text = text if isinstance(text, dict) else {}
    reasoning = origin.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, dict) else {}
    return {
        "background": False,
        "instructions": origin.get("instructions"),
        "max_output_tokens": origin.get("max_output_tokens"),
        "metadata": origin.get("metadata") or {},
        "parallel_tool_calls": origin.get("parallel_tool_calls", True) is not False,
        "previous_response_id": origin.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": origin.get("store", True) is not False,
        "temperature": origin.get("temperature", 1.0),
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": "medium"},
        "tool_choice": origin.get("tool_choice") or "auto",
        "tools": tools,
        "top_p": origin.get("top_p", 1.0),
        "truncation": "disabled",
        "user": origin.get("user"),
    }


def function_tools(origin: dict[str, Any]) -> list[dict[str, Any]]:
    """The client's function tools as a response echoes them (hosted tools were not used)."""
    return [{"type": "function", "name": t.get("name"), "description": t.get("description"),
             "parameters": t.get("parameters"), "strict": t.get("strict")}
            for t in origin.get("tools") or () if isinstance(t, dict) and t.get("type") == "function"]


@dataclass(slots=True)
class Envelope:
    """What every ``response`` object of one answer shares."""

    id: str
    model: str
    echo: dict[str, Any]
    created_at: int = field(default_factory=lambda: int(time.time()))

    def item_id(self, prefix: str, index: int) -> str:
        return f"{prefix}_{self.id.removeprefix('resp_')}{index:04x}"

    def response(self, status: str, output: list[dict[str, Any]], usage: Usage | None,
                 incomplete: str | None = None, error: dict[str, Any] | None = None) -> dict[str, Any]:
        """A whole ``response`` object."""
        return {"id": self.id, "object": "response", "created_at": self.created_at, "status": status,
                "error": error, "incomplete_details": {"reason": incomplete} if incomplete else None,
                "model": self.model, "output": output,
                "usage": usage_to_wire(usage) if usage is not None or status != "in_progress" else None,
                **self.echo}


def _status(finish: str | None) -> tuple[str, str | None]:
    """Response status and ``incomplete_details.reason`` for a canonical finish reason."""
    reason = _INCOMPLETE.get(finish or "")
    return ("incomplete", reason) if reason else ("completed", None)


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant",
            "content": [_text_part(text)] if status != "in_progress" else []}


def _reasoning(item_id: str, text: str, signature: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": text}] if text else []}
    if signature:
        item["encrypted_content"] = signature
    return item


def _call(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "status": status, "call_id": call_id,
            "name": name, "arguments": arguments}


def encode_response(response: ChatResponse, envelope: Envelope) -> dict[str, Any]:
    """The ``response`` object for a whole canonical answer."""
    status, reason = _status(response.finish_reason)
    item_status = "incomplete" if status == "incomplete" else "completed"
    if response.model:
        envelope.model = response.model
    output: list[dict[str, Any]] = []
    if response.reasoning or response.reasoning_signature:
        output.append(_reasoning(envelope.item_id("rs", 0), response.reasoning, response.reasoning_signature))
    if response.text or not response.tool_calls:
        output.append(_message(envelope.item_id("msg", len(output)), response.text, item_status))
    for call in response.tool_calls:
        output.append(_call(envelope.item_id("fc", len(output)), call.id, call.name,
                            call.arguments, item_status))
    return envelope.response(status, output, response.usage, reason)


class StreamEncoder:
    """Encodes one stream's canonical chunks as Responses SSE events, numbered from 0."""

    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope
        self.seq = 0
        self.items: list[dict[str, Any]] = []
        self.message: int | None = None  # output index of the open message item
        self.reasoning: int | None = None  # output index of the open reasoning item
        self.open_calls: list[int] = []  # output indexes of open function_call items
        self.calls: dict[int, int] = {}  # canonical tool-call index -> output index
        self.done = False
        #: The final ``response`` object, once the terminal event is encoded (not for a failure).
        self.final: dict[str, Any] | None = None

    def event(self, kind: str, **payload: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **payload}
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def start(self) -> bytes:
        """``response.created`` and ``response.in_progress``."""
        snapshot = self.envelope.response("in_progress", [], None)
        return (self.event("response.created", response=snapshot)
                + self.event("response.in_progress", response=snapshot))

    def encode(self, chunk: ChatChunk) -> bytes:
        """Events for one chunk; the final chunk closes every item and the response."""
        out = b""
        if chunk.model and not self.items:
            self.envelope.model = chunk.model
        if chunk.reasoning or chunk.reasoning_signature:
            out += self._reasoning(chunk.reasoning, chunk.reasoning_signature)
        if chunk.text:
            out += self._text(chunk.text)
        for delta in chunk.tool_calls:
            out += self._call_delta(delta)
        if chunk.finish_reason is not None:
            out += self._finish(chunk.finish_reason, chunk.usage)
        return out

    def fail(self, code: str, message: str) -> bytes:
        """``response.failed`` for an error after the stream began."""
        if self.done:
            return b""
        self.done = True
        error = {"code": code, "message": message}
        response = self.envelope.response("failed", self.items, None, error=error)
        response["usage"] = None
        return self.event("response.failed", response=response)

    # ----- items -----
    def _reasoning(self, text: str, signature: str) -> bytes:
        out = b""
        if self.reasoning is None:
            out += self._close_message("completed") + self._close_calls("completed")
            index = len(self.items)
            item = _reasoning(self.envelope.item_id("rs", index), "", "")
            self.items.append(item)
            self.reasoning = index
            out += self.event("response.output_item.added", output_index=index, item=dict(item))
        index = self.reasoning
        item = self.items[index]
        if signature:
            item["encrypted_content"] = item.get("encrypted_content", "") + signature
        if text:
            if not item["summary"]:
                empty = {"type": "summary_text", "text": ""}
                item["summary"] = [dict(empty)]
                out += self.event("response.reasoning_summary_part.added", item_id=item["id"],
                                  output_index=index, summary_index=0, part=empty)
            item["summary"][0]["text"] += text
            out += self.event("response.reasoning_summary_text.delta", item_id=item["id"],
                              output_index=index, summary_index=0, delta=text)
        return out

    def _close_reasoning(self) -> bytes:
        if self.reasoning is None:
            return b""
        index, self.reasoning = self.reasoning, None
        item = self.items[index]
        out = b""
        if item["summary"]:
            part = item["summary"][0]
            out += (self.event("response.reasoning_summary_text.done", item_id=item["id"], output_index=index,
                               summary_index=0, text=part["text"])
                    + self.event("response.reasoning_summary_part.done", item_id=item["id"],
                                 output_index=index, summary_index=0, part=part))
        return out + self.event("response.output_item.done", output_index=index, item=item)

    def _text(self, text: str) -> bytes:
        out = b""
        if self.message is None:
            out += self._close_reasoning() + self._close_calls("completed")
            out += self._open_message()
        assert self.message is not None
        item = self.items[self.message]
        item["content"][0]["text"] += text
        return out + self.event("response.output_text.delta", item_id=item["id"], output_index=self.message,
                                content_index=0, delta=text, logprobs=[])

    def _open_message(self) -> bytes:
        index = len(self.items)
        item = _message(self.envelope.item_id("msg", index), "", "in_progress")
        self.items.append(item)
        self.message = index
        added = self.event("response.output_item.added", output_index=index, item=dict(item, content=[]))
        item["content"] = [_text_part("")]
        return added + self.event("response.content_part.added", item_id=item["id"], output_index=index,
                                  content_index=0, part=_text_part(""))

    def _close_message(self, status: str) -> bytes:
        if self.message is None:
            return b""
        index, self.message = self.message, None
        item = self.items[index]
        text = item["content"][0]["text"]
        item["status"] = status
        return (self.event("response.output_text.done", item_id=item["id"], output_index=index,
                           content_index=0, text=text, logprobs=[])
                + self.event("response.content_part.done", item_id=item["id"], output_index=index,
                             content_index=0, part=_text_part(text))
                + self.event("response.output_item.done", output_index=index, item=item))

    def _call_delta(self, delta: ToolCallDelta) -> bytes:
        out = b""
        index = self.calls.get(delta.index)
        if index is None:
            out += self._close_reasoning() + self._close_message("completed")
            index = len(self.items)
            call_id = delta.id or self.envelope.item_id("call", index)
            item = _call(self.envelope.item_id("fc", index), call_id, delta.name or "", "", "in_progress")
            self.items.append(item)
            self.calls[delta.index] = index
            self.open_calls.append(index)
            out += self.event("response.output_item.added", output_index=index, item=dict(item))
        item = self.items[index]
        if delta.name and not item["name"]:
            item["name"] = delta.name
        if delta.arguments:
            item["arguments"] += delta.arguments
            out += self.event("response.function_call_arguments.delta", item_id=item["id"],
                              output_index=index, delta=delta.arguments)
        return out

    def _close_calls(self, status: str) -> bytes:
        out = b""
        for index in self.open_calls:
            item = self.items[index]
            item["status"] = status
            out += self.event("response.function_call_arguments.done", item_id=item["id"],
                              output_index=index, arguments=item["arguments"])
            out += self.event("response.output_item.done", output_index=index, item=item)
        self.open_calls = []
        return out

    def _finish(self, finish: str, usage: Usage | None) -> bytes:
        if self.done:
            return b""
        status, reason = _status(finish)
        item_status = "incomplete" if status == "incomplete" else "completed"
        out = self._close_reasoning()
        if not any(i["type"] != "reasoning" for i in self.items) and not self.calls:
            out += self._open_message()
        out += self._close_message(item_status) + self._close_calls(item_status)
        self.done = True
        self.final = self.envelope.response(status, self.items, usage or Usage(), reason)
        return out + self.event(f"response.{status}", response=self.final)
