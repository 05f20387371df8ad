"""Fake Cohere Chat v2 upstream (``POST /v2/chat``). Its streams use CRLF line endings.
``POST /v2/embed`` comes from ``cohere_embed.py``."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fakes.cohere_embed import CohereEmbed
from tests.fakes.wire import (
    Invalid,
    Problem,
    Reply,
    SseEvent,
    ToolCallSpec,
    bearer_token,
    first_missing,
    first_unknown,
    split_arguments,
    text_chunks,
)

FIELDS = frozenset({"model", "messages", "stream", "temperature", "p", "k", "max_tokens", "stop_sequences",
                    "seed", "frequency_penalty", "presence_penalty", "tools", "tool_choice",
                    "response_format", "documents", "citation_options", "safety_mode", "thinking",
                    "strict_tools", "logprobs", "priority"})
ROLES = ("system", "user", "assistant", "tool")


class FakeCohere(CohereEmbed):  # + /v2/embed
    chat_path = "/v2/chat"
    eol = "\r\n"
    error_defaults = {
        400: ("", "invalid request"),
        401: ("", "invalid api token"),
        402: ("", "Please add or update your payment method to continue."),
        404: ("", "model not found"),
        429: ("", "You are past the per minute request limit, please wait and try again later."),
        498: ("", "blocked output: please adjust your prompt and try again"),
        500: ("", "internal server error, this has been reported to our developers"),
        503: ("", "service unavailable, please try again later"),
    }
    inband_default = ("", "internal server error, this has been reported to our developers")

    def check_headers(self, headers: dict[str, str]) -> Problem | None:
        key = bearer_token(headers)
        if key is None:
            return Problem(401, "", "no api key supplied")
        return Problem(401, "", "invalid api token") if key != self.api_key else None

    def validate(self, body: dict[str, Any]) -> Invalid | None:
        unknown = first_unknown(body, FIELDS)
        if unknown:
            return f'invalid request: json: unknown field "{unknown}"', unknown
        missing = first_missing(body, {"model": str, "messages": list})
        if missing:
            return f"invalid request: {missing} is required", missing
        for i, message in enumerate(body["messages"]):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ROLES:
                return f"invalid request: messages[{i}].role must be one of {', '.join(ROLES)}", "messages"
            if role == "system" and i > 0:
                return (f"invalid request: messages[{i}]: system turn must be the first in the list",
                        "messages")
        if body.get("response_format") is not None and body.get("tools"):
            return "invalid request: response_format is not supported with tools or documents", "response_format"
        if body.get("tool_choice", "NONE") not in ("REQUIRED", "NONE"):
            return "invalid request: tool_choice must be one of REQUIRED, NONE", "tool_choice"
        return None

    def error_body(self, error_type: str, message: str, request_id: str, param: str | None) -> Any:
        return {"id": request_id, "message": message}

    def models_body(self) -> dict[str, Any]:
        model = {"name": "command-a-03-2025", "endpoints": ["chat"], "finetuned": False,
                 "context_length": 256000, "features": ["tools", "json_schema"]}
        return {"models": [model], "next_page_token": None}

    def inband_error_events(self, error_type: str, message: str) -> list[SseEvent]:
        end = {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": message}}
        return [SseEvent(end, "message-end"), SseEvent("[DONE]")]

    @staticmethod
    def _finish(reply: Reply) -> str:
        return reply.finish or ("TOOL_CALL" if reply.tool_calls else "COMPLETE")

    @staticmethod
    def _usage(reply: Reply) -> dict[str, Any]:
        tokens = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}
        return {"billed_units": tokens, "tokens": dict(tokens), "cached_tokens": reply.cached_tokens}

    @staticmethod
    def _call(call: ToolCallSpec, arguments: str) -> dict[str, Any]:
        return {"id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": arguments}}

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant"}
        if reply.tool_calls:
            message |= {"tool_plan": reply.text,
                        "tool_calls": [self._call(call, call.arguments) for call in reply.tool_calls]}
        else:
            message["content"] = [{"type": "text", "text": reply.text}]
        if reply.reasoning:
            message["content"] = [{"type": "thinking", "thinking": reply.reasoning},
                                  *message.get("content", [])]
        return {"id": request_id, "finish_reason": self._finish(reply), "message": message,
                "usage": self._usage(reply)}

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
        events = [self._event("message-start", id=str(uuid.uuid4()), delta={"message": start})]
        events += self._tool_events(reply) if reply.tool_calls else self._content_events(reply)
        end = {"finish_reason": self._finish(reply), "usage": self._usage(reply)}
        return [*events, self._event("message-end", delta=end), SseEvent("[DONE]")]

    @staticmethod
    def _event(kind: str, **fields: Any) -> SseEvent:
        return SseEvent({"type": kind, **fields}, kind)

    def _content_events(self, reply: Reply) -> list[SseEvent]:
        thinking = [self._event("content-delta", index=0,
                                delta={"message": {"content": {"thinking": piece}}})
                    for piece in text_chunks(Reply(text=reply.reasoning))] if reply.reasoning else []
        return [*thinking, self._event("content-start", index=0,
                            delta={"message": {"content": {"type": "text", "text": ""}}}),
                *(self._event("content-delta", index=0, delta={"message": {"content": {"text": piece}}})
                  for piece in text_chunks(reply)),
                self._event("content-end", index=0)]

    def _tool_events(self, reply: Reply) -> list[SseEvent]:
        events = [self._event("tool-plan-delta", delta={"message": {"tool_plan": piece}})
                  for piece in text_chunks(reply)]
        for index, call in enumerate(reply.tool_calls):
            events.append(self._event("tool-call-start", index=index,
                                      delta={"message": {"tool_calls": self._call(call, "")}}))
            events += [self._event("tool-call-delta", index=index,
                                   delta={"message": {"tool_calls": {"function": {"arguments": piece}}}})
                       for piece in split_arguments(call.arguments)]
            events.append(self._event("tool-call-end", index=index))
        return events
