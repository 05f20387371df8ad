"""The stream translators of Gemini (and Vertex), Bedrock and Azure under the fuzzing of
tests/providers/test_translator_fuzz.py: mutated recorded streams give only typed chunks or
our ProviderError."""

from __future__ import annotations

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_router.api.openai_wire import ChunkEncoder
from llm_router.errors import ProviderError
from llm_router.messages import ChatChunk, merge_chunks
from llm_router.providers.azure.translate import AzureStreamTranslator
from llm_router.providers.bedrock.translate import BedrockStreamTranslator
from llm_router.providers.gemini.stream import GeminiStreamTranslator, JsonLineDecoder
from llm_router.providers.sse import SSEDecoder, SSEEvent
from tests.providers.helpers import PAYLOADS
from tests.providers.test_translator_fuzz import check_chunk, mutated

GEMINI = sorted(p.name for p in (PAYLOADS / "gemini").glob("*.sse"))
BEDROCK = sorted(p.name for p in (PAYLOADS / "bedrock").glob("*.bin"))
AZURE = sorted(p.name for p in (PAYLOADS / "openai").glob("*.sse"))


def gemini_events(name: str) -> list[SSEEvent]:
    decoder = JsonLineDecoder()
    texts = decoder.feed((PAYLOADS / "gemini" / name).read_bytes()) + decoder.close()
    return [SSEEvent(text) for text in texts]


def bedrock_events(name: str) -> list[SSEEvent]:
    frames = EventStreamBuffer()
    frames.add_data((PAYLOADS / "bedrock" / name).read_bytes())
    return [SSEEvent(m.payload.decode(), m.headers.get(":event-type")) for m in frames
            if m.headers.get(":message-type") == "event"]


def finish(chunks: list[ChatChunk]) -> None:
    for chunk in chunks:
        check_chunk(chunk)
    if chunks:
        check_chunk(merge_chunks(chunks))
        encoder = ChunkEncoder("chatcmpl-x", "m", include_usage=True)
        for chunk in chunks:
            encoder.encode(chunk)


@pytest.mark.parametrize("name", GEMINI)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_gemini(name: str, data: st.DataObject) -> None:
    translator, chunks = GeminiStreamTranslator(), []
    try:
        for event in data.draw(mutated(gemini_events(name))):
            chunks += translator.feed(event)
            if translator.done:
                break
    except ProviderError:
        pass
    finish(chunks)


@pytest.mark.parametrize("name", BEDROCK)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bedrock(name: str, data: st.DataObject) -> None:
    translator, chunks = BedrockStreamTranslator(), []
    for event in data.draw(mutated(bedrock_events(name))):
        chunks += translator.feed_event(event.event or "", event.data.encode("utf-8", "surrogatepass"))
        if translator.done:
            break
    finish(chunks)


@pytest.mark.parametrize("name", AZURE)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_azure(name: str, data: st.DataObject) -> None:
    events = SSEDecoder().feed((PAYLOADS / "openai" / name).read_bytes())
    translator, chunks = AzureStreamTranslator(), []
    try:
        for event in data.draw(mutated(events)):
            chunks += translator.feed(event)
            if translator.done:
                break
    except ProviderError:
        pass
    finish(chunks)


@pytest.mark.parametrize("name", GEMINI)
def test_recorded_gemini_streams_skip_nothing(name: str) -> None:
    translator = GeminiStreamTranslator()
    try:
        for event in gemini_events(name):
            translator.feed(event)
    except ProviderError:
        assert "error" in name
    assert translator.skipped == 0


@pytest.mark.parametrize("name", BEDROCK)
def test_recorded_bedrock_streams_skip_nothing(name: str) -> None:
    translator = BedrockStreamTranslator()
    for event in bedrock_events(name):
        translator.feed_event(event.event or "", event.data.encode())
    assert translator.skipped == 0
