"""The provider contract (tests/providers/test_contract.py) for Gemini, Azure OpenAI, Bedrock
and Vertex AI (Gemini and Claude): the same behaviour tests, run on these models against
their fakes, plus the cases where their wire differs (model in the path, no call ids on
Gemini's wire, each error class)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, DeploymentOptions
from llm_router.errors import (
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamServerError,
)
from llm_router.providers.azure.chat_model import AzureOpenAIChatModel
from llm_router.providers.bedrock.chat_model import BedrockChatModel
from llm_router.providers.gemini.chat_model import GeminiChatModel
from llm_router.providers.http import UpstreamClient
from llm_router.providers.vertex.chat_model import VertexAnthropicChatModel, VertexGeminiChatModel
from tests.fakes import Reply
from tests.fakes.azure import FakeAzure
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.gemini import FakeGemini
from tests.fakes.vertex import FakeVertex, FakeVertexAnthropic, TokenIssuer
from tests.providers.test_contract import (  # the shared behaviour, run on these subjects
    CALLS,
    TIMEOUTS,
    WEATHER,
    Subject,
    _for,
    ask,
    check_error_class,
    collect,
    test_cut_stream_after_content_raises_after_what_came,
    test_in_band_error_after_content,
    test_malformed_body,
    test_stream,
    test_usage,
)

__all__ = ["test_cut_stream_after_content_raises_after_what_came", "test_in_band_error_after_content",
           "test_malformed_body", "test_stream", "test_usage"]

KEYS = {"gemini": "AIza-contract-Kq2Zx9PL", "azure": "az-contract-7Hq2Zx9P", "bedrock": "ABSK-contract-Rt8Vw",
        "vertex": "AQ.contract-express-4Rt8", "vertex-anthropic": "ya29.contract-static-Zx9"}
MODELS = {"gemini": "gemini-2.5-flash", "azure": "gpt-4o", "bedrock": "us.amazon.nova-micro-v1:0",
          "vertex": "gemini-2.5-flash", "vertex-anthropic": "claude-sonnet-4-5@20250929"}
CLASSES = {"gemini": GeminiChatModel, "azure": AzureOpenAIChatModel, "bedrock": BedrockChatModel,
           "vertex": VertexGeminiChatModel, "vertex-anthropic": VertexAnthropicChatModel}
IDS_ON_THE_WIRE = {"azure", "bedrock", "vertex-anthropic"}  # Gemini's wire has no call ids


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[object, str]]]:
    """Each fake and the base URL a deployment uses for it."""
    issuer = TokenIssuer(static_tokens=(KEYS["vertex-anthropic"],))
    fakes = {"gemini": FakeGemini(api_key=KEYS["gemini"]).start(),
             "azure": FakeAzure(api_key=KEYS["azure"]).start(),
             "bedrock": FakeBedrock(api_key=KEYS["bedrock"]).start(),
             "vertex": FakeVertex(issuer=issuer, api_key=KEYS["vertex"]).start(),
             "vertex-anthropic": FakeVertexAnthropic("my-project", "us-east5", issuer).start()}
    yield {name: (fake, fake.base_url) for name, fake in fakes.items()}
    for fake in fakes.values():
        fake.stop()


@pytest.fixture(params=list(CLASSES))
def subject(request: pytest.FixtureRequest, servers: dict[str, tuple[object, str]], http: UpstreamClient) -> Subject:
    name = request.param
    fake, base_url = servers[name]
    fake.reset()  # type: ignore[attr-defined]
    options = DeploymentOptions(project="my-project", location="us-east5") if name == "vertex-anthropic" \
        else DeploymentOptions()
    deployment = Deployment(name, name, MODELS[name], base_url, SecretStr(KEYS[name]), TIMEOUTS, options)
    return Subject(name, CLASSES[name](deployment, http), fake)  # type: ignore[abstract]


async def test_text_and_where_the_model_is_named(subject: Subject) -> None:
    subject.enqueue(Reply(text="Hello there, friend."))
    response = await subject.model.send_message(_for(subject.model, ask()))
    assert (response.text, response.finish_reason) == ("Hello there, friend.", "stop")
    record = subject.requests[-1]
    if subject.name == "azure":
        assert record.body["model"] == "gpt-4o"  # type: ignore[attr-defined]
    else:  # in the path
        assert "model" not in record.body  # type: ignore[attr-defined]
        assert MODELS[subject.name] in record.path  # type: ignore[attr-defined]


@pytest.mark.parametrize("stream", [False, True])
async def test_tools(subject: Subject, stream: bool) -> None:
    subject.enqueue(Reply(text="", tool_calls=CALLS))
    request = _for(subject.model, ask("weather?", tools=(WEATHER,)))
    if stream:
        _, found, final = await collect(subject.model, request)
        calls = [(c["id"], c["name"], c["arguments"].replace(" ", "")) for c in found.values()]
        reason = final.finish_reason
    else:
        response = await subject.model.send_message(request)
        calls = [(c.id, c.name, c.arguments.replace(" ", "")) for c in response.tool_calls]
        reason = response.finish_reason
    assert reason == "tool_calls"
    assert [(n, a) for _, n, a in calls] == [("get_weather", '{"city":"Paris"}'), ("get_weather", '{"city":"Tokyo"}')]
    ids = [i for i, _, _ in calls]
    assert len(set(ids)) == 2 and all(ids)
    if subject.name in IDS_ON_THE_WIRE:
        assert ids == ["call_1", "call_2"]


def error_cases(name: str) -> list[tuple[Reply, type[ProviderError]]]:
    auth = 403 if name == "bedrock" else 401
    return [(Reply(status=400, error_message="messages: bad"), UpstreamBadRequest),
            (Reply(status=auth), UpstreamAuthFailed),
            (Reply(status=429, headers={"retry-after": "7"}), UpstreamRateLimited),
            (Reply(status=500), UpstreamServerError), (Reply(status=503), UpstreamServerError)]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", range(5))
async def test_error_classes(subject: Subject, stream: bool, case: int) -> None:
    await check_error_class(subject, stream, *error_cases(subject.name)[case])


async def test_key_is_in_a_header_only(subject: Subject) -> None:
    subject.enqueue(Reply(text="ok"))
    await subject.model.send_message(_for(subject.model, ask()))
    record = subject.requests[-1]
    key = KEYS[subject.name]
    assert key not in record.path and key not in str(record.body)  # type: ignore[attr-defined]
    assert key in " ".join(record.headers.values())  # type: ignore[attr-defined]
    assert all(key not in q for q in getattr(subject.fake, "queries", []))
