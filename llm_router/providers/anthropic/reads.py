"""Reading an Anthropic Messages stream's bytes for the translated path (an OpenAI or
``/chat/`` client on an Anthropic deployment): what the SSE decoder followed by
:class:`~llm_router.providers.anthropic.translate.AnthropicStreamTranslator` gives, read by
read, with a text delta in Anthropic's own bytes (ASCII text, nothing to unescape) read without
the decoder or JSON. The usual framing (LF line ends) is split at blank lines; anything else
(CR line ends, an event near the size limit) goes through the decoder for the rest of the
stream, from the start of the event in progress (the same events and size errors)."""

from __future__ import annotations

from llm_router.messages import ChatChunk
from llm_router.providers.anthropic.passthrough import TEXT_HEAD, UNSAFE
from llm_router.providers.anthropic.translate import AnthropicStreamTranslator
from llm_router.providers.sse import FrameSplitter, SSEDecoder

__all__ = ["AnthropicReads"]

#: A text delta's end in Anthropic's own bytes, without the blank line.
_TAIL = b'"}}'


class AnthropicReads:
    """One stream's reads into canonical chunks (``read`` is ``HTTPChatModel._reader``'s)."""

    __slots__ = ("_spare", "_split", "translator")

    def __init__(self, translator: AnthropicStreamTranslator, max_event_bytes: int) -> None:
        self.translator = translator
        self._split = FrameSplitter(max_event_bytes)
        self._spare = SSEDecoder(max_event_bytes)

    def read(self, data: bytes, into: list[ChatChunk]) -> None:
        """The chunks of the events ``data`` completes, up to the translator's last."""
        frames, events = self._split.feed(data)
        if frames:
            self._frames(frames, into)
        translator = self.translator
        for event in events:
            into.extend(translator.feed(event))
            if translator.done:
                break

    def _frames(self, frames: list[bytes], into: list[ChatChunk]) -> None:
        translator = self.translator
        texts: list[str] = []
        least = len(TEXT_HEAD) + len(_TAIL)
        try:
            for frame in frames:
                if frame.startswith(TEXT_HEAD) and frame.endswith(_TAIL) and len(frame) >= least:
                    piece = frame[len(TEXT_HEAD):len(frame) - len(_TAIL)]
                    if piece.isascii() and UNSAFE.search(piece) is None:
                        if piece:
                            texts.append(piece.decode("ascii"))
                        continue
                if texts:
                    into.append(translator.text_chunk("".join(texts)))
                    texts = []
                for event in self._spare.feed(frame + b"\n\n"):
                    into.extend(translator.feed(event))
                if translator.done:
                    break
        finally:  # an in-band error: the text before it still counts
            if texts:
                into.append(translator.text_chunk("".join(texts)))
