"""The Vertex fakes are faithful: google-genai (``vertexai=True``) and ``anthropic.AnthropicVertex``
reach them at Vertex's paths with a Bearer token and read exactly what was scripted."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from tests.fakes import Reply, ToolCallSpec
from tests.fakes.vertex import FakeVertex, FakeVertexAnthropic, TokenIssuer

TOKEN = "ya29.static-sdk-token"
TEXT = "The quick brown fox jumps."
WEATHER = ToolCallSpec("toolu_1", "get_weather", '{"city": "Paris"}')


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer(static_tokens=(TOKEN,))


@pytest.fixture(scope="module")
def gemini_fake(issuer: TokenIssuer) -> Iterator[FakeVertex]:
    server = FakeVertex("my-project", "europe-west4", issuer, api_key="AQ.express-key").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def claude_fake(issuer: TokenIssuer) -> Iterator[FakeVertexAnthropic]:
    server = FakeVertexAnthropic("my-project", "us-east5", issuer).start()
    yield server
    server.stop()


def genai_client(fake: FakeVertex, token: str = TOKEN, location: str = "europe-west4") -> genai.Client:
    fake.reset()
    return genai.Client(vertexai=True, project="my-project", location=location, credentials=Credentials(token),
                        http_options=types.HttpOptions(base_url=f"http://127.0.0.1:{fake.port}", api_version="v1",
                                                       retry_options=types.HttpRetryOptions(attempts=1)))


def test_gemini_on_vertex_text_and_stream(gemini_fake):
    client = genai_client(gemini_fake)
    gemini_fake.enqueue(Reply(text=TEXT, output_tokens=5), Reply(text=TEXT))
    response = client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert response.text == TEXT and response.usage_metadata.candidates_token_count == 5
    record = gemini_fake.requests[-1]
    assert record.path == ("/v1/projects/my-project/locations/europe-west4/publishers/google/models/"
                           "gemini-2.5-flash:generateContent")
    assert record.headers["authorization"] == f"Bearer {TOKEN}" and "x-goog-api-key" not in record.headers
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert "".join(c.text or "" for c in chunks) == TEXT


def test_gemini_on_vertex_refuses_bad_tokens_and_projects(gemini_fake):
    unknown = genai_client(gemini_fake, token="ya29.unknown")  # kept: a collected client closes its pool
    with pytest.raises(errors.ClientError) as caught:
        unknown.models.generate_content(model="m", contents="hi")
    assert caught.value.code == 401 and caught.value.status == "UNAUTHENTICATED"
    elsewhere = genai_client(gemini_fake, location="us-central1")
    with pytest.raises(errors.ClientError) as caught:
        elsewhere.models.generate_content(model="m", contents="hi")
    assert caught.value.code == 403


def test_gemini_express_mode(gemini_fake):
    gemini_fake.reset()
    gemini_fake.enqueue(Reply(text="express"))
    client = genai.Client(vertexai=True, api_key="AQ.express-key", http_options=types.HttpOptions(
        base_url=f"http://127.0.0.1:{gemini_fake.port}", api_version="v1"))
    assert client.models.generate_content(model="gemini-2.5-flash", contents="hi").text == "express"
    assert gemini_fake.requests[-1].path == "/v1/publishers/google/models/gemini-2.5-flash:generateContent"


def claude_client(fake: FakeVertexAnthropic) -> anthropic.AnthropicVertex:
    fake.reset()
    return anthropic.AnthropicVertex(region="us-east5", project_id="my-project", access_token=TOKEN,
                                     base_url=f"http://127.0.0.1:{fake.port}/v1", max_retries=0)


def test_claude_on_vertex_raw_predict(claude_fake):
    client = claude_client(claude_fake)
    claude_fake.enqueue(Reply(text=TEXT, tool_calls=[WEATHER]))
    message = client.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=64,
                                     messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == TEXT and message.stop_reason == "tool_use"
    assert message.content[1].input == {"city": "Paris"}
    record = claude_fake.requests[-1]
    assert record.path == ("/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/"
                           "claude-sonnet-4-5@20250929:rawPredict")
    assert "model" not in record.body and record.body["anthropic_version"].startswith(("vertex-", "20"))


def test_claude_on_vertex_stream(claude_fake):
    client = claude_client(claude_fake)
    claude_fake.enqueue(Reply(text=TEXT))
    with client.messages.stream(model="claude-sonnet-4-5@20250929", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
    assert text == TEXT and claude_fake.requests[-1].path.endswith(":streamRawPredict")


def test_claude_on_vertex_errors(claude_fake):
    client = claude_client(claude_fake)
    claude_fake.enqueue(Reply(status=529))
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model="claude-x", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 529 and caught.value.body["error"]["type"] == "overloaded_error"
    unauthenticated = httpx.post(f"http://127.0.0.1:{claude_fake.port}/v1/projects/my-project/locations/us-east5/"
                                 "publishers/anthropic/models/m:rawPredict", json={})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"]["status"] == "UNAUTHENTICATED"
