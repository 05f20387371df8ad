"""The pass-through's event framing keeps every byte, however the upstream splits its writes."""

from __future__ import annotations

import pytest

from llm_router.errors import UpstreamProtocolError
from llm_router.providers.anthropic.passthrough import RawFrames

STREAM = (b'event: message_start\ndata: {"type":"message_start"}\n\n'
          b'event: ping\r\ndata: {"type": "ping"}\r\n\r\n'
          b'event: message_stop\rdata: {"type":"message_stop"}   \r\r')


@pytest.mark.parametrize("size", [1, 2, 7, 64, len(STREAM)])
def test_frames_are_the_exact_bytes_in_any_split(size: int) -> None:
    frames = RawFrames(1024)
    out: list[bytes] = []
    for i in range(0, len(STREAM), size):
        out.extend(frames.feed(STREAM[i:i + size]))
    assert b"".join(out) == STREAM
    assert len(out) == 3 and frames.buffer == b""


def test_an_endless_event_is_a_protocol_error() -> None:
    frames = RawFrames(100)
    with pytest.raises(UpstreamProtocolError):
        frames.feed(b"data: " + b"x" * 200)
