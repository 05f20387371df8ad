"""The fakes' Responses, embeddings and embed endpoints are faithful: the official SDKs
(openai, cohere) parse exactly what was scripted."""

from __future__ import annotations

from collections.abc import Iterator

import cohere
import openai
import pytest

from tests.fakes import FakeCohere, FakeOpenAI, Reply, ToolCallSpec
from tests.fakes.vectors import fake_vector

KEY_OPENAI, KEY_COHERE = "sk-fake-openai-Rsp12345", "co-fake-Emb67890"
WEATHER = ToolCallSpec("call_w1", "get_weather", '{"city": "Paris"}')


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(api_key=KEY_OPENAI).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def fake_cohere() -> Iterator[FakeCohere]:
    fake = FakeCohere(api_key=KEY_COHERE).start()
    yield fake
    fake.stop()


@pytest.fixture
def oai(fake_openai: FakeOpenAI) -> Iterator[openai.OpenAI]:
    fake_openai.reset()
    with openai.OpenAI(base_url=fake_openai.base_url, api_key=KEY_OPENAI, max_retries=0) as client:
        yield client


def test_responses_text(oai, fake_openai):
    fake_openai.enqueue(Reply(text="Hi there", input_tokens=9, output_tokens=2, cached_tokens=3))
    response = oai.responses.create(model="gpt-4.1-mini", input="Hello", instructions="Be brief.")
    assert response.output_text == "Hi there" and response.status == "completed"
    assert response.usage.input_tokens == 9 and response.usage.input_tokens_details.cached_tokens == 3
    assert fake_openai.requests[-1].path == "/v1/responses"


def test_responses_stream_matches_final(oai, fake_openai):
    fake_openai.enqueue(Reply(text="Let me look.", tool_calls=[WEATHER]))
    with oai.responses.stream(model="gpt-4.1-mini", input="Weather?") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [i.type for i in final.output] == ["message", "function_call"]
    assert final.output_text == "Let me look."
    call = final.output[1]
    assert (call.call_id, call.name, call.arguments) == ("call_w1", "get_weather", '{"city": "Paris"}')
    added = [e.item.id for e in events if e.type == "response.output_item.added"]
    assert added == [i.id for i in final.output]


def test_responses_incomplete_and_errors(oai, fake_openai):
    fake_openai.enqueue(Reply(text="cut", finish="max_output_tokens"))
    response = oai.responses.create(model="m", input="x", max_output_tokens=16)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    with pytest.raises(openai.BadRequestError) as info:
        oai.responses.create(model="m", input="x", max_output_tokens=5)
    assert info.value.body["param"] == "max_output_tokens"
    with pytest.raises(openai.BadRequestError) as info:
        oai.responses.create(model="m", input="x", previous_response_id="resp_unknown")
    assert info.value.body["param"] == "previous_response_id"
    with pytest.raises(openai.BadRequestError):
        oai.responses.create(model="m", input=[{"type": "function_call_output", "call_id": "c9", "output": "x"}])


def test_responses_inband_failure(oai, fake_openai):
    fake_openai.enqueue(Reply(inband_error_after=3, error_type="server_error", error_message="boom"))
    with oai.responses.stream(model="m", input="x") as stream:
        kinds = [e.type for e in stream]
    assert kinds[-1] == "response.failed"


@pytest.mark.parametrize("encoding", [None, "float", "base64"])
def test_openai_embeddings(oai, fake_openai, encoding):
    extra = {} if encoding is None else {"encoding_format": encoding}
    result = oai.embeddings.create(model="text-embedding-3-small", input=["a b", "c"], dimensions=5, **extra)
    vectors = [d.embedding for d in result.data]
    if encoding == "base64":
        import base64
        import struct
        vectors = [list(struct.unpack("<5f", base64.b64decode(v))) for v in vectors]
    assert vectors == [fake_vector("a b", 5), fake_vector("c", 5)]
    assert result.usage.prompt_tokens == 3
    sent = fake_openai.requests[-1].body
    assert sent["encoding_format"] == (encoding or "base64")  # the SDK's default is base64


def test_cohere_embed(fake_cohere):
    fake_cohere.reset()
    client = cohere.ClientV2(api_key=KEY_COHERE, base_url=fake_cohere.base_url)
    result = client.embed(model="embed-v4.0", texts=["hello", "world"], input_type="search_query",
                          embedding_types=["float"])
    assert result.embeddings.float_ == [fake_vector("hello", 10), fake_vector("world", 10)]
    assert result.meta.billed_units.input_tokens == 2
    with pytest.raises(cohere.core.api_error.ApiError) as info:
        client.embed(model="embed-v4.0", texts=["x"] * 97, input_type="search_query", embedding_types=["float"])
    assert info.value.status_code == 400
