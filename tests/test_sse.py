"""The shared SSE decoder: any split, any line ending, comments, multi-line data."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from llm_router.providers.sse import SSEDecoder, SSEEvent, encode_event

STREAM = (
    b": keep-alive comment\n"
    b"event: message_start\n"
    b'data: {"type":"message_start"}\n\n'
    b"data: line one\n"
    b"data: line two\n\n"
    b'event: message_stop\ndata: {"type":"message_stop"}               \n\n'
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent('{"type":"message_start"}', "message_start"),
    SSEEvent("line one\nline two"),
    SSEEvent('{"type":"message_stop"}               ', "message_stop"),
    SSEEvent("[DONE]"),
]


def decode_all(pieces: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for piece in pieces:
        events.extend(decoder.feed(piece))
    return events


def test_whole_stream() -> None:
    assert decode_all([STREAM]) == EXPECTED


def test_crlf_and_cr_line_endings() -> None:
    assert decode_all([STREAM.replace(b"\n", b"\r\n")]) == EXPECTED
    assert decode_all([STREAM.replace(b"\n", b"\r")]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12),
       st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_any_split_gives_the_same_events(cuts: list[int], newline: bytes) -> None:
    stream = STREAM.replace(b"\n", newline)
    bounds = sorted({0, len(stream), *(min(c, len(stream)) for c in cuts)})
    pieces = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode_all(pieces) == EXPECTED


def test_event_without_blank_line_at_close_is_dropped() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: partial") == []
    assert decoder.close() == []


def test_no_space_after_colon_and_unknown_fields() -> None:
    assert decode_all([b"data:x\nretry: 5\nfoo: bar\n\n"]) == [SSEEvent("x")]


def test_encode_round_trips() -> None:
    frame = encode_event(b'{"a":1}\n{"b":2}', "done")
    assert frame == b'event: done\ndata: {"a":1}\ndata: {"b":2}\n\n'
    assert decode_all([frame]) == [SSEEvent('{"a":1}\n{"b":2}', "done")]
