"""OpenAI's ``POST /v1/responses`` and ``POST /v1/embeddings`` for the fake OpenAI upstream.

A mixin of :class:`~tests.fakes.openai.FakeOpenAI`: each request consumes one scripted Reply,
like chat. Responses bodies are validated as OpenAI does (item shapes, ``call_id`` pairing,
``max_output_tokens >= 16``, ``text.format``, stored ``previous_response_id``); answers and
streams follow the recorded event order (reference §1.8), with ``sequence_number``.
Embedding vectors are deterministic per input (see ``tests/fakes/vectors.py``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

from aiohttp import web

from tests.fakes.base import Exchange, FakeServer
from tests.fakes.vectors import encode_vector, fake_vector, token_count
from tests.fakes.wire import Invalid, Problem, Reply, SseEvent, compact, split_arguments, text_chunks

ITEM_TYPES = {"message", "function_call", "function_call_output", "reasoning", "item_reference",
              "custom_tool_call", "custom_tool_call_output", "web_search_call", "local_shell_call",
              "local_shell_call_output"}
TOOL_TYPES = {"function", "custom", "web_search", "web_search_preview", "file_search", "namespace", "mcp",
              "code_interpreter", "image_generation", "local_shell", "shell", "apply_patch", "computer",
              "computer_use_preview", "tool_search"}
ROLES = ("user", "assistant", "system", "developer")
EMBEDDING_DIMS = 12
MAX_EMBED_INPUTS = 2048


class OpenAIExtras(FakeServer):
    """``/v1/responses`` and ``/v1/embeddings``."""

    def extra_routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/v1/responses", self._handle_responses),
                ("POST", "/v1/embeddings", self._handle_embeddings)]

    @property
    def stored(self) -> set[str]:
        if not hasattr(self, "_stored"):
            self._stored: set[str] = set()
        return self._stored

    # ----- /v1/responses -----
    async def _handle_responses(self, request: web.Request) -> web.StreamResponse:
        return await self._guarded(request, self._next_reply(), self._answer_responses)

    async def _answer_responses(self, ex: Exchange) -> web.StreamResponse:
        reply, body = ex.reply, ex.record.body
        problem = (self.check_headers(ex.record.headers) or self._check_responses(body)
                   or self._scripted_error(reply))
        if problem:
            return await self._send_problem(ex, problem)
        model = reply.model or body["model"]
        response_id = "resp_" + uuid.uuid4().hex + uuid.uuid4().hex[:18]
        if body.get("store", True) is not False:
            self.stored.add(response_id)
        if body.get("stream") is True:
            events = self.responses_events(reply, model, body, response_id)
            if reply.inband_error_after is not None:
                events = events[:max(2, reply.inband_error_after)]
                events.append(self._failed_event(events, response_id, model, body, reply))
                reply = replace(reply, inband_error_after=None)
            ex.reply = reply
            return await self._stream(ex, events)
        final = self.response_object(reply, model, body, response_id)
        return await self._send_json(ex, 200, compact(final))

    def _check_responses(self, body: Any) -> Problem | None:
        if not isinstance(body, dict):
            return Problem(400, "invalid_request_error", "Request body must be a JSON object.")
        invalid = validate_responses(body, self.stored)
        if invalid is None:
            return None
        message, param = invalid
        code = "previous_response_not_found" if param == "previous_response_id" else "invalid_request_error"
        return Problem(400, code, message, param)

    def response_object(self, reply: Reply, model: str, body: dict[str, Any], response_id: str,
                        status: str | None = None) -> dict[str, Any]:
        status = status or ("incomplete" if reply.finish == "max_output_tokens" else "completed")
        output = [item for _, item in self._items(reply, response_id, status)]
        return {"id": response_id, "object": "response", "created_at": int(time.time()), "status": status,
                "background": False, "error": None,
                "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
                "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
                "max_tool_calls": None, "model": model, "output": output,
                "parallel_tool_calls": body.get("parallel_tool_calls", True),
                "previous_response_id": body.get("previous_response_id"), "prompt_cache_key": None,
                "reasoning": {"effort": None, "summary": None}, "safety_identifier": None,
                "service_tier": "default", "store": body.get("store", True),
                "temperature": body.get("temperature", 1.0),
                "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"},
                         "verbosity": "medium"},
                "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []),
                "top_logprobs": 0, "top_p": body.get("top_p", 1.0), "truncation": "disabled",
                "usage": self._responses_usage(reply), "user": body.get("user"),
                "metadata": body.get("metadata") or {}}

    @staticmethod
    def _responses_usage(reply: Reply) -> dict[str, Any]:
        return {"input_tokens": reply.input_tokens,
                "input_tokens_details": {"cached_tokens": reply.cached_tokens, "cache_write_tokens": 0},
                "output_tokens": reply.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": reply.input_tokens + reply.output_tokens}

    @staticmethod
    def _items(reply: Reply, response_id: str, status: str) -> list[tuple[str, dict[str, Any]]]:
        """(kind, final item) in output order: the message (if any text), then each call."""
        done = "incomplete" if status == "incomplete" else "completed"
        items: list[tuple[str, dict[str, Any]]] = []
        if reply.text or not reply.tool_calls:
            items.append(("message", {"id": "msg_" + response_id[5:], "type": "message", "status": done,
                                      "role": "assistant", "content": [
                                          {"type": "output_text", "annotations": [], "logprobs": [],
                                           "text": reply.text}]}))
        for index, call in enumerate(reply.tool_calls):
            items.append(("function_call", {"id": f"fc_{index}{response_id[5:]}", "type": "function_call",
                                            "status": "completed", "arguments": call.arguments,
                                            "call_id": call.id, "name": call.name}))
        return items

    def responses_events(self, reply: Reply, model: str, body: dict[str, Any],
                         response_id: str) -> list[SseEvent]:
        final = self.response_object(reply, model, body, response_id)
        start = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None,
                 "service_tier": "auto"}
        events: list[dict[str, Any]] = [{"type": "response.created", "response": start},
                                        {"type": "response.in_progress", "response": start}]
        for index, (kind, item) in enumerate(self._items(reply, response_id, final["status"])):
            events += (self._message_events(reply, item, index) if kind == "message"
                       else self._call_events(item, index))
        events.append({"type": f"response.{final['status']}", "response": final})
        return [SseEvent({"type": e["type"], "sequence_number": n, **e}, e["type"])
                for n, e in enumerate(events)]

    @staticmethod
    def _message_events(reply: Reply, item: dict[str, Any], index: int) -> list[dict[str, Any]]:
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        part = item["content"][0]
        empty = {**part, "text": ""}
        return [{"type": "response.output_item.added", "output_index": index,
                 "item": {**item, "status": "in_progress", "content": []}},
                {"type": "response.content_part.added", **where, "part": empty},
                *({"type": "response.output_text.delta", **where, "delta": piece, "logprobs": [],
                   "obfuscation": "xYz"} for piece in text_chunks(reply)),
                {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []},
                {"type": "response.content_part.done", **where, "part": part},
                {"type": "response.output_item.done", "output_index": index, "item": item}]

    @staticmethod
    def _call_events(item: dict[str, Any], index: int) -> list[dict[str, Any]]:
        where = {"item_id": item["id"], "output_index": index}
        return [{"type": "response.output_item.added", "output_index": index,
                 "item": {**item, "status": "in_progress", "arguments": ""}},
                *({"type": "response.function_call_arguments.delta", **where, "delta": piece,
                   "obfuscation": "aB"} for piece in split_arguments(item["arguments"])),
                {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]},
                {"type": "response.output_item.done", "output_index": index, "item": item}]

    def _failed_event(self, events: list[SseEvent], response_id: str, model: str, body: dict[str, Any],
                      reply: Reply) -> SseEvent:
        failed = {**self.response_object(reply, model, body, response_id, "failed"), "output": [],
                  "usage": None, "error": {"code": reply.error_type or "server_error",
                                           "message": reply.error_message or self.inband_default[1]}}
        return SseEvent({"type": "response.failed", "sequence_number": len(events), "response": failed},
                        "response.failed")

    # ----- /v1/embeddings -----
    async def _handle_embeddings(self, request: web.Request) -> web.StreamResponse:
        return await self._guarded(request, self._next_reply(), self._answer_embeddings)

    async def _answer_embeddings(self, ex: Exchange) -> web.StreamResponse:
        reply, body = ex.reply, ex.record.body
        problem = self.check_headers(ex.record.headers) or self._scripted_error(reply)
        if problem is None:
            invalid = validate_embeddings(body) if isinstance(body, dict) else ("Invalid body.", "body")
            if invalid:
                problem = Problem(400, "invalid_request_error", *invalid)
        if problem:
            return await self._send_problem(ex, problem)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if inputs and isinstance(inputs[0], int):
            inputs = [inputs]
        dims = body.get("dimensions") or EMBEDDING_DIMS
        encoding = body.get("encoding_format", "float")
        data = [{"object": "embedding", "index": i,
                 "embedding": encode_vector(fake_vector(text, dims), encoding)} for i, text in enumerate(inputs)]
        tokens = sum(token_count(text) for text in inputs)
        answer = {"object": "list", "data": data, "model": reply.model or body["model"],
                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return await self._send_json(ex, 200, compact(answer))


def validate_responses(body: dict[str, Any], stored: set[str]) -> Invalid | None:
    """OpenAI's checks of a Responses body (the ones a gateway can get wrong)."""
    if not isinstance(body.get("model"), str):
        return "Missing required parameter: 'model'.", "model"
    previous = body.get("previous_response_id")
    if previous is not None and previous not in stored:
        return f"Previous response with id '{previous}' not found.", "previous_response_id"
    cap = body.get("max_output_tokens")
    if cap is not None and (not isinstance(cap, int) or cap < 16):
        return ("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
                f"but got {cap} instead.", "max_output_tokens")
    return _check_input(body.get("input")) or _check_tools(body) or _check_format(body)


def _check_input(value: Any) -> Invalid | None:
    if isinstance(value, str):
        return None
    if not isinstance(value, list):
        return "Invalid type for 'input': expected a string or an array of input items.", "input"
    calls: set[str] = set()
    for i, item in enumerate(value):
        kind = item.get("type", "message" if "role" in item else None) if isinstance(item, dict) else None
        if kind not in ITEM_TYPES:
            return f"Invalid value: '{kind}'. Supported values are input item types.", f"input[{i}].type"
        if kind == "message" and item.get("role") not in ROLES:
            return f"Invalid value: '{item.get('role')}'. Supported values are: {ROLES}.", f"input[{i}].role"
        if kind == "function_call":
            for key in ("call_id", "name", "arguments"):
                if not isinstance(item.get(key), str):
                    return f"Missing required parameter: 'input[{i}].{key}'.", f"input[{i}].{key}"
            calls.add(item["call_id"])
        if kind == "function_call_output" and item.get("call_id") not in calls:
            return (f"No tool call found for function call output with call_id {item.get('call_id')}.",
                    "input")
    return None


def _check_tools(body: dict[str, Any]) -> Invalid | None:
    for i, tool in enumerate(body.get("tools") or []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in TOOL_TYPES:
            return f"Invalid value: '{kind}'. Supported values are tool types.", f"tools[{i}].type"
        if kind == "function" and not isinstance(tool.get("name"), str):
            return f"Missing required parameter: 'tools[{i}].name'.", f"tools[{i}].name"
    return None


def _check_format(body: dict[str, Any]) -> Invalid | None:
    fmt = (body.get("text") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        for key in ("name", "schema"):
            if key not in fmt:
                return f"Missing required parameter: 'text.format.{key}'.", f"text.format.{key}"
    return None


def validate_embeddings(body: dict[str, Any]) -> Invalid | None:
    """OpenAI's checks of an embeddings body."""
    if not isinstance(body.get("model"), str):
        return "Missing required parameter: 'model'.", "model"
    value = body.get("input")
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str | int | list) for v in items):
        return "'input' must be a string, an array of strings or of token arrays.", "input"
    if len(items) > MAX_EMBED_INPUTS:
        return f"'$.input' is too long: at most {MAX_EMBED_INPUTS} inputs.", "input"
    if any(v == "" for v in items):
        return "'$.input' is invalid: empty string.", "input"
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "Invalid value for 'encoding_format': expected 'float' or 'base64'.", "encoding_format"
    dims = body.get("dimensions")
    if dims is not None and (not str(body["model"]).startswith("text-embedding-3") or dims < 1):
        return "This model does not support specifying dimensions.", "dimensions"
    return None
