"""Fuzzing every provider's stream translator with mutated recorded streams (fault matrix
F19): whatever an upstream sends, only our typed ProviderError comes out, and what does
come out is well typed (a surface can encode it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_router.api.openai_wire import ChunkEncoder
from llm_router.errors import ProviderError
from llm_router.messages import ChatChunk, ToolCallDelta, Usage, merge_chunks
from llm_router.providers.anthropic.translate import AnthropicStreamTranslator
from llm_router.providers.base import StreamTranslator
from llm_router.providers.cohere.translate import CohereStreamTranslator
from llm_router.providers.openai.translate import OpenAIStreamTranslator
from llm_router.providers.sse import SSEDecoder, SSEEvent
from tests.providers.helpers import PAYLOADS

TRANSLATORS: dict[str, Callable[[], StreamTranslator]] = {
    "openai": OpenAIStreamTranslator,
    "anthropic": AnthropicStreamTranslator,
    "cohere": CohereStreamTranslator,
}
STREAMS = sorted((p.parent.name, p.name) for p in PAYLOADS.glob("*/*.sse") if p.parent.name in TRANSLATORS)
FINISH = {"stop", "length", "tool_calls", "content_filter", "error", "other"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["", "[DONE]", "message_stop", "text_delta", "tool_use"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def recorded(provider: str, name: str) -> list[SSEEvent]:
    return SSEDecoder().feed((PAYLOADS / provider / name).read_bytes())


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a decoded JSON document (the root included)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += paths(item, (*prefix, index))
    return out


def replaced(doc: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = replaced(doc[head], rest, new, delete)
    return copy


@st.composite
def mutated(draw: st.DrawFn, events: list[SSEEvent]) -> list[SSEEvent]:
    """The stream with a few events mutated: a value replaced or removed somewhere in
    their JSON, the data cut short or replaced by junk, or an event dropped/duplicated."""
    events = list(events)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(events) - 1))
        event = events[index]
        kind = draw(st.sampled_from(["value", "delete", "truncate", "junk", "drop", "repeat"]))
        try:
            doc = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            doc, kind = None, "junk" if kind in ("value", "delete") else kind
        if kind in ("value", "delete"):
            path = draw(st.sampled_from(paths(doc)))
            delete = kind == "delete" and bool(path)
            data = json.dumps(replaced(doc, path, draw(json_values), delete))
            events[index] = SSEEvent(data, event.event, event.id)
        elif kind == "truncate":
            events[index] = SSEEvent(event.data[: draw(st.integers(0, len(event.data)))], event.event)
        elif kind == "junk":
            events[index] = SSEEvent(draw(st.text(max_size=20)), draw(st.none() | st.text(max_size=10)))
        elif kind == "drop" and len(events) > 1:
            events.pop(index)
        else:
            events.insert(index, event)
    return events


def check_chunk(chunk: ChatChunk) -> None:
    assert isinstance(chunk.text, str)
    for delta in chunk.tool_calls:
        assert isinstance(delta, ToolCallDelta) and isinstance(delta.index, int)
        assert delta.id is None or isinstance(delta.id, str)
        assert delta.name is None or isinstance(delta.name, str)
        assert isinstance(delta.arguments, str)
    assert chunk.finish_reason is None or chunk.finish_reason in FINISH
    assert chunk.id is None or isinstance(chunk.id, str)
    assert chunk.model is None or isinstance(chunk.model, str)
    if chunk.usage is not None:
        assert isinstance(chunk.usage, Usage)
        for count in (chunk.usage.input_tokens, chunk.usage.output_tokens, chunk.usage.cached_input_tokens):
            assert isinstance(count, int) and count >= 0


@pytest.mark.parametrize(("provider", "name"), STREAMS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_streams_yield_typed_chunks_or_provider_errors(provider: str, name: str,
                                                              data: st.DataObject) -> None:
    events = data.draw(mutated(recorded(provider, name)))
    translator = TRANSLATORS[provider]()
    chunks: list[ChatChunk] = []
    try:
        for event in events:
            chunks.extend(translator.feed(event))
            if translator.done:
                break
    except ProviderError:
        pass  # an in-band error (or what reads as one): the only exception allowed
    for chunk in chunks:
        check_chunk(chunk)
    assert isinstance(translator.skipped, int) and translator.skipped >= 0
    if chunks:
        check_chunk(merge_chunks(chunks))
        encoder = ChunkEncoder("chatcmpl-x", "m", include_usage=True)
        for chunk in chunks:
            encoder.encode(chunk)  # a surface can always encode what came out


@pytest.mark.parametrize(("provider", "name"), STREAMS)
def test_recorded_streams_skip_nothing(provider: str, name: str) -> None:
    translator = TRANSLATORS[provider]()
    try:
        for event in recorded(provider, name):
            translator.feed(event)
            if translator.done:
                break
    except ProviderError:
        assert "error" in name
    assert translator.skipped == 0
