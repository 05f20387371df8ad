"""The Anthropic pass-through reader (``FrameReader``) gives what reading every event through
the SSE decoder and the translator gives: the same raw bytes and the same merged chunk read by
read, the same errors, however the events are split (text deltas with escapes, non-ASCII, other
block indexes, CRLF frames, tool use, thinking, an in-band error)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router.errors import ProviderError
from llm_router.messages import ChatChunk, merge_chunks
from llm_router.providers.anthropic.passthrough import FrameReader, RawFrames, _chunk
from llm_router.providers.anthropic.reads import AnthropicReads
from llm_router.providers.anthropic.translate import AnthropicStreamTranslator
from llm_router.providers.sse import SSEDecoder


def sse(kind: str, body: dict[str, Any], end: bytes = b"\n\n") -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **body}) + end


START = sse("message_start", {"message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 5}}})
STOP = sse("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}) + sse(
    "message_stop", {})
TEXT = st.text(alphabet=st.sampled_from('ab \u00e9\n"\\\x01'), max_size=5)
text_delta = st.builds(lambda t, i, end: sse("content_block_delta", {"index": i, "delta": {
    "type": "text_delta", "text": t}}, end), TEXT, st.sampled_from([0, 0, 0, 1]),
    st.sampled_from([b"\n\n", b"\n\n", b"\r\n\r\n"]))
other = st.sampled_from([
    sse("content_block_start", {"index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "f"}}),
    sse("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a"'}}),
    sse("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}),
    sse("content_block_stop", {"index": 0}), b": ping\n\n", b"event: ping\ndata: {\"type\": \"ping\"}\n\n",
    sse("error", {"error": {"type": "overloaded_error", "message": "busy"}}),
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\xc3"}}\n\n',
])


def reads_of(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def by_reader(reads: list[bytes]) -> list[Any]:
    translator = AnthropicStreamTranslator()
    reader = FrameReader(translator, 1 << 20)
    return _run(translator, reads, reader.read)


def by_decoder(reads: list[bytes]) -> list[Any]:
    translator = AnthropicStreamTranslator()
    frames, decoder = RawFrames(1 << 20), SSEDecoder(1 << 20)

    def read(data: bytes, raw: list[bytes], chunks: list[ChatChunk]) -> None:
        for frame in frames.feed(data):
            for event in decoder.feed(frame):
                chunks.extend(translator.feed(event))
            raw.append(frame)
            if translator.done:
                break

    return _run(translator, reads, read)


def _run(translator: AnthropicStreamTranslator, reads: list[bytes], read: Any) -> list[Any]:
    out: list[Any] = []
    for data in reads:
        raw: list[bytes] = []
        chunks: list[ChatChunk] = []
        try:
            read(data, raw, chunks)
        except ProviderError as error:
            out.append((_chunk(chunks, raw) if raw else None, type(error).__name__))
            break
        out.append(_chunk(chunks, raw) if raw else None)
        if translator.done:
            break
    return [*out, translator.skipped, translator.done]


@settings(max_examples=400, deadline=None)
@given(st.lists(text_delta | text_delta | other, max_size=12), st.lists(st.integers(0, 900), max_size=5))
def test_frame_reader_reads_what_the_decoder_reads(parts: list[bytes], cuts: list[int]) -> None:
    reads = reads_of(START + b"".join(parts) + STOP, cuts)
    assert by_reader(reads) == by_decoder(reads)


def translated(reads: list[bytes], limit: int, fast: bool) -> list[Any]:
    """The translated path's reading (``AnthropicReads``), or the SSE decoder's."""
    translator = AnthropicStreamTranslator()
    decoder = SSEDecoder(limit)
    reads_ = AnthropicReads(translator, limit)
    out: list[Any] = []
    for data in reads:
        into: list[ChatChunk] = []
        try:
            if fast:
                reads_.read(data, into)
            else:
                for event in decoder.feed(data):
                    into.extend(translator.feed(event))
                    if translator.done:
                        break
        except ProviderError as error:
            out.append((merge_chunks(into) if into else None, type(error).__name__, str(error)))
            break
        out.append(merge_chunks(into) if into else None)
        if translator.done:
            break
    return [*out, translator.skipped, translator.done]


@settings(max_examples=400, deadline=None)
@given(st.lists(text_delta | text_delta | other, max_size=12), st.lists(st.integers(0, 900), max_size=5),
       st.sampled_from([60, 90, 100, 1 << 20]))
def test_translated_reads_read_what_the_decoder_reads(parts: list[bytes], cuts: list[int], limit: int) -> None:
    reads = reads_of(START + b"".join(parts) + STOP, cuts)
    assert translated(reads, limit, fast=True) == translated(reads, limit, fast=False)
