"""The OpenAI byte reader (``ChatStreamTranslator.feed_bytes``) reads what the SSE decoder
followed by ``feed_read`` reads: the same chunks read by read, the same skipped count and the
same errors, however the bytes are framed (LF or CR line ends, comments, event names,
multi-line data, invalid UTF-8, events near the size limit) and wherever the reads split."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router.errors import ProviderError
from llm_router.messages import ChatChunk
from llm_router.providers.openai.stream import ChatStreamTranslator
from llm_router.providers.sse import SSEDecoder
from tests.providers.helpers import PAYLOADS
from tests.providers.test_stream_fast_paths import events

FIRST = {"id": "c1", "model": "m", "choices": [
    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
TEXT = st.text(alphabet=st.sampled_from("ab \u00e9\U0001F600\n\t\x01\"\\"), max_size=5)
EXTRA = st.sampled_from([{}, {"usage": {"prompt_tokens": 1}}, {"usage": None}, {"error": "x"}, {"n": 2}])
OBFUSCATION = st.sampled_from([{}, {"obfuscation": "k9"}, {"obfuscation": "a\"b"}, {"obfuscation": ""},
                               {"obfuscation": 3}])


def _plain(text: str, extra: dict[str, Any], obfuscation: dict[str, Any], second: bool) -> dict[str, Any]:
    choices = [{"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}]
    if second:
        choices.append({"index": 1, "delta": {"content": text}, "finish_reason": None})
    return {"id": "c1", "model": "m", "choices": choices, **extra, **obfuscation}


# OpenAI's own shape (what the byte template reads), with what must not read as plain text.
plain = st.builds(_plain, TEXT, EXTRA, OBFUSCATION, st.booleans())
usual = st.builds(_plain, TEXT, st.just({}), st.sampled_from([{}, {}, {"obfuscation": "k9"}]), st.just(False))
frames = st.one_of(
    (usual | plain | events).map(lambda d: b"data: " + orjson.dumps(d) + b"\n\n"),
    st.sampled_from([b"data: [DONE]\n\n", b": keep-alive\n\n", b"\n\n", b"data:[DONE]\n\n",
                     b'event: chunk\ndata: {"choices":[{"delta":{"content":"e"}}]}\n\n',
                     b'data: {"choices":[{"delta":\ndata: {"content":"m"}}]}\n\n', b"id: 4\n\n",
                     b'data: {"choices":[{"delta":{"content":"\xc3"}}]}\n\n', b"data: {oops\n\n",
                     b'data: {"choices":[{"delta":{"content":"r"}}]}\r\n\r\n',
                     b'data: {"error":{"message":"boom","type":"server_error"}}\n\n']),
)


def reads_of(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def by_decoder(reads: list[bytes], limit: int) -> list[Any]:
    translator, decoder, out = ChatStreamTranslator(max_event_bytes=limit), SSEDecoder(limit), []
    return _run(translator, reads, out, lambda data, into: translator.feed_read(decoder.feed(data), into))


def by_bytes(reads: list[bytes], limit: int) -> list[Any]:
    translator = ChatStreamTranslator(max_event_bytes=limit)
    return _run(translator, reads, [], translator.feed_bytes)


def _run(translator: ChatStreamTranslator, reads: list[bytes], out: list[Any], read: Any) -> list[Any]:
    for data in reads:
        pending: list[ChatChunk] = []
        try:
            read(data, pending)
        except ProviderError as error:
            out.append((pending, type(error).__name__, str(error)))
            break
        out.append(pending)
        if translator.done:
            break
    return [*out, translator.skipped, translator.done]


@settings(max_examples=500, deadline=None)
@given(st.lists(frames, max_size=12), st.lists(st.integers(0, 600), max_size=5), st.booleans())
def test_byte_reader_reads_what_the_decoder_reads(parts: list[bytes], cuts: list[int], small: bool) -> None:
    data = b"data: " + orjson.dumps(FIRST) + b"\n\n" + b"".join(parts) + b"data: [DONE]\n\n"
    limit = 200 if small else 1024 * 1024
    reads = reads_of(data, cuts)
    assert by_bytes(reads, limit) == by_decoder(reads, limit)


def test_recorded_openai_streams_read_the_same_in_any_reads() -> None:
    for path in sorted((PAYLOADS / "openai").glob("*.sse")):
        data = path.read_bytes()
        for size in (1, 7, 64, len(data)):
            reads = [data[i:i + size] for i in range(0, len(data), size)]
            assert by_bytes(reads, 1024 * 1024) == by_decoder(reads, 1024 * 1024), (path.name, size)


def test_a_plain_stream_is_one_chunk_per_read() -> None:
    texts = [f"t{i} " for i in range(30)]
    body = b"".join(b"data: " + orjson.dumps({"id": "c1", "model": "m", "choices": [
        {"index": 0, "delta": {"content": t}, "finish_reason": None}]}) + b"\n\n" for t in texts)
    translator, into = ChatStreamTranslator(), []
    translator.feed_bytes(b"data: " + orjson.dumps(FIRST) + b"\n\n" + body, into)
    assert into == [ChatChunk(text="".join(texts), id="c1", model="m")]
