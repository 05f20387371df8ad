"""Vertex AI ChatModels against the Vertex fakes, signed in through google-auth's real flow:
a service-account file whose token_uri is the fake's token endpoint (a signed JWT grant)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, DeploymentOptions, Timeouts
from llm_router.errors import ProviderUnavailable, UpstreamRateLimited, UpstreamServerError
from llm_router.messages import ChatRequest, Message, Tool, Usage, merge_chunks
from llm_router.providers.http import UpstreamClient
from llm_router.providers.vertex.auth import GoogleTokens
from llm_router.providers.vertex.chat_model import (
    VertexAnthropicChatModel,
    VertexGeminiChatModel,
    base_url_for,
)
from tests.fakes import Reply, ToolCallSpec
from tests.fakes.vertex import FakeVertex, FakeVertexAnthropic, TokenIssuer

HI = ChatRequest("m", (Message("system", "Be brief."), Message("user", "hi")), max_tokens=64)
WEATHER = ToolCallSpec("toolu_1", "get_weather", '{"city": "Paris"}')
TOOLS = (Tool("get_weather", "Weather", {"type": "object"}),)
EXPRESS_KEY = "AQ.canary-express-key-Lp4Rt8Vw"


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture(scope="module")
def gemini_fake(issuer: TokenIssuer) -> Iterator[FakeVertex]:
    server = FakeVertex("proj-1", "europe-west4", issuer, api_key=EXPRESS_KEY).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def claude_fake(issuer: TokenIssuer) -> Iterator[FakeVertexAnthropic]:
    server = FakeVertexAnthropic("proj-1", "us-east5", issuer).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(autouse=True)
def service_account(gemini_fake: FakeVertex, private_key: str, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "proj-1", "private_key_id": "k1", "private_key": private_key,
        "client_email": "router@proj-1.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": f"http://127.0.0.1:{gemini_fake.port}/token"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    return path


def deployment(fake: object, provider: str, model: str, location: str, key: str | None = None,
               project: str | None = "proj-1") -> Deployment:
    fake.reset()  # type: ignore[attr-defined]
    return Deployment(provider, provider, model, f"http://127.0.0.1:{fake.port}/v1",  # type: ignore[attr-defined]
                      SecretStr(key) if key else None, Timeouts(connect=2, first_byte=5, stream_idle=5),
                      DeploymentOptions(project=project, location=location))


def test_endpoints_follow_the_location() -> None:
    assert base_url_for("us-east5") == "https://us-east5-aiplatform.googleapis.com/v1"
    assert base_url_for("global") == "https://aiplatform.googleapis.com/v1"
    assert base_url_for("eu") == "https://aiplatform.eu.rep.googleapis.com/v1"


async def test_gemini_on_vertex(gemini_fake: FakeVertex, issuer: TokenIssuer, http: UpstreamClient) -> None:
    shared: dict[str, object] = {}
    model = VertexGeminiChatModel(deployment(gemini_fake, "vertex", "gemini-2.5-flash", "europe-west4"), http, shared)
    gemini_fake.enqueue(Reply(text="Hi.", input_tokens=9, output_tokens=2), Reply(text="a b c"),
                        Reply(text="", tool_calls=[WEATHER]))
    grants = len(issuer.grants)
    response = await model.send_message(HI)
    assert (response.text, response.usage) == ("Hi.", Usage(9, 2, 0))
    record = gemini_fake.requests[-1]
    assert record.path == ("/v1/projects/proj-1/locations/europe-west4/publishers/google/models/"
                           "gemini-2.5-flash:generateContent")
    assert record.headers["authorization"].startswith("Bearer ya29.fake-")
    merged = merge_chunks([c async for c in model.stream_message(HI)])
    assert merged.text == "a b c" and merged.finish_reason == "stop"
    tools = await model.send_message(ChatRequest("m", (Message("user", "w?"),), tools=TOOLS))
    assert tools.finish_reason == "tool_calls" and tools.tool_calls[0].name == "get_weather"
    assert len(issuer.grants) == grants + 1  # one token for every request
    claims = issuer.grants[-1]
    assert claims["iss"] == "router@proj-1.iam.gserviceaccount.com" and "cloud-platform" in claims["scope"]


async def test_claude_on_vertex(claude_fake: FakeVertexAnthropic, http: UpstreamClient) -> None:
    shared: dict[str, object] = {}
    model = VertexAnthropicChatModel(deployment(claude_fake, "vertex-anthropic", "claude-sonnet-4-5@20250929",
                                                "us-east5"), http, shared)
    claude_fake.enqueue(Reply(text="Hello.", input_tokens=20, output_tokens=3, cached_tokens=5),
                        Reply(text="one two", tool_calls=[WEATHER]), Reply(status=529), Reply(status=429))
    response = await model.send_message(HI)
    assert (response.text, response.usage) == ("Hello.", Usage(20, 3, 5))
    record = claude_fake.requests[-1]
    assert record.path.endswith("/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    assert record.body["anthropic_version"] == "vertex-2023-10-16" and "model" not in record.body
    assert record.body["system"] == "Be brief."
    merged = merge_chunks([c async for c in model.stream_message(HI)])
    assert merged.text == "one two" and merged.finish_reason == "tool_calls"
    assert claude_fake.requests[-1].path.endswith(":streamRawPredict")
    with pytest.raises(UpstreamServerError):
        await model.send_message(HI)
    with pytest.raises(UpstreamRateLimited):
        await model.send_message(HI)


async def test_tokens_are_refreshed_ahead_in_the_background(gemini_fake: FakeVertex, issuer: TokenIssuer,
                                                            http: UpstreamClient) -> None:
    issuer.lifetime = 200.0  # less than the refresh-ahead margin: every use starts a refresh
    try:
        tokens = GoogleTokens()
        model = VertexGeminiChatModel(deployment(gemini_fake, "vertex", "g", "europe-west4"), http,
                                      {"google-auth": tokens})
        before = len(issuer.grants)
        await model.send_message(HI)  # no token yet: this request waits for one
        first = tokens.current
        await model.send_message(HI)  # uses the first token, and starts a refresh
        chat = [r for r in gemini_fake.requests if r.path != "/token"]
        assert chat[-1].headers["authorization"] == f"Bearer {first}"
        refresh = tokens.pending  # None when the background refresh is already over
        if refresh is not None:
            await asyncio.wait_for(refresh, 5)
        assert tokens.current != first and len(issuer.grants) == before + 2
    finally:
        issuer.lifetime = 3600.0


async def test_express_mode_key_goes_in_a_header(gemini_fake: FakeVertex, http: UpstreamClient,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = VertexGeminiChatModel(deployment(gemini_fake, "vertex", "gemini-2.5-flash", "global", key=EXPRESS_KEY),
                                  http, {})
    gemini_fake.enqueue(Reply(text="express"))
    assert (await model.send_message(HI)).text == "express"
    record = gemini_fake.requests[-1]
    assert record.path == "/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert record.headers["x-goog-api-key"] == EXPRESS_KEY
    assert all(EXPRESS_KEY not in q for q in gemini_fake.queries) and EXPRESS_KEY not in caplog.text


async def test_canary_credentials_appear_nowhere(gemini_fake: FakeVertex, private_key: str, http: UpstreamClient,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = VertexGeminiChatModel(deployment(gemini_fake, "vertex", "g", "europe-west4"), http, {})
    gemini_fake.enqueue(Reply(status=400, error_message="bad request"))
    with pytest.raises(Exception) as raised:
        await model.send_message(HI)
    token = model.tokens.current
    secret = private_key.splitlines()[1]
    for text in (str(raised.value), repr(raised.value), caplog.text, model.url):
        assert token not in text and secret not in text


async def test_missing_project_or_credentials_is_unavailable(gemini_fake: FakeVertex, http: UpstreamClient,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    model = VertexGeminiChatModel(deployment(gemini_fake, "vertex", "g", "europe-west4"), http, {})
    with pytest.raises(ProviderUnavailable, match="GOOGLE_APPLICATION_CREDENTIALS"):
        await model.send_message(HI)
    no_project = VertexGeminiChatModel(deployment(gemini_fake, "vertex", "g", "x", project=None), http,
                                       {"google-auth": GoogleTokens(credentials=_Static())})
    with pytest.raises(ProviderUnavailable, match="project"):
        await no_project.send_message(HI)


class _Static:
    """Credentials that need no network (for the missing-project case)."""

    token = "ya29.static"
    expiry = None

    def refresh(self, request: object) -> None:
        return None
