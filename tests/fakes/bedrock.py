"""Fake AWS Bedrock Runtime upstream: ``POST /model/{modelId}/converse`` (JSON) and
``/converse-stream`` (``application/vnd.amazon.eventstream`` binary frames).

Wire details kept: SigV4 **verified** (the signature is recomputed with botocore from the raw
path, the signed headers and the body; scope service ``bedrock`` and the fake's region; the
access key and, for temporary credentials, the session token must match) or a Bearer API key;
``%3A``-encoded or raw ``:`` in the model id; errors as ``x-amzn-ErrorType`` + ``{"message"}``;
frames with correct CRCs, ``:event-type``/``:content-type``/``:message-type`` headers, ``"p"``
padding, no ``contentBlockStart`` for text, ``metadata`` (usage) last; mid-stream exceptions
as ``:message-type: exception`` frames with lowerCamel ``:exception-type``.
"""

from __future__ import annotations

import hmac
import json
import re
import struct
import time
import zlib
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.fakes.base import Exchange, FakeServer
from tests.fakes.wire import (
    Invalid,
    Problem,
    Reply,
    SseEvent,
    bearer_token,
    compact,
    split_arguments,
    text_chunks,
)

BLOCKS = frozenset({"text", "image", "document", "video", "toolUse", "toolResult", "reasoningContent",
                    "cachePoint", "guardContent", "citationsContent", "searchResult"})
FIELDS = frozenset({"messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
                    "additionalModelRequestFields", "additionalModelResponseFieldPaths", "promptVariables",
                    "requestMetadata", "performanceConfig", "serviceTier", "outputConfig"})
INFERENCE = frozenset({"maxTokens", "temperature", "topP", "stopSequences"})
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                  r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")
NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack("!B", len(n)) + n + b"\x07" + struct.pack("!H", len(v)) + v


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One ``application/vnd.amazon.eventstream`` message with its two CRC-32s."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    prelude = struct.pack("!II", 12 + len(head) + len(payload) + 4, len(head))
    body = prelude + struct.pack("!I", zlib.crc32(prelude)) + head + payload
    return body + struct.pack("!I", zlib.crc32(body))


class Frame(SseEvent):
    """An event frame (``data`` is its JSON payload, ``name`` its ``:event-type``)."""

    def encode(self, eol: str) -> bytes:
        payload = self.data.encode() if isinstance(self.data, str) else compact(self.data).encode()
        return frame({":event-type": self.name or "", ":content-type": "application/json",
                      ":message-type": "event"}, payload)


class ExceptionFrame(SseEvent):
    """A modeled exception frame (``name`` the lowerCamel member, ``data`` the message)."""

    def encode(self, eol: str) -> bytes:
        return frame({":exception-type": self.name or "", ":content-type": "application/json",
                      ":message-type": "exception"}, compact({"message": self.data}).encode())


def pad(n: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return alphabet[: 5 + n % 50]


class FakeBedrock(FakeServer):
    chat_path = "/model/{model}/{operation}"
    split_writes = True
    error_defaults = {
        400: ("ValidationException", "The provided model identifier is invalid."),
        403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
        404: ("ResourceNotFoundException", "Could not resolve the foundation model from the model identifier."),
        408: ("ModelTimeoutException", "Model has timed out in processing the request."),
        424: ("ModelErrorException", "The model encountered an error processing the request."),
        429: ("ThrottlingException", "Too many requests, please wait before trying again."),
        500: ("InternalServerException", "The server encountered an internal error."),
        503: ("ServiceUnavailableException", "The service is temporarily unavailable."),
    }
    inband_default = ("modelStreamErrorException", "The model stream failed.")

    def __init__(self, access_key: str = "AKIAFAKE0000", secret_key: str = "fake-secret",
                 region: str = "us-east-1", session_token: str | None = None, api_key: str | None = None) -> None:
        super().__init__(api_key or "no-bearer-key")
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.session_token = session_token
        self.bearer = api_key
        self.raw_paths: list[str] = []  # each request's path exactly as sent (percent-encoding kept)

    async def _record(self, request: web.Request) -> Any:
        record = await super()._record(request)
        with self._lock:
            self.raw_paths.append(request.raw_path)
        return record

    # ----- auth -----
    def check_signature(self, request: web.Request, body: bytes) -> Problem | None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.bearer is not None and bearer_token(headers) == self.bearer:
            return None
        match = AUTH.fullmatch(headers.get("authorization", ""))
        if match is None:
            return Problem(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        access_key, day, region, service, signed, signature = match.groups()
        if access_key != self.access_key:
            return Problem(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        if service != "bedrock" or region != self.region:
            return Problem(403, "InvalidSignatureException", f"Credential should be scoped to a valid region "
                           f"and service 'bedrock' in '{self.region}', not '{region}/{service}'.")
        stamp = headers.get("x-amz-date", "")
        if not stamp.startswith(day) or abs(_epoch(stamp) - time.time()) > 300:
            return Problem(403, "InvalidSignatureException", "Signature expired or x-amz-date invalid.")
        if self.session_token is not None and headers.get("x-amz-security-token") != self.session_token:
            return Problem(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        expected = self._signature(request, body, signed.split(";"), stamp, headers)
        return None if hmac.compare_digest(expected, signature) else Problem(403, "InvalidSignatureException", MISMATCH)

    def _signature(self, request: web.Request, body: bytes, signed: list[str], stamp: str,
                   headers: dict[str, str]) -> str:
        url = f"http://{headers.get('host', request.host)}{request.raw_path}"
        aws = AWSRequest(method=request.method, url=url, data=body,
                         headers={name: headers.get(name, "") for name in signed})
        aws.context["timestamp"] = stamp
        signer = SigV4Auth(Credentials(self.access_key, self.secret_key, self.session_token), "bedrock", self.region)
        canonical = signer.canonical_request(aws)
        return signer.signature(signer.string_to_sign(aws, canonical), aws)

    # ----- requests -----
    async def _answer_chat(self, ex: Exchange) -> web.StreamResponse:
        operation, model = ex.request.match_info["operation"], ex.request.match_info["model"]
        raw = await ex.request.read()  # aiohttp keeps the body it read for the record
        if operation not in ("converse", "converse-stream"):
            return await self._send_problem(ex, Problem(404, "UnknownOperationException", "Unknown operation"))
        reply, body = ex.reply, ex.record.body
        if not await self._sleep(ex, reply.delay):
            return web.Response(status=499)
        if reply.reset:
            ex.aborted = True
            if ex.request.transport is not None:
                ex.request.transport.abort()
            return web.Response(status=499)
        problem = self.check_signature(ex.request, raw) or self._check_body(body) or self._scripted_error(reply)
        if problem:
            return await self._send_problem(ex, problem)
        if operation == "converse-stream":
            return await self._stream(ex, self.stream_events(reply, reply.model or model, body))
        text = compact(self.success_body(reply, model, ex.request_id))
        return await self._send_json(ex, 200, text[: len(text) // 2] if reply.malformed else text)

    async def _send_problem(self, ex: Exchange, problem: Problem) -> web.StreamResponse:
        headers = {**self._headers(ex), "content-type": "application/json",
                   "x-amzn-ErrorType": f"{problem.error_type}:{NAMESPACE}"}
        body = compact({"message": problem.message})
        return await self._send(ex, web.Response(status=problem.status, text=body, headers=headers))

    def validate(self, body: dict[str, Any]) -> Invalid | None:
        unknown = next((k for k in body if k not in FIELDS), None)
        if unknown:
            return f"Malformed input request: extraneous key [{unknown}] is not permitted", unknown
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "A conversation must start with a user message. Try again with a conversation that starts " \
                   "with a user message.", "messages"
        problem = self._check_messages(messages)
        if problem:
            return problem
        unknown = next((k for k in body.get("inferenceConfig") or {} if k not in INFERENCE), None)
        if unknown:
            return f"Malformed input request: extraneous key [{unknown}] is not permitted", "inferenceConfig"
        used = any("toolUse" in b or "toolResult" in b for m in messages for b in m.get("content") or ())
        if used and not (body.get("toolConfig") or {}).get("tools"):
            return ("The toolConfig field must be defined when using toolUse and toolResult content blocks.",
                    "toolConfig")
        return None

    @staticmethod
    def _check_messages(messages: list[Any]) -> Invalid | None:
        previous = None
        for i, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ("user", "assistant") or (i == 0 and role != "user"):
                return "A conversation must start with a user message and roles must be user or assistant.", \
                       f"messages.{i}.role"
            if role == previous:
                return "A conversation must alternate between user and assistant roles.", f"messages.{i}"
            previous = role
            content = message.get("content")
            if not isinstance(content, list) or not content:
                return f"The content field in the Message object at messages.{i} is empty.", f"messages.{i}"
            for block in content:
                if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in BLOCKS:
                    return f"messages.{i}.content: each block must hold exactly one member", f"messages.{i}"
        return None

    # ----- answers -----
    def error_body(self, error_type: str, message: str, request_id: str, param: str | None) -> Any:
        return {"message": message}

    def response_headers(self, request_id: str) -> dict[str, str]:
        return {"x-amzn-RequestId": request_id}

    def models_body(self) -> dict[str, Any]:
        return {"modelSummaries": []}

    def inband_error_events(self, error_type: str, message: str) -> list[SseEvent]:
        return [ExceptionFrame(message, error_type)]

    @staticmethod
    def _usage(reply: Reply) -> dict[str, Any]:
        uncached = reply.input_tokens - reply.cached_tokens
        return {"inputTokens": uncached, "outputTokens": reply.output_tokens,
                "totalTokens": reply.input_tokens + reply.output_tokens,
                "cacheReadInputTokens": reply.cached_tokens, "cacheWriteInputTokens": 0}

    @staticmethod
    def _stop(reply: Reply) -> str:
        return reply.finish or ("tool_use" if reply.tool_calls else "end_turn")

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"text": reply.text}] if reply.text or not reply.tool_calls else []
        content += [{"toolUse": {"toolUseId": c.id, "name": c.name, "input": json.loads(c.arguments or "{}")}}
                    for c in reply.tool_calls]
        return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": self._stop(reply),
                "usage": self._usage(reply), "metrics": {"latencyMs": 321}}

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        n = 0

        def event(name: str, data: dict[str, Any]) -> Frame:
            nonlocal n
            n += 1
            return Frame({**data, "p": pad(n)}, name)

        events = [event("messageStart", {"role": "assistant"})]
        index = 0
        if reply.text or not reply.tool_calls:
            events += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
                       for piece in text_chunks(reply)]
            events.append(event("contentBlockStop", {"contentBlockIndex": 0}))
            index = 1
        for offset, call in enumerate(reply.tool_calls):
            i = index + offset
            events.append(event("contentBlockStart", {"contentBlockIndex": i, "start": {
                "toolUse": {"toolUseId": call.id, "name": call.name}}}))
            events += [event("contentBlockDelta", {"contentBlockIndex": i, "delta": {"toolUse": {"input": piece}}})
                       for piece in split_arguments(call.arguments)]
            events.append(event("contentBlockStop", {"contentBlockIndex": i}))
        events.append(event("messageStop", {"stopReason": self._stop(reply)}))
        events.append(event("metadata", {"usage": self._usage(reply), "metrics": {"latencyMs": 321}}))
        return events

    async def _stream(self, ex: Exchange, events: list[SseEvent]) -> web.StreamResponse:
        headers = self._headers(ex, **{"content-type": "application/vnd.amazon.eventstream"})
        ex.response = web.StreamResponse(status=200, headers=headers)
        ex.response.enable_chunked_encoding()
        await ex.response.prepare(ex.request)
        if ex.reply.empty_stream:
            await ex.response.write_eof()
            return ex.response
        if ex.reply.malformed and len(events) > 1:  # a well-framed event whose JSON is cut short
            events.insert(1, Frame(compact(events[1].data)[:10], events[1].name))
        await self._play(ex, events)
        return ex.response


def _epoch(stamp: str) -> float:
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0

