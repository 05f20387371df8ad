"""Reading decoded SSE events for the stream translators (pure: no I/O, no request state).

A provider's stream translator subclasses :class:`EventTranslator` and implements
``translate``. An event whose data is not a JSON object, or whose fields have the wrong
shape (a number where a list belongs, a list where text belongs...), is skipped and
counted in ``skipped``; the I/O layer adds that count to the request's state. Only a
:class:`~llm_router.errors.ProviderError` (an in-band error event) leaves ``feed``.
"""

from __future__ import annotations

from typing import Any

import orjson

from llm_router.messages import ChatChunk
from llm_router.providers.sse import SSEEvent

__all__ = ["EventTranslator", "ShapeError", "as_dict", "as_int", "as_list", "as_opt_str", "as_str",
           "load_object"]

#: What a wrongly shaped event raises while it is being read.
SHAPE_ERRORS = (TypeError, KeyError, AttributeError, ValueError, IndexError, ArithmeticError)


class ShapeError(TypeError):
    """A field of an upstream event has the wrong JSON type."""


def load_object(event: SSEEvent) -> dict[str, Any] | None:
    """The JSON object in an event's data, or None if it is not one."""
    try:
        value = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is an object; ``{}`` for null/absent; ShapeError otherwise."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ShapeError("expected an object")
    return value


def as_list(value: Any) -> list[Any]:
    """``value`` if it is an array; ``[]`` for null/absent; ShapeError otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ShapeError("expected an array")
    return value


def as_str(value: Any) -> str:
    """``value`` if it is a string; ``""`` for null/absent; ShapeError otherwise."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ShapeError("expected a string")
    return value


def as_opt_str(value: Any) -> str | None:
    """``value`` if it is a string, None for null/absent; ShapeError otherwise."""
    if value is None or isinstance(value, str):
        return value
    raise ShapeError("expected a string")


def as_int(value: Any, default: int = 0) -> int:
    """A non-negative integer count (``default`` for null/absent); ShapeError otherwise."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**53:
        raise ShapeError("expected a count")
    return int(value)


class EventTranslator:
    """Base of the per-stream translators: ``feed`` one event, get canonical chunks."""

    def __init__(self) -> None:
        self.done = False
        #: Events skipped as unreadable or wrongly shaped (``llm_router_sse_parse_errors_total``).
        self.skipped = 0

    def feed(self, event: SSEEvent) -> list[ChatChunk]:
        """Chunks for one event; raises ProviderError for an in-band error event."""
        try:
            return self.translate(event)
        except SHAPE_ERRORS:
            self.skipped += 1
            return []

    def translate(self, event: SSEEvent) -> list[ChatChunk]:
        """The provider's reading of one event (may raise on a wrong shape)."""
        raise NotImplementedError

    def load(self, event: SSEEvent) -> dict[str, Any]:
        """The event's JSON object; raises ShapeError (so the event is skipped) if none."""
        data = load_object(event)
        if data is None:
            raise ShapeError("event data is not a JSON object")
        return data
