"""The one Server-Sent Events decoder and encoder every provider and surface uses.

The decoder is incremental: feed it bytes as they arrive (any split, LF, CRLF or CR
line endings, comments, multi-line ``data``) and it returns complete events.
"""

from __future__ import annotations

from typing import NamedTuple

from llm_router.errors import UpstreamProtocolError

#: Default cap on one event (its data, and any line still being received), in bytes.
MAX_EVENT_BYTES = 1024 * 1024
#: The most :class:`FrameSplitter` buffers before it hands the stream to :class:`SSEDecoder`.
FAST_BYTES = 64 * 1024


class SSEEvent(NamedTuple):
    """One decoded event. ``event`` is None when the stream names no event type.
    (A named tuple: streams make one per upstream event, and it is the cheapest to make.)"""

    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Incremental SSE decoder (https://html.spec.whatwg.org/multipage/server-sent-events.html).

    One event may hold at most ``max_event_bytes`` (its data lines plus a line still being
    received); beyond that ``feed`` raises UpstreamProtocolError, so a huge or endless line
    costs at most about that much memory."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "_max", "_pending_cr", "_size")

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._size = 0  # bytes of data lines in the event being assembled
        self._buffer = bytearray()  # the line still being received
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add bytes; return the events completed by them, in order."""
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across two reads
        self._pending_cr = chunk.endswith(b"\r")
        if b"\n" not in chunk and b"\r" not in chunk:  # the middle of a line: grow it in place
            self._buffer += chunk
            if self._size + len(self._buffer) > self._max:
                self._too_large()
            return []
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[SSEEvent] = []
        if not self._data and self._event is None:  # between events: split whole ones off
            buffer = self._whole_events(bytes(buffer), events)
        lines = buffer.split(b"\n")
        self._buffer = bytearray(lines.pop())
        for raw in lines:
            event = self._line(raw.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        if self._size + len(self._buffer) > self._max:
            self._too_large()
        return events

    def _whole_events(self, buffer: bytes, events: list[SSEEvent]) -> bytes:
        """Decode the complete events at the start of ``buffer`` into ``events``; the rest
        (an event still arriving) is returned. The common shapes (one ``data:`` line, or an
        ``event:`` line and one ``data:`` line) skip the line-by-line reading."""
        parts = buffer.split(b"\n\n")
        rest = parts.pop()
        for part in parts:
            event = self._simple(part)
            if event is None:
                for raw in part.split(b"\n"):
                    self._line(raw.decode("utf-8", errors="replace"))
                event = self._dispatch()
            if event is not None:
                events.append(event)
        return rest

    def _simple(self, part: bytes) -> SSEEvent | None:
        """The event of one ``data:`` line, with an optional ``event:`` line before it."""
        name = None
        if part.startswith(b"event: "):
            head, _, part = part.partition(b"\n")
            name = head[7:].decode("utf-8", errors="replace") or None
        if not part.startswith(b"data: ") or b"\n" in part:
            return None
        data = part[6:].decode("utf-8", errors="replace")
        if len(data) + 1 > self._max:
            self._too_large()
        return SSEEvent(data, name, self._id)

    def _too_large(self) -> None:
        self._buffer, self._data, self._size = bytearray(), [], 0
        raise UpstreamProtocolError(f"Upstream sent a stream event larger than {self._max} bytes.")

    def close(self) -> list[SSEEvent]:
        """End of stream: a final event not followed by a blank line is discarded (per spec)."""
        self._buffer = bytearray()
        self._data, self._event, self._size = [], None, 0
        return []

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._size += len(value) + 1
            if self._size > self._max:
                self._too_large()
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = None
            return None
        event = SSEEvent(data="\n".join(self._data), event=self._event or None, id=self._id)
        self._data, self._event, self._size = [], None, 0
        return event


def encode_event(data: bytes | str, event: str | None = None) -> bytes:
    """One SSE frame: optional ``event:`` line, one ``data:`` line per line of data."""
    if isinstance(data, str):
        data = data.encode()
    head = b"event: " + event.encode() + b"\n" if event else b""
    if b"\n" in data:
        body = b"".join(b"data: " + line + b"\n" for line in data.split(b"\n"))
    else:
        body = b"data: " + data + b"\n"
    return head + body + b"\n"


class FrameSplitter:
    """A stream's reads as whole events, for the byte readers (``ChatStreamTranslator.feed_bytes``,
    ``AnthropicReads``). While the framing is the usual one (LF line ends, events well under
    :data:`FAST_BYTES`), :meth:`feed` splits the bytes at blank lines and returns each complete
    event's bytes (without its blank line); from a CR or a large event on, the rest of the stream,
    from the start of the event in progress, goes through an :class:`SSEDecoder` (the same events
    and size errors, decoded in place: memory stays near one event) and :meth:`feed` returns its
    events instead."""

    __slots__ = ("_decoder", "_fast", "_max", "_rest")

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._fast = min(max_event_bytes - 8, FAST_BYTES)
        self._rest = b""  # the start of an event still arriving
        self._decoder: SSEDecoder | None = None  # once a read needed it

    def feed(self, data: bytes) -> tuple[list[bytes], list[SSEEvent]]:
        """The events ``data`` completes: as frames (split here), or as decoded events."""
        decoder = self._decoder
        if decoder is None:
            buffer = self._rest + data if self._rest else data
            if b"\r" not in buffer and len(buffer) <= self._fast:
                *frames, self._rest = buffer.split(b"\n\n")
                return frames, []
            decoder = self._decoder = SSEDecoder(self._max)
            data, self._rest = buffer, b""
        return [], decoder.feed(data)
