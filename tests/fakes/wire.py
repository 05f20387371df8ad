"""What a test scripts (Reply, ToolCallSpec), what the fakes record (RecordedRequest), and small
wire-format helpers shared by the three providers."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple


@dataclass
class ToolCallSpec:
    id: str
    name: str
    arguments: str  # JSON string


@dataclass
class Reply:
    """One scripted answer. Defaults give a short successful text answer."""

    text: str = "Hello from the fake upstream."
    chunks: list[str] | None = None  # stream pieces; default: words keeping spaces ("Hello", " from", ...)
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    finish: str | None = None  # provider-native finish reason; default: natural end or tool-call reason
    input_tokens: int = 11  # all prompt tokens, cached ones included
    output_tokens: int = 7
    cached_tokens: int = 0  # OpenAI cached_tokens / Anthropic cache_read_input_tokens / Cohere cached_tokens
    model: str | None = None  # model reported; default: the request's model
    status: int = 200  # non-200: the provider's error body
    error_type: str | None = None  # provider error type/code; default per status
    error_message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    delay: float = 0.0  # seconds before the response headers
    cut_after: int | None = None  # stream: abort the connection after N events
    stall_after: int | None = None  # stream: after N events send nothing until the client closes
    inband_error_after: int | None = None  # stream: after N events the provider's in-band error, then end
    malformed: bool = False  # non-stream: truncated JSON; stream: one broken event inserted
    empty_stream: bool = False  # stream: 200 event stream without events (non-stream: empty 200 body)
    html_error: bool = False  # answer ``status`` with an HTML page, like an edge proxy
    reset: bool = False  # read the whole request, then cut the connection before any headers
    bad_event: str | None = None  # stream: this raw ``data:`` payload sent as event number ``bad_event_at``
    bad_event_at: int = 0
    huge_event_bytes: int = 0  # stream: first send one ``data:`` line this long (no line end until done)
    no_usage: bool = False  # stream and body: leave the usage out, as some servers do
    reasoning: str = ""  # Anthropic: a signed thinking block first; Cohere: thinking content first


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None
    received_at: float  # time.monotonic()
    client_closed: bool = False  # the client went away before the response was finished


@dataclass
class SseEvent:
    """One SSE frame. ``data`` is a dict (sent as compact JSON) or a ready-made string."""

    data: Any
    name: str | None = None
    pad: str = ""

    def encode(self, eol: str) -> bytes:
        payload = self.data if isinstance(self.data, str) else compact(self.data)
        lines = [f"event: {self.name}"] if self.name else []
        lines.append(f"data: {payload}{self.pad}")
        return (eol.join(lines) + eol + eol).encode()


class Problem(NamedTuple):
    """An error answer before any scripted reply: status, provider error type, message, field."""

    status: int
    error_type: str
    message: str
    param: str | None = None


Invalid = tuple[str, str]  # (message naming the field, the field)

HTML_PAGE = ("<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
             "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
             "</body>\r\n</html>\r\n")


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def text_chunks(reply: Reply) -> list[str]:
    """The stream pieces: ``reply.chunks`` or the text split into words keeping spaces."""
    if reply.chunks is not None:
        return list(reply.chunks)
    pieces = re.findall(r"\s*\S+", reply.text)
    rest = reply.text[len("".join(pieces)):]
    return [*pieces, rest] if rest else pieces


def split_arguments(arguments: str) -> list[str]:
    """Argument fragments: 3 pieces for longer strings, 2 for short ones, none for ''."""
    count = 3 if len(arguments) >= 6 else 2
    step = max(1, -(-len(arguments) // count))
    return [arguments[i:i + step] for i in range(0, len(arguments), step)]


def bearer_token(headers: dict[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def mask_key(key: str) -> str:
    """Like OpenAI's error message: first few characters, then asterisks."""
    return key[:4] + "*" * max(4, len(key) - 4)


def first_missing(body: dict[str, Any], required: dict[str, type]) -> str | None:
    """Name of the first required field that is absent or has the wrong JSON type."""
    for name, kind in required.items():
        value = body.get(name)
        if value is None or isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            return name
    return None


def first_unknown(body: dict[str, Any], allowed: frozenset[str]) -> str | None:
    return next((name for name in body if name not in allowed), None)


class ProviderWire:
    """What each provider defines: where it listens and how it encodes every answer."""

    chat_path: ClassVar[str] = ""
    url_suffix: ClassVar[str] = ""
    eol: ClassVar[str] = "\n"
    split_writes: ClassVar[bool] = False
    error_defaults: ClassVar[dict[int, tuple[str, str]]] = {}
    inband_default: ClassVar[tuple[str, str]] = ("", "")

    def check_headers(self, headers: dict[str, str]) -> Problem | None:
        raise NotImplementedError

    def validate(self, body: dict[str, Any]) -> Invalid | None:
        raise NotImplementedError

    def success_body(self, reply: Reply, model: str, request_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def stream_events(self, reply: Reply, model: str, body: dict[str, Any]) -> list[SseEvent]:
        raise NotImplementedError

    def inband_error_events(self, error_type: str, message: str) -> list[SseEvent]:
        raise NotImplementedError

    def error_body(self, error_type: str, message: str, request_id: str, param: str | None) -> Any:
        raise NotImplementedError

    def response_headers(self, request_id: str) -> dict[str, str]:
        return {}

    def models_body(self) -> dict[str, Any]:
        raise NotImplementedError

    def new_request_id(self) -> str:
        return str(uuid.uuid4())

    def default_error(self, status: int) -> tuple[str, str]:
        """(error type, message) for ``status``: its own entry, else the 400 or 500 one."""
        fallback = self.error_defaults[500 if status >= 500 else 400]
        return self.error_defaults.get(status, fallback)
