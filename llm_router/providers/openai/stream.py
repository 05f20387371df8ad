"""Reading an OpenAI Chat Completions stream fast: most events are one choice whose delta
holds only text, and those skip the field-by-field reading (same chunks, less work).
Anything else (the first event, tool calls, reasoning, finish, usage, errors, ``[DONE]``)
takes :class:`~llm_router.providers.openai.translate.OpenAIStreamTranslator`'s full path.

:meth:`ChatStreamTranslator.feed_bytes` reads an upstream read's bytes directly: the usual
framing (LF line ends, one ``data:`` line per event) is split at blank lines and each event's
bytes go to ``orjson`` as they are, with no :class:`~llm_router.providers.sse.SSEEvent` or
decoded string per event. Anything else (CR line ends, comments, ``event:`` lines,
multi-line data, an event near the size limit) is read by the one SSE decoder, with the
same events and errors as reading every read through it."""

from __future__ import annotations

import re
from typing import Any

import orjson

from llm_router.messages import ChatChunk
from llm_router.providers.events import SHAPE_ERRORS, ShapeError
from llm_router.providers.openai.translate import OpenAIStreamTranslator
from llm_router.providers.sse import MAX_EVENT_BYTES, FrameSplitter, SSEDecoder, SSEEvent

__all__ = ["ChatStreamTranslator", "plain_text"]

#: The keys of a delta that says nothing but text.
_PLAIN_DELTA = frozenset(("content", "role", "refusal"))
#: Where a text delta's text starts in OpenAI's own events, and what may end one.
_MARK = b'"choices":[{"index":0,"delta":{"content":"'
_OBFUSCATION = b',"obfuscation":"'
#: What a JSON string body read as it is must not hold (a quote, an escape, a control character).
_UNSAFE = re.compile(rb'["\\\x00-\x1f]')
#: How many times one stream learns its events' template (a new one when the bytes change).
_LEARNS = 4


def plain_text(data: str | bytes) -> str | None:
    """The text of an event that is one plain text delta and nothing else; None otherwise."""
    try:
        value: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return _plain_value(value)


def _plain_value(value: Any) -> str | None:
    """:func:`plain_text` of an event's decoded JSON."""
    if type(value) is not dict or value.get("error") or value.get("usage"):
        return None
    choices = value.get("choices")
    if type(choices) is not list or len(choices) != 1 or type(choice := choices[0]) is not dict:
        return None
    delta = choice.get("delta")
    if choice.get("index", 0) != 0 or choice.get("finish_reason") or type(delta) is not dict:
        return None
    text = delta.get("content")
    if not delta.keys() <= _PLAIN_DELTA or not (text is None or type(text) is str):
        return None
    return text or ""


class ChatStreamTranslator(OpenAIStreamTranslator):
    """:class:`OpenAIStreamTranslator` with the plain-text fast path."""

    def __init__(self, provider: str = "openai", max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        super().__init__(provider)
        self._max = max_event_bytes
        self._split = FrameSplitter(max_event_bytes)
        self._spare: SSEDecoder | None = None  # reads one whole unusual event
        # The stream's text events without their text: what comes before it and after it
        # (up to an "obfuscation" field, whose value changes from event to event).
        self._head: bytes | None = None
        self._start: bytes | None = None  # "data: " and the head, when no obfuscation follows
        self._loaded: tuple[SSEEvent, Any] | None = None  # an event's JSON, read already
        self._tail = b""
        self._obfuscated = False
        self._learns = 0

    def translate(self, event: SSEEvent) -> list[ChatChunk]:
        """Chunks for one SSE event."""
        text = self.plain(event)
        if text is not None:
            return [self.text_chunk(text)] if text else []
        return super().translate(event)

    def plain(self, event: SSEEvent) -> str | None:
        """The text of a plain text delta (after the first event, which names the stream)."""
        return None if self.id is None else plain_text(event.data)

    def text_chunk(self, text: str) -> ChatChunk:
        """A chunk of text, named like the stream's other chunks."""
        return ChatChunk(text=text, id=self.id, model=self.model)

    def feed_bytes(self, data: bytes, into: list[ChatChunk]) -> None:
        """Translate one upstream read into ``into``: what ``SSEDecoder.feed`` followed by
        :meth:`feed_read` gives, without an event object per event on the usual framing."""
        frames, events = self._split.feed(data)
        if frames:
            self._frames(frames, into)
        elif events:
            self.feed_read(events, into)

    def _frames(self, frames: list[bytes], into: list[ChatChunk]) -> None:
        """Whole events (each without its blank line), as :meth:`feed_read` reads them."""
        texts: list[str] = []
        start, tail = self._start, self._tail
        least = len(start or b"") + len(tail)
        try:
            for frame in frames:
                if (start is not None and frame.startswith(start) and frame.endswith(tail)
                        and len(frame) >= least):  # the template, its text ASCII: no JSON read
                    piece = frame[len(start):len(frame) - len(tail)]
                    if piece.isascii() and _UNSAFE.search(piece) is None:
                        if piece:
                            texts.append(piece.decode("ascii"))
                        continue
                value: Any = None
                if frame.startswith(b"data: ") and b"\n" not in frame:
                    payload = frame[6:]
                    if self.id is not None:
                        text = self._templated(payload)
                        if text is None:
                            try:
                                value = orjson.loads(payload)
                            except orjson.JSONDecodeError:
                                value = None
                            else:
                                text = _plain_value(value)
                                if text and self._learns < _LEARNS:
                                    self._learn(payload, text)
                        if text is not None:
                            if text:
                                texts.append(text)
                            continue
                    event = SSEEvent(payload.decode("utf-8", errors="replace"))
                    # Invalid UTF-8 is read as the decoder reads it (replaced), then again.
                    recheck = value is None and not payload.isascii()
                else:  # a comment, an event name, several lines...: the decoder's reading
                    spare = self._spare = self._spare or SSEDecoder(self._max)
                    events = spare.feed(frame + b"\n\n")
                    if not events:
                        continue
                    event, recheck = events[0], True
                if recheck and (text := self.plain(event)) is not None:
                    if text:
                        texts.append(text)
                    continue
                if texts:
                    into.append(self.text_chunk("".join(texts)))
                    texts = []
                into.extend(self._full(event, value))
                if self.done:
                    break
        finally:  # an in-band error: the text before it still counts
            if texts:
                into.append(self.text_chunk("".join(texts)))

    def _full(self, event: SSEEvent, value: Any) -> list[ChatChunk]:
        """:meth:`feed` of an event known not to be plain text, its JSON (``value``, None if
        not read yet) read once."""
        self._loaded = (event, value) if value is not None else None
        try:
            return OpenAIStreamTranslator.translate(self, event)
        except SHAPE_ERRORS:
            self.skipped += 1
            return []
        finally:
            self._loaded = None

    def load(self, event: SSEEvent) -> dict[str, Any]:
        """The event's JSON object (read once: see :meth:`_full`)."""
        loaded = self._loaded
        if loaded is not None and loaded[0] is event:
            if type(loaded[1]) is not dict:
                raise ShapeError("event data is not a JSON object")
            return loaded[1]  # type: ignore[no-any-return]
        return super().load(event)

    def _templated(self, payload: bytes) -> str | None:
        """The text of an event that is the stream's text event with other text in it (the
        same bytes before and after, the text a JSON string without escapes); else None."""
        head = self._head
        if head is None or not payload.startswith(head):
            return None
        end = payload.find(b'"', len(head))
        rest = payload[end:]
        if rest != self._tail and not (self._obfuscated and rest.startswith(self._tail)
                                       and _obfuscation(rest[len(self._tail):])):
            return None
        text = payload[len(head):end]
        if _UNSAFE.search(text) is not None:
            return None
        try:
            return text.decode()
        except UnicodeDecodeError:
            return None

    def _learn(self, payload: bytes, text: str) -> None:
        """Note a plain text event's bytes around its text, if they are OpenAI's usual shape:
        one text delta, first in its delta, its text written without escapes."""
        self._learns += 1
        start = payload.find(_MARK)
        if start < 0 or payload.find(b'"content"', start + len(_MARK)) >= 0:
            return
        if payload.find(b'"content"') < start:
            return
        start += len(_MARK)
        end = payload.find(b'"', start)
        raw = payload[start:end]
        if _UNSAFE.search(raw) is not None or raw.decode("utf-8", errors="replace") != text:
            return
        tail = payload[end:]
        cut = tail.rfind(_OBFUSCATION)
        self._obfuscated = cut >= 0 and _obfuscation(tail[cut:])
        self._head, self._tail = payload[:start], tail[:cut] if self._obfuscated else tail
        self._start = None if self._obfuscated else b"data: " + self._head

    def feed_read(self, events: list[SSEEvent], into: list[ChatChunk]) -> None:
        """Translate one read's events into ``into``; a run of text deltas becomes one chunk
        (one read leaves as one chunk anyway: ``HTTPChatModel._translate``)."""
        texts: list[str] = []
        try:
            for event in events:
                text = self.plain(event)
                if text is not None:
                    if text:
                        texts.append(text)
                    continue
                if texts:
                    into.append(self.text_chunk("".join(texts)))
                    texts = []
                into.extend(self.feed(event))
                if self.done:
                    break
        finally:  # an in-band error: the text before it still counts
            if texts:
                into.append(self.text_chunk("".join(texts)))


def _obfuscation(rest: bytes) -> bool:
    """True if ``rest`` is an ``"obfuscation"`` field with a plain string value, then the end."""
    return (rest.startswith(_OBFUSCATION) and rest.endswith(b'"}')
            and _UNSAFE.search(rest, len(_OBFUSCATION), len(rest) - 2) is None)
