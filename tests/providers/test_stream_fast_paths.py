"""The stream fast paths read exactly what the full readers read: the OpenAI plain-text
fast path gives the same chunks as OpenAIStreamTranslator, and the SSE decoder's
whole-event split the same events as reading line by line."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router.errors import ProviderError
from llm_router.messages import ChatChunk
from llm_router.providers.openai.stream import ChatStreamTranslator, plain_text
from llm_router.providers.openai.translate import OpenAIStreamTranslator
from llm_router.providers.sse import SSEDecoder, SSEEvent
from tests.providers.helpers import PAYLOADS

FIRST = SSEEvent(orjson.dumps({"id": "c1", "model": "m", "choices": [
    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}).decode())
scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=4) | st.sampled_from(["stop", ""])
deltas = st.dictionaries(st.sampled_from(["content", "role", "refusal", "reasoning_content", "tool_calls"]),
                         scalars | st.lists(st.dictionaries(st.sampled_from(["index", "id"]), scalars)),
                         max_size=3)
choices = st.fixed_dictionaries({}, optional={"index": scalars, "delta": deltas | scalars,
                                              "finish_reason": scalars})
events = st.fixed_dictionaries({}, optional={"choices": st.lists(choices | scalars, max_size=2),
                                             "usage": st.none() | st.just({"prompt_tokens": 1}),
                                             "error": st.none() | st.just("boom")})


def chunks(translator: OpenAIStreamTranslator, stream: list[SSEEvent]) -> list[ChatChunk] | str:
    out: list[ChatChunk] = []
    try:
        for event in stream:
            out += translator.feed(event)
    except ProviderError as error:
        return type(error).__name__
    return [*out, ChatChunk(text=str(translator.skipped))]


@settings(max_examples=400, deadline=None)
@given(st.lists(events, max_size=4))
def test_openai_fast_path_reads_what_the_full_reader_reads(docs: list[dict[str, Any]]) -> None:
    stream = [FIRST] + [SSEEvent(orjson.dumps(d).decode()) for d in docs] + [SSEEvent("[DONE]")]
    assert chunks(ChatStreamTranslator(), stream) == chunks(OpenAIStreamTranslator(), stream)


def test_the_fast_path_takes_plain_text_and_nothing_else() -> None:
    plain = {"id": "c", "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    assert plain_text(orjson.dumps(plain).decode()) == "hi"
    for other in ({**plain, "usage": {"prompt_tokens": 1}},
                  {"choices": [{"delta": {"content": "hi", "reasoning_content": "x"}}]},
                  {"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]},
                  {"choices": [{"delta": {"content": 3}}]}, {"choices": []}):
        assert plain_text(orjson.dumps(other).decode()) is None


def test_recorded_openai_streams_read_the_same() -> None:
    for path in sorted((PAYLOADS / "openai").glob("*.sse")):
        stream = SSEDecoder().feed(path.read_bytes())
        assert chunks(ChatStreamTranslator(), stream) == chunks(OpenAIStreamTranslator(), stream), path.name


lines = st.lists(st.sampled_from([b"data: ", b"data:", b"event: ", b"id: 7", b": c", b"\n", b"\r\n", b"\r",
                                  b"\n\n", b"x", b'{"a":1}', "\u00e9".encode(), b"\xc3"]), max_size=30)


def line_by_line(data: bytes) -> list[SSEEvent]:
    """The reference reading: every line through the decoder's own line handling."""
    decoder, out = SSEDecoder(), []
    for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")[:-1]:
        event = decoder._line(line.decode("utf-8", errors="replace"))
        if event is not None:
            out.append(event)
    return out


@settings(max_examples=400, deadline=None)
@given(lines, st.lists(st.integers(0, 200), max_size=4))
def test_sse_whole_event_split_reads_what_line_by_line_reads(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    points = sorted({min(c, len(data)) for c in cuts})
    decoder, out = SSEDecoder(), []
    for start, end in zip([0, *points], [*points, len(data)], strict=True):
        out += decoder.feed(data[start:end])
    assert out == line_by_line(data)
