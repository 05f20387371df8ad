"""The pure parts of resuming: the continuation request and the overlap stripping."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llm_router.messages import ChatRequest, Message, WireBody
from llm_router.routing.resume import MIN_OVERLAP, continuation_request, strip_overlap


def test_the_longest_overlap_is_stripped():
    assert strip_overlap("The quick brown", " brown fox") == " fox"
    assert strip_overlap("The quick brown", "quick brown fox") == " fox"
    assert strip_overlap("The quick brown", " fox") == " fox"
    assert strip_overlap("The quick brown ", " fox") == "fox"  # no doubled space
    assert strip_overlap("abc", "ab") == "ab"  # shorter than MIN_OVERLAP: kept


@given(delivered=st.text(min_size=1, max_size=40), rest=st.text(max_size=40),
       cut=st.integers(MIN_OVERLAP, 40))
def test_a_repeated_tail_never_reaches_the_client_twice(delivered, rest, cut):
    tail = delivered[-cut:]
    if len(tail) < MIN_OVERLAP:
        return
    out = strip_overlap(delivered, tail + rest)
    assert (tail + rest).endswith(out)
    assert len(out) <= len(rest)  # at least the repeated tail is gone


def test_the_continuation_request_never_passes_the_client_body_through():
    request = ChatRequest("m", (Message("user", "hi"),), origin=WireBody("anthropic", {"model": "x"}))
    claude = continuation_request(request, "Part one ", "anthropic")
    assert claude.origin is None and claude.messages[-1] == Message("assistant", "Part one")
    other = continuation_request(request, "Part one ", "openai")
    assert other.messages[-2] == Message("assistant", "Part one ") and other.messages[-1].role == "user"
