"""Fake Anthropic Messages upstream (``POST /v1/messages``).

Accepts both wire dialects: ``x-api-key`` + ``anthropic-version: 2023-06-01`` and (SDK >= 2.0)
``Authorization: Bearer`` + ``anthropic-version: 2026-10-21``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.base import FakeServer
from tests.fakes.wire import (
    Invalid,
    Problem,
    Reply,
    SseEvent,
    bearer_token,
    first_missing,
    first_unknown,
    split_arguments,
    text_chunks,
)

VERSIONS = frozenset({"2023-01-01", "2023-06-01", "2026-10-21"})
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
FIELDS = frozenset({"model", "max_tokens", "messages", "system", "stream", "temperature", "top_p", "top_k",
                    "stop_sequences", "metadata", "tools", "tool_choice", "thinking", "output_config",
                    "service_tier"})
REQUIRED = {"model": str, "max_tokens": int, "messages": list}
EXPECTED = {"model": "a valid string", "max_tokens": "a valid integer", "messages": "a valid list"}
ORGANIZATION = "0f0e0d0c-fa4e-4000-8000-000000000001"
PADDING = " " * 15  # real traffic pads the message_stop data line


def message_id() -> str:
    return "msg_01" + uuid.uuid4().hex[:22]


class FakeAnthropic(FakeServer):
    chat_path = "/v1/messages"
    split_writes = True
    error_defaults = {
        400: ("invalid_request_error", "Invalid request."),
        401: ("authentication_error", "invalid x-api-key"),
        402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
        403: ("permission_error", "Your API key does not have permission to use the specified resource."),
        404: ("not_found_error", "The requested resource could not be found."),
        413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
        429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
        500: ("api_error", "Internal server error"),
        504: ("timeout_error", "Request timed out"),
        529: ("overloaded_error", "Overloaded"),
    }
    inband_default = error_defaults[529]

    def new_request_id(self) -> str:
        return "req_011C" + uuid.uuid4().hex[:20]

    def check_headers(self, headers: dict[str, str]) -> Problem | None:
        key = headers.get("x-api-key") or bearer_token(headers)
        if key is None:
            return Problem(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key:
            return Problem(401, "authentication_error", "invalid x-api-key")
        version = headers.get("anthropic-version")
        if version is None:
            return Problem(400, "invalid_request_error", "anthropic-version: header is required")
        if version not in VERSIONS:
            return Problem(400, "invalid_request_error", f"anthropic-version: invalid version '{version}'")
        return None

    def validate(self, body: dict[str, Any]) -> Invalid | None:
        unknown = first_unknown(body, FIELDS)
        if unknown:
            return f"{unknown}: Extra inputs are not permitted", unknown
        missing = first_missing(body, REQUIRED)
        if missing:
            reason = "Field required" if body.get(missing) is None else f"Input should be {EXPECTED[missing]}"
            return f"{missing}: {reason}", missing
        for i, message in enumerate(body["messages"]):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                return f"messages.{i}.role: Input should be 'user' or 'assistant'", f"messages.{i}.role"
            if "content" not in message:
                return f"messages.{i}.content: Field required", f"messages.{i}.content"
        return self._validate_thinking(body)

    @staticmethod
    def _validate_thinking(body: dict[str, Any]) -> Invalid | None:
        """Extended thinking's rules as the real API enforces them."""
        thinking = body.get("thinking")
        if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
            return None
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024", "thinking"
        if budget >= body["max_tokens"]:
            return "`max_tokens` must be greater than `thinking.budget_tokens`", "max_tokens"
        if body.get("temperature", 1) != 1:
            return "`temperature` may only be set to 1 when thinking is enabled", "temperature"
        if isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("type") in ("any", "tool"):
            return "Thinking may not be enabled when tool_choice forces tool use.", "tool_choice"
        return None

    def error_body(self, error_type: str, message: str, request_id: str, param: str | None) -> Any:
        return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}

    def response_headers(self, request_id: str) -> dict[str, str]:
        reset = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {"request-id": request_id, "anthropic-organization-id": ORGANIZATION}
        for kind, limit in (("requests", 4000), ("tokens", 2000000), ("input-tokens", 1600000),
                            ("output-tokens", 400000)):
            prefix = f"anthropic-ratelimit-{kind}"
            headers |= {f"{prefix}-limit": str(limit), f"{prefix}-remaining": str(limit - 1),
                        f"{prefix}-reset": reset}
        return headers

    def models_body(self) -> dict[str, Any]:
        model = {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5",
                 "created_at": "2025-09-29T00:00:00Z"}
        return {"data": [model], "has_more": False, "first_id": model["id"], "last_id": model["id"]}

    def inband_error_events(self, error_type: str, message: str) -> list[SseEvent]:
        # json.dumps with its default separators: real traffic has spaces after the colons here
        data = json.dumps({"type": "error", "error": {"type": error_type, "message": message}})
        return [SseEvent(data, "error")]

    @staticmethod
    def _usage(reply: Reply, output_tokens: int) -> dict[str, Any]:
        return {"input_tokens": reply.input_tokens - reply.cached_tokens, "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": reply.cached_tokens,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "service_tier": "standard"}

    @staticmethod
    def _delta(reply: Reply) -> dict[str, Any]:
        return {"stop_reason": reply.finish or ("tool_use" if reply.tool_calls else "end_turn"),
                "stop_sequence": None}

    @staticmethod
    def _blocks(reply: Reply) -> list[dict[str, Any]]:
        """Content blocks, with tool inputs as their raw argument strings (decoded by the caller)."""
        text = [{"type": "text", "text": reply.text}] if reply.text or not reply.tool_calls else []
        if reply.reasoning:
            text.insert(0, {"type": "thinking", "thinking": reply.reasoning, "signature": SIGNATURE})
        return text + [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                       for call in reply.tool_calls]

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        content = [{**b, "input": json.loads(b["input"] or "{}")} if b["type"] == "tool_use" else b
                   for b in self._blocks(reply)]
        return {"id": message_id(), "type": "message", "role": "assistant",
                "model": model, "content": content, **self._delta(reply),
                "usage": self._usage(reply, reply.output_tokens)}

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        message: dict[str, Any] = {"id": message_id(), "type": "message", "role": "assistant",
                                   "content": [], "model": model, "stop_reason": None,
                                   "stop_sequence": None, "usage": self._usage(reply, 1)}
        events = [SseEvent({"type": "message_start", "message": message}, "message_start")]
        for index, block in enumerate(self._blocks(reply)):
            events += self._block_events(index, block, reply)
            if index == 0:
                events.insert(2, SseEvent('{"type": "ping"}', "ping"))
        usage = {k: v for k, v in self._usage(reply, reply.output_tokens).items()
                 if k not in ("cache_creation", "service_tier")}
        events.append(SseEvent({"type": "message_delta", "delta": self._delta(reply), "usage": usage},
                               "message_delta"))
        return [*events, SseEvent({"type": "message_stop"}, "message_stop", PADDING)]

    @staticmethod
    def _block_events(index: int, block: dict[str, Any], reply: Reply) -> list[SseEvent]:
        start: dict[str, Any]
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in text_chunks(reply)]
        elif block["type"] == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [*({"type": "thinking_delta", "thinking": piece}
                        for piece in text_chunks(Reply(text=block["thinking"]))),
                      {"type": "signature_delta", "signature": block["signature"]}]
        else:
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": piece}
                      for piece in ["", *split_arguments(block["input"])]]
        return [SseEvent({"type": "content_block_start", "index": index, "content_block": start},
                         "content_block_start"),
                *(SseEvent({"type": "content_block_delta", "index": index, "delta": delta},
                           "content_block_delta") for delta in deltas),
                SseEvent({"type": "content_block_stop", "index": index}, "content_block_stop")]
