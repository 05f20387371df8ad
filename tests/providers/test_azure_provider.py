"""AzureOpenAIChatModel against the fake Azure server: both URL forms, stream, tools,
content filter, errors, canary key."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.errors import (
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamServerError,
)
from llm_router.messages import ChatRequest, Message, Tool, Usage, WireBody, merge_chunks
from llm_router.providers.azure import translate
from llm_router.providers.azure.chat_model import AzureOpenAIChatModel
from llm_router.providers.http import UpstreamClient
from llm_router.providers.sse import SSEEvent
from tests.fakes import Reply, ToolCallSpec
from tests.fakes.azure import FakeAzure

CANARY = "az-canary-3f9d0c7be15a4e62"
HI = ChatRequest("ignored", (Message("user", "hi"),), max_tokens=20)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAzure]:
    server = FakeAzure(api_key=CANARY).start()
    yield server
    server.stop()


def model_for(fake: FakeAzure, http: UpstreamClient, suffix: str = "", deployment: str = "gpt-4o",
              key: str = CANARY) -> AzureOpenAIChatModel:
    fake.reset()
    fake.queries.clear()
    d = Deployment("azure", "azure", deployment, f"http://127.0.0.1:{fake.port}{suffix}", SecretStr(key),
                   Timeouts(connect=2, first_byte=2, stream_idle=2))
    return AzureOpenAIChatModel(d, http)


def test_urls() -> None:
    assert translate.chat_url("https://r.openai.azure.com/", "gpt 4o", None) == (
        "https://r.openai.azure.com/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21")
    assert translate.chat_url("https://r.openai.azure.com/openai", "d", "2025-04-01-preview").endswith(
        "/openai/deployments/d/chat/completions?api-version=2025-04-01-preview")
    assert translate.chat_url("https://r.openai.azure.com", "d", "v1") == "https://r.openai.azure.com/openai/v1/chat/completions"
    assert translate.chat_url("https://r.openai.azure.com/openai/v1/", "d", None).endswith("/openai/v1/chat/completions")
    assert translate.split_endpoint("https://r?api-version=2024-06-01") == ("https://r", "2024-06-01")


async def test_dated_and_v1_paths(fake: FakeAzure, http: UpstreamClient) -> None:
    model = model_for(fake, http, "?api-version=2024-12-01-preview")
    fake.enqueue(Reply(text="Hi.", input_tokens=14, output_tokens=2, cached_tokens=4))
    response = await model.send_message(HI)
    assert (response.text, response.usage, response.model) == ("Hi.", Usage(14, 2, 4), "gpt-4o-2024-11-20")
    assert fake.requests[-1].path == "/openai/deployments/gpt-4o/chat/completions"
    assert fake.queries == ["api-version=2024-12-01-preview"]
    assert fake.requests[-1].body["model"] == "gpt-4o"
    v1 = model_for(fake, http, "/openai/v1", deployment="my-deployment")
    fake.enqueue(Reply(text="v1"))
    assert (await v1.send_message(HI)).text == "v1"
    assert fake.requests[-1].path == "/openai/v1/chat/completions"
    assert fake.requests[-1].body["model"] == "my-deployment"


async def test_stream_skips_filter_annotations(fake: FakeAzure, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="One two three.", output_tokens=3))
    chunks = [c async for c in model.stream_message(HI)]
    merged = merge_chunks(chunks)
    assert merged.text == "One two three." and merged.finish_reason == "stop"
    assert merged.usage is not None and merged.usage.output_tokens == 3
    assert merged.id and merged.id.startswith("chatcmpl-")  # not the empty id of the filter chunk


async def test_tools_and_passthrough(fake: FakeAzure, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    tools = (Tool("get_weather", None, {"type": "object"}),)
    fake.enqueue(Reply(text="", tool_calls=[ToolCallSpec("call_1", "get_weather", '{"city":"Paris"}')]))
    response = await model.send_message(ChatRequest("x", (Message("user", "w?"),), tools=tools))
    assert response.finish_reason == "tool_calls" and response.tool_calls[0].arguments == '{"city":"Paris"}'
    body = {"model": "client-name", "messages": [{"role": "user", "content": "hi"}], "logprobs": True}
    fake.enqueue(Reply(text="raw"))
    passed = await model.send_message(ChatRequest("x", (Message("user", "hi"),), origin=WireBody("openai", body)))
    assert passed.raw is not None and b"prompt_filter_results" in passed.raw
    assert fake.requests[-1].body["logprobs"] is True and fake.requests[-1].body["model"] == "gpt-4o"


async def test_content_filter(fake: FakeAzure, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(finish="content_filter"), Reply(text="a b", finish="content_filter"),
                 Reply(status=400, error_type="content_filter"))
    assert (await model.send_message(HI)).finish_reason == "content_filter"
    merged = merge_chunks([c async for c in model.stream_message(HI)])
    assert merged.finish_reason == "content_filter"
    with pytest.raises(UpstreamBadRequest) as raised:
        await model.send_message(HI)
    assert raised.value.upstream_type == "content_filter" and not raised.value.retryable
    assert "filtered: violence" in raised.value.message


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(status=429, headers={"retry-after": "6"}), UpstreamRateLimited),
    (Reply(status=500), UpstreamServerError),
    (Reply(status=503), UpstreamServerError),
    (Reply(status=400, error_message="bad"), UpstreamBadRequest),
])
async def test_error_classes(fake: FakeAzure, http: UpstreamClient, reply: Reply, error: type[ProviderError]) -> None:
    model = model_for(fake, http)
    fake.enqueue(reply, reply)
    with pytest.raises(error) as raised:
        await model.send_message(HI)
    if reply.status == 429:
        assert raised.value.retry_after == 6.0 and raised.value.retryable
    with pytest.raises(error):
        [c async for c in model.stream_message(HI)]


async def test_unknown_deployment(fake: FakeAzure, http: UpstreamClient) -> None:
    with pytest.raises(UpstreamBadRequest) as raised:
        await model_for(fake, http, deployment="missing").send_message(HI)
    assert raised.value.status == 404 and raised.value.upstream_type == "DeploymentNotFound"


async def test_canary_key_appears_nowhere(fake: FakeAzure, http: UpstreamClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = model_for(fake, http)
    fake.enqueue(Reply(text="ok"))
    await model.send_message(HI)
    assert fake.requests[-1].headers["api-key"] == CANARY and CANARY not in model.url
    assert all(CANARY not in q for q in fake.queries)
    wrong = model_for(fake, http, key=CANARY[::-1])
    with pytest.raises(UpstreamAuthFailed) as raised:
        await wrong.send_message(HI)
    texts = [str(raised.value), repr(raised.value), repr(model.deployment), caplog.text]
    assert not any(CANARY in t or CANARY[::-1] in t for t in texts)


def test_translator_ignores_annotation_only_chunks() -> None:
    translator = translate.AzureStreamTranslator()
    assert translator.feed(SSEEvent('{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[]}')) == []
    assert translator.id is None and translator.skipped == 0


async def test_no_endpoint_is_unavailable(http: UpstreamClient) -> None:
    from llm_router.errors import ProviderUnavailable
    from llm_router.providers.azure.chat_model import PLACEHOLDER_URL

    model = AzureOpenAIChatModel(Deployment("azure", "azure", "d", PLACEHOLDER_URL, SecretStr(CANARY)), http)
    with pytest.raises(ProviderUnavailable, match="AZURE_BASE_URL"):
        await model.send_message(HI)
