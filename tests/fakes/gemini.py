"""Fake Gemini API upstream: ``POST /v1beta/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse`` (also without ``alt=sse``: one JSON array).

Wire details kept: ``x-goog-api-key`` auth (a wrong key is 400 ``API_KEY_INVALID``, a
missing one 403), google.rpc error bodies (429 with ``RetryInfo``), CRLF event separators,
whole ``functionCall`` parts without ids, cumulative ``usageMetadata`` whose last value
differs, blocked candidates with ``content: {}``, a blocked prompt without candidates
(``finish="BLOCKED"``), in-band errors as raw JSON lines, thought parts and Gemini 3's
``thoughtSignature`` (required back on the next turn's call parts).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.base import Exchange, FakeServer
from tests.fakes.wire import Invalid, Problem, Reply, SseEvent, compact, first_unknown, text_chunks

FIELDS = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
                    "safetySettings", "cachedContent", "labels", "model"})
CONFIG_FIELDS = frozenset({
    "temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences", "seed",
    "presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema",
    "thinkingConfig", "responseLogprobs", "logprobs", "responseModalities", "mediaResolution",
    "speechConfig", "enableEnhancedCivicAnswers", "imageConfig"})
DATA_FIELDS = frozenset({"text", "inlineData", "fileData", "functionCall", "functionResponse",
                         "executableCode", "codeExecutionResult"})
PART_FIELDS = DATA_FIELDS | {"thought", "thoughtSignature", "videoMetadata", "mediaResolution"}
BLOCKED = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MODEL_ARMOR"})
CODES = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
         "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504}
BAD_KEY = "API key not valid. Please pass a valid API key."
NO_KEY = ("Method doesn't allow unregistered callers (callers without established identity). "
          "Please use API Key or other form of API consumer identity to call this API.")


@dataclass
class GeminiReply(Reply):
    """A Reply with Gemini's extras: thought summary text and a thought signature."""

    thoughts: str = ""
    thoughts_tokens: int = 0
    signature: str | None = None
    retry_delay: str = "3s"  # RetryInfo on 429s


def camel(name: str) -> str:
    """proto3 JSON accepts the snake_case field names too (the SDK sends some)."""
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


class RawJson(SseEvent):
    """An error after the 200: pretty-printed JSON lines, not an SSE event."""

    def encode(self, eol: str) -> bytes:
        return (json.dumps(self.data, indent=2) + "\n").encode()


class FakeGemini(FakeServer):
    chat_path = "/{path:.+}"
    url_suffix = "/v1beta"
    eol = "\r\n"
    split_writes = True
    error_defaults = {
        400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
        403: ("PERMISSION_DENIED", "The caller does not have permission"),
        404: ("NOT_FOUND", "Requested entity was not found."),
        429: ("RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing "
                                    "details."),
        500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
                          "https://developers.generativeai.google/guide/troubleshooting"),
        503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
        504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
    }
    inband_default = error_defaults[503]

    def __init__(self, api_key: str = "test-key") -> None:
        super().__init__(api_key)
        self.queries: list[str] = []  # the query string of every chat request, in order
        self._retry_delay = "3s"

    # ----- routing: where the model is named -----
    def parse_path(self, path: str) -> tuple[str, str] | None:
        """(model, method) for a chat path, or None."""
        head, sep, method = path.rpartition(":")
        prefix = "/v1beta/models/"
        if not sep or not head.startswith(prefix) or "/" in head[len(prefix):]:
            return None
        return head[len(prefix):], method

    def check_headers(self, headers: dict[str, str]) -> Problem | None:
        key = headers.get("x-goog-api-key")
        if key is None:
            return Problem(403, "PERMISSION_DENIED", NO_KEY)
        return Problem(400, "API_KEY_INVALID", BAD_KEY) if key != self.api_key else None

    async def _answer_chat(self, ex: Exchange) -> web.StreamResponse:
        with self._lock:
            self.queries.append(ex.request.query_string)
        route = self.parse_path(ex.request.path)
        if route is None or route[1] not in ("generateContent", "streamGenerateContent"):
            problem = Problem(404, "NOT_FOUND", f"Not found: POST {ex.request.path}")
            return await self._send_problem(ex, problem)
        model, method = route
        reply, body = ex.reply, ex.record.body
        self._retry_delay = getattr(reply, "retry_delay", "3s")
        if not await self._sleep(ex, reply.delay):
            return web.Response(status=499)
        if reply.reset:
            ex.aborted = True
            if ex.request.transport is not None:
                ex.request.transport.abort()
            return web.Response(status=499)
        problem = (self.check_headers(ex.record.headers) or self._check_body(body)
                   or self._check_signatures(model, body) or self._scripted_error(reply))
        if problem:
            return await self._send_problem(ex, problem)
        if reply.html_error:
            page = f"<html><body><h1>{reply.status}</h1></body></html>"
            return await self._send(ex, web.Response(status=reply.status, text=page, content_type="text/html"))
        if method == "streamGenerateContent":
            events = self.stream_events(reply, reply.model or model, body)
            if ex.request.query.get("alt") == "sse":
                return await self._stream(ex, events)
            return await self._send_json(ex, 200, "[" + ",\r\n".join(compact(e.data) for e in events) + "]")
        text = compact(self.success_body(reply, reply.model or model, ex.request_id))
        return await self._send_json(ex, 200, text[: len(text) // 2] if reply.malformed else text)

    # ----- validation -----
    def validate(self, body: dict[str, Any]) -> Invalid | None:
        config = {camel(k): v for k, v in (body.get("generationConfig") or {}).items()}
        unknown = first_unknown({camel(k): v for k, v in body.items()}, FIELDS) or first_unknown(
            config, CONFIG_FIELDS)
        if unknown:
            return f'Invalid JSON payload received. Unknown name "{unknown}": Cannot find field.', unknown
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified", "contents"
        for i, content in enumerate(contents):
            problem = self._check_content(i, content)
            if problem:
                return problem
        if "responseSchema" in config and "responseJsonSchema" in config:
            return "responseSchema and responseJsonSchema cannot both be set", "generationConfig"
        return None

    @staticmethod
    def _check_content(i: int, content: Any) -> Invalid | None:
        field = f"contents[{i}]"
        if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
            return f"Please use a valid role: user, model. ({field}.role)", f"{field}.role"
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            return f"* GenerateContentRequest.{field}.parts: contents.parts must not be empty.", field
        for j, part in enumerate(parts):
            unknown = first_unknown(part, PART_FIELDS) if isinstance(part, dict) else "part"
            data = [k for k in part if k in DATA_FIELDS] if isinstance(part, dict) else []
            if unknown or len(data) != 1:
                return f"Invalid {field}.parts[{j}]: a part holds exactly one kind of data", field
            call = part.get("functionCall") or part.get("functionResponse")
            if call is not None and (not call.get("name") or not isinstance(
                    call.get("args", call.get("response", {})), dict)):
                return f"{field}.parts[{j}]: function name and object args/response are required", field
        return None

    @staticmethod
    def _check_signatures(model: str, body: Any) -> Problem | None:
        if not model.startswith("gemini-3") or not isinstance(body, dict):
            return None
        for i, content in enumerate(body.get("contents") or ()):
            for part in content.get("parts") or ():
                if content.get("role") == "model" and "functionCall" in part and "thoughtSignature" not in part:
                    return Problem(400, "INVALID_ARGUMENT", f"Function call is missing a thought_signature "
                                   f"in functionCall parts. contents[{i}]")
        return None

    # ----- answers -----
    def error_body(self, error_type: str, message: str, request_id: str, param: str | None) -> Any:
        if error_type == "API_KEY_INVALID":
            return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT", "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]}}
        error: dict[str, Any] = {"code": CODES.get(error_type, 500), "message": message, "status": error_type}
        if error_type == "RESOURCE_EXHAUSTED":
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": self._retry_delay}]
        return {"error": error}

    def response_headers(self, request_id: str) -> dict[str, str]:
        return {"server-timing": "gfet4t7; dur=42", "vary": "Origin, X-Origin, Referer",
                "x-request-id": request_id}

    def models_body(self) -> dict[str, Any]:
        return {"models": [{"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash"}]}

    def inband_error_events(self, error_type: str, message: str) -> list[SseEvent]:
        return [RawJson({"error": {"code": CODES.get(error_type, 500), "message": message,
                                   "status": error_type}})]

    @staticmethod
    def _usage(reply: Reply, output: int | None) -> dict[str, Any]:
        usage: dict[str, Any] = {"promptTokenCount": reply.input_tokens}
        thoughts = getattr(reply, "thoughts_tokens", 0)
        if output is not None:
            usage["candidatesTokenCount"] = output
        if reply.cached_tokens:
            usage["cachedContentTokenCount"] = reply.cached_tokens
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        usage["totalTokenCount"] = reply.input_tokens + (output or 0) + thoughts
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.input_tokens}]
        return usage

    @staticmethod
    def _call_parts(reply: Reply) -> list[dict[str, Any]]:
        parts = [{"functionCall": {"name": c.name, "args": json.loads(c.arguments or "{}")}}
                 for c in reply.tool_calls]
        signature = getattr(reply, "signature", None)
        if parts and signature:
            parts[0]["thoughtSignature"] = signature
        return parts

    @staticmethod
    def _candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"} if parts else {}}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        return candidate

    def _envelope(self, candidates: list[dict[str, Any]] | None, usage: dict[str, Any], model: str,
                  response_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"candidates": candidates} if candidates is not None else {
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": True}]}}
        return {**body, "usageMetadata": usage, "modelVersion": model, "responseId": response_id}

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        rid = uuid.uuid4().hex[:22]
        if reply.finish == "BLOCKED":
            return self._envelope(None, self._usage(reply, None), model, rid)
        thoughts = getattr(reply, "thoughts", "")
        parts: list[dict[str, Any]] = [{"text": thoughts, "thought": True}] if thoughts else []
        if reply.finish in BLOCKED:
            parts = []
        elif reply.text or not reply.tool_calls:
            parts.append({"text": reply.text})
        if reply.finish not in BLOCKED:
            parts += self._call_parts(reply)
        candidate = self._candidate(parts, reply.finish or "STOP")
        output = None if reply.finish in BLOCKED else reply.output_tokens
        return self._envelope([candidate], self._usage(reply, output), model, rid)

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        rid = uuid.uuid4().hex[:22]
        if reply.finish == "BLOCKED":
            return [SseEvent(self._envelope(None, self._usage(reply, None), model, rid))]
        thoughts = getattr(reply, "thoughts", "")
        pieces: list[list[dict[str, Any]]] = [[{"text": thoughts, "thought": True}]] if thoughts else []
        pieces += [[{"text": p}] for p in text_chunks(reply) if reply.text]
        if reply.tool_calls:
            pieces.append(self._call_parts(reply))
        finish = reply.finish or "STOP"
        if finish in BLOCKED:
            pieces.append([])
        pieces = pieces or [[{"text": ""}]]
        events = []
        for n, parts in enumerate(pieces, 1):
            last = n == len(pieces)
            output = reply.output_tokens if last else n  # cumulative, the last one authoritative
            usage = self._usage(reply, None if last and finish in BLOCKED else output)
            events.append(SseEvent(self._envelope([self._candidate(parts, finish if last else None)],
                                                  usage, model, rid)))
        return events
