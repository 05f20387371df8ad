"""Reading Anthropic SSE bytes back in tests, and rebuilding the message as the SDK does."""

from __future__ import annotations

import json
from typing import Any

from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message


def events(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) for every frame; the name must equal ``data.type``."""
    out = []
    for frame in data.decode().split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        payload = json.loads(lines["data"])
        assert lines["event"] == payload["type"]
        out.append((lines["event"], payload))
    return out


def accumulate(data: bytes) -> Message:
    """The message the anthropic SDK's stream accumulator rebuilds from ``data``."""
    snapshot = None
    bufs: dict[int, bytes] = {}
    for name, payload in events(data):
        if name in ("ping", "error"):
            continue
        snapshot = accumulate_event(event=payload, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    return Message.model_validate(snapshot.model_dump())
