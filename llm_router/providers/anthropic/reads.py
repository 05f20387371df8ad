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
from llm_router.providers.sse import FAST_BYTES, SSEDecoder

__all__ = ["AnthropicReads"]

#: A text delta's end in Anthropic's own bytes, without the blank line.
_TAIL = b'"}}'


class AnthropicReads:
    """One stream's reads into canonical chunks (``read`` is ``HTTPChatModel._reader``'s)."""

    __slots__ = ("_decoder", "_fast", "_max", "_rest", "_spare", "translator")

    def __init__(self, translator: AnthropicStreamTranslator, max_event_bytes: int) -> None:
        self.translator = translator
        self._max = max_event_bytes
        # Up to this much buffered the bytes are split here; beyond, the decoder reads them (in
        # place, without copies of the event so far: memory stays near one event).
        self._fast = min(max_event_bytes - 8, FAST_BYTES)
        self._rest = b""
        self._decoder: SSEDecoder | None = None
        self._spare = SSEDecoder(max_event_bytes)

    def read(self, data: bytes, into: list[ChatChunk]) -> None:
        """The chunks of the events ``data`` completes, up to the translator's last."""
        translator = self.translator
        decoder = self._decoder
        if decoder is None:
            buffer = self._rest + data if self._rest else data
            if b"\r" not in buffer and len(buffer) <= self._fast:
                *frames, self._rest = buffer.split(b"\n\n")
                if frames:
                    self._frames(frames, into)
                return
            decoder = self._decoder = SSEDecoder(self._max)
            data, self._rest = buffer, b""
        for event in decoder.feed(data):
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
