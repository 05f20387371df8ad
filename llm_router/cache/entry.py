"""Cache entries and their bytes (pure): a whole answer or a stream's chunks, who gave it,
serialised as JSON and compressed (zlib)."""

from __future__ import annotations

import base64
import dataclasses
import zlib
from dataclasses import dataclass, replace
from typing import Any

import orjson

from llm_router.messages import ChatChunk, ChatResponse, ToolCall, ToolCallDelta, Usage

__all__ = ["Entry", "decode", "encode", "storable"]
FORMAT = 1
#: Only answers that ended on their own are kept: never errors, cut streams or length stops.
STORABLE_FINISH = frozenset({"stop", "tool_calls"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored answer: ``response`` (whole) or ``chunks`` (a stream), from ``deployment``."""

    deployment: str
    route: str
    created: float
    response: ChatResponse | None = None
    chunks: tuple[ChatChunk, ...] = ()

    def usage(self) -> Usage | None:
        """The usage of the stored answer."""
        if self.response is not None:
            return self.response.usage
        return next((c.usage for c in reversed(self.chunks) if c.usage is not None), None)


def storable(finish_reason: str | None) -> bool:
    """True if an answer that ended with ``finish_reason`` may be stored."""
    return finish_reason in STORABLE_FINISH


def encode(entry: Entry) -> bytes:
    """The entry's compressed bytes."""
    body: dict[str, Any] = {"f": FORMAT, "deployment": entry.deployment, "route": entry.route,
                            "created": entry.created}
    if entry.response is not None:
        body["response"] = _to_json(entry.response)
    else:
        body["chunks"] = [_to_json(c) for c in entry.chunks]
    return zlib.compress(orjson.dumps(body), 6)


def decode(data: bytes) -> Entry | None:
    """The entry in ``data``; None when it is unreadable or of another format."""
    try:
        body = orjson.loads(zlib.decompress(data))
        if body.get("f") != FORMAT:
            return None
        response = _response(body["response"]) if "response" in body else None
        chunks = tuple(_chunk(c) for c in body.get("chunks", ()))
        return Entry(body["deployment"], body["route"], float(body["created"]), response, chunks)
    except (zlib.error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _raw(value: Any) -> bytes | None:
    return base64.b64decode(value["b64"]) if isinstance(value, dict) else None


def _usage(value: Any) -> Usage | None:
    return Usage(**value) if isinstance(value, dict) else None


def _response(value: dict[str, Any]) -> ChatResponse:
    calls = tuple(ToolCall(**c) for c in value.get("tool_calls", ()))
    usage = _usage(value.get("usage")) or Usage()
    return ChatResponse(**{**value, "usage": usage, "tool_calls": calls, "raw": _raw(value.get("raw"))})


def _chunk(value: dict[str, Any]) -> ChatChunk:
    deltas = tuple(ToolCallDelta(**d) for d in value.get("tool_calls", ()))
    return ChatChunk(**{**value, "usage": _usage(value.get("usage")), "tool_calls": deltas,
                        "raw": _raw(value.get("raw"))})


def served(entry: Entry) -> Entry:
    """The entry as a hit serves it: usage marked ``cached``; a stream's chunks re-encoded
    by the surface (the upstream's own bytes are dropped: their usage could not be marked)."""
    if entry.response is not None:
        response = entry.response
        return replace(entry, response=replace(response, usage=replace(response.usage, cached=True),
                                               raw=_mark_raw(response.raw)))
    chunks = tuple(replace(c, raw=None, usage=replace(c.usage, cached=True) if c.usage else None)
                   for c in entry.chunks)
    return replace(entry, chunks=chunks)


def _mark_raw(raw: bytes | None) -> bytes | None:
    """A stored pass-through body with ``"cached": true`` in its ``usage`` object."""
    if raw is None:
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if isinstance(body, dict) and isinstance(body.get("usage"), dict):
        body["usage"]["cached"] = True
        return orjson.dumps(body)
    return raw
