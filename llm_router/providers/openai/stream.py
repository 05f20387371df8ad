"""Reading an OpenAI Chat Completions stream fast: most events are one choice whose delta
holds only text, and those skip the field-by-field reading (same chunks, less work).
Anything else (the first event, tool calls, reasoning, finish, usage, errors, ``[DONE]``)
takes :class:`~llm_router.providers.openai.translate.OpenAIStreamTranslator`'s full path."""

from __future__ import annotations

from typing import Any

import orjson

from llm_router.messages import ChatChunk
from llm_router.providers.openai.translate import OpenAIStreamTranslator
from llm_router.providers.sse import SSEEvent

__all__ = ["ChatStreamTranslator", "plain_text"]

#: The keys of a delta that says nothing but text.
_PLAIN_DELTA = frozenset(("content", "role", "refusal"))


def plain_text(data: str) -> str | None:
    """The text of an event that is one plain text delta and nothing else; None otherwise."""
    try:
        value: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
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

