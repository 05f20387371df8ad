"""Fake OpenAI Chat Completions upstream (``POST /v1/chat/completions``); Responses and
embeddings (``POST /v1/responses``, ``POST /v1/embeddings``) come from ``openai_responses.py``."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.fakes.openai_responses import OpenAIExtras
from tests.fakes.wire import (
    Invalid,
    Problem,
    Reply,
    SseEvent,
    bearer_token,
    first_missing,
    mask_key,
    split_arguments,
    text_chunks,
)

ROLES = ("system", "assistant", "user", "function", "tool", "developer")
# error code -> error type, where they differ (OpenAI puts the finer name in ``code``)
TYPE_OF_CODE = {"rate_limit_exceeded": "requests", "invalid_api_key": "invalid_request_error",
                "model_not_found": "invalid_request_error",
                "context_length_exceeded": "invalid_request_error",
                "unsupported_country_region_territory": "request_forbidden"}
NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization header "
          "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


class FakeOpenAI(OpenAIExtras):  # + /v1/responses, /v1/embeddings
    chat_path = "/v1/chat/completions"
    url_suffix = "/v1"
    split_writes = True
    error_defaults = {
        400: ("invalid_request_error", "Invalid request."),
        401: ("invalid_api_key", "Incorrect API key provided."),
        403: ("unsupported_country_region_territory", "Country, region, or territory not supported"),
        404: ("model_not_found", "The model does not exist or you do not have access to it."),
        429: ("rate_limit_exceeded", "Rate limit reached for requests"),
        500: ("server_error", "The server had an error while processing your request. Sorry about that!"),
        503: ("server_error", "The engine is currently overloaded, please try again later"),
    }
    inband_default = error_defaults[500]

    def new_request_id(self) -> str:
        return "req_" + uuid.uuid4().hex

    def check_headers(self, headers: dict[str, str]) -> Problem | None:
        key = bearer_token(headers)
        if key is None:
            return Problem(401, "invalid_request_error", NO_KEY)
        if key != self.api_key:
            return Problem(401, "invalid_api_key", f"Incorrect API key provided: {mask_key(key)}. You can "
                           "find your API key at https://platform.openai.com/account/api-keys.")
        return None

    def validate(self, body: dict[str, Any]) -> Invalid | None:
        missing = first_missing(body, {"model": str, "messages": list})
        if missing:
            return f"Missing required parameter: '{missing}'.", missing
        if not body["messages"]:
            return "Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages"
        for i, message in enumerate(body["messages"]):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ROLES:
                allowed = ", ".join(f"'{r}'" for r in ROLES)
                return f"Invalid value: '{role}'. Supported values are: {allowed}.", f"messages[{i}].role"
            if role == "tool" and "tool_call_id" not in message:
                field = f"messages[{i}].tool_call_id"
                return f"Missing required parameter: '{field}'.", field
        if "stream_options" in body and body.get("stream") is not True:
            return ("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    "stream_options")
        return None

    def error_body(self, error_type: str, message: str, request_id: str, param: str | None) -> Any:
        code = None if error_type.endswith("_error") else error_type
        return {"error": {"message": message, "type": TYPE_OF_CODE.get(error_type, error_type),
                          "param": param, "code": code}}

    def response_headers(self, request_id: str) -> dict[str, str]:
        return {
            "x-request-id": request_id, "openai-version": "2020-10-01",
            "openai-organization": "user-fake", "openai-processing-ms": "42",
            "x-ratelimit-limit-requests": "10000", "x-ratelimit-limit-tokens": "30000000",
            "x-ratelimit-remaining-requests": "9999", "x-ratelimit-remaining-tokens": "29999980",
            "x-ratelimit-reset-requests": "6ms", "x-ratelimit-reset-tokens": "0s",
        }

    def models_body(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "gpt-4.1-mini", "object": "model",
                                            "created": 1744316542, "owned_by": "system"}]}

    def inband_error_events(self, error_type: str, message: str) -> list[SseEvent]:
        return [SseEvent(self.error_body(error_type, message, "", None))]

    @staticmethod
    def _finish(reply: Reply) -> str:
        return reply.finish or ("tool_calls" if reply.tool_calls else "stop")

    @staticmethod
    def _usage(reply: Reply) -> dict[str, Any]:
        return {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
                "prompt_tokens_details": {"cached_tokens": reply.cached_tokens, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}

    @staticmethod
    def _envelope(kind: str, model: str) -> dict[str, Any]:
        return {"id": "chatcmpl-" + uuid.uuid4().hex[:29], "object": kind, "created": int(time.time()),
                "model": model, "system_fingerprint": "fp_fake0001"}

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None,
                                   "annotations": []}
        if reply.tool_calls:
            message["tool_calls"] = [{"id": call.id, "type": "function",
                                      "function": {"name": call.name, "arguments": call.arguments}}
                                     for call in reply.tool_calls]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish(reply)}
        body = {**self._envelope("chat.completion", model), "service_tier": "default",
                "choices": [choice], "usage": self._usage(reply)}
        if reply.no_usage:
            del body["usage"]
        return body

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        envelope = self._envelope("chat.completion.chunk", model)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> SseEvent:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return SseEvent({**envelope, "choices": [choice]})

        pieces = text_chunks(reply)
        calls = self._tool_call_deltas(reply)
        role: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        if calls and not pieces:  # like the real API: the first call rides on the role chunk
            role = {**role, "content": None, **calls.pop(0)}
        events = [chunk(role), *(chunk({"content": p}) for p in pieces), *(chunk(c) for c in calls),
                  chunk({}, self._finish(reply))]
        if (body.get("stream_options") or {}).get("include_usage") is True and not reply.no_usage:
            events.append(SseEvent({**envelope, "choices": [], "usage": self._usage(reply)}))
        return [*events, SseEvent("[DONE]")]

    @staticmethod
    def _tool_call_deltas(reply: Reply) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = []
        for index, call in enumerate(reply.tool_calls):
            head = {"index": index, "id": call.id, "type": "function",
                    "function": {"name": call.name, "arguments": ""}}
            deltas.append({"tool_calls": [head]})
            deltas += [{"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                       for piece in split_arguments(call.arguments)]
        return deltas
