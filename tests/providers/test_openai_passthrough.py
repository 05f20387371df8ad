"""OpenAI pass-through is a capability of the OpenAI model: a request whose ``origin`` is
the client's own Chat Completions body goes upstream as it is (only ``model`` replaced,
``stream``/``stream_options`` ours), and the answer's bytes come back in ``raw``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.messages import ChatRequest, Message, WireBody
from llm_router.providers.anthropic.chat_model import AnthropicChatModel
from llm_router.providers.openai.chat_model import OpenAIChatModel, OpenAICompatibleChatModel
from tests.conftest import CANARY
from tests.fakes import Reply

CLIENT_BODY = {"model": "smart", "messages": [{"role": "user", "content": "hi"}],
               "max_completion_tokens": 20, "logit_bias": {"50256": -100}, "metadata": {"k": "v"},
               "stream": False}


def model_for(cls, fakes, http, model="gpt-4.1-mini"):  # type: ignore[no-untyped-def]
    fake = fakes["openai"]
    return cls(Deployment("d", cls.provider, model, fake.base_url, SecretStr(CANARY["openai"]),
                          Timeouts(total=10)), http)


def request(model: str = "gpt-4.1-mini", body: dict[str, object] = CLIENT_BODY) -> ChatRequest:
    """As the router hands it to the model: ``model`` is the deployment's upstream model."""
    return ChatRequest(model, (Message("user", "hi"),), max_tokens=20,
                       origin=WireBody("openai", dict(body)))


async def test_whole_answer_is_the_upstream_bytes(fakes, http) -> None:  # type: ignore[no-untyped-def]
    model = model_for(OpenAIChatModel, fakes, http)
    response = await model.send_message(request())
    sent = fakes["openai"].requests[-1].body
    expected = {k: v for k, v in CLIENT_BODY.items() if k != "stream"}
    assert sent == {**expected, "model": "gpt-4.1-mini"}, "as the client sent it, model replaced"
    assert response.raw is not None and b'"chat.completion"' in response.raw
    assert response.text == "Hello from the fake upstream."


async def test_stream_sends_the_same_body(fakes, http) -> None:  # type: ignore[no-untyped-def]
    model = model_for(OpenAIChatModel, fakes, http)
    await model.send_message(request())
    async for _ in model.stream_message(request()):
        pass
    whole, streamed = (r.body for r in fakes["openai"].requests[-2:])
    assert streamed.pop("stream") is True
    assert streamed.pop("stream_options") == {"include_usage": True}
    assert streamed == whole


@pytest.mark.parametrize("stream", [False, True])
async def test_compatible_server_gets_max_tokens(fakes, http, stream) -> None:  # type: ignore[no-untyped-def]
    model = model_for(OpenAICompatibleChatModel, fakes, http, "llama-3.1-8b")
    if stream:
        async for _ in model.stream_message(request("llama-3.1-8b")):
            pass
    else:
        await model.send_message(request("llama-3.1-8b"))
    sent = fakes["openai"].requests[-1].body
    assert sent["max_tokens"] == 20 and "max_completion_tokens" not in sent
    assert sent["model"] == "llama-3.1-8b"


async def test_without_origin_the_canonical_request_is_translated(fakes, http) -> None:  # type: ignore[no-untyped-def]
    model = model_for(OpenAIChatModel, fakes, http)
    response = await model.send_message(replace(request(), origin=None))
    assert response.raw is None
    assert "logit_bias" not in fakes["openai"].requests[-1].body


async def test_another_format_never_reads_the_openai_body(fakes, http) -> None:  # type: ignore[no-untyped-def]
    fake = fakes["anthropic"]
    model = AnthropicChatModel(Deployment("a", "anthropic", "claude-sonnet-4-5", fake.base_url,
                                          SecretStr(CANARY["anthropic"])), http)
    fake.enqueue(Reply(text="from anthropic"))
    response = await model.send_message(request())
    assert response.text == "from anthropic" and response.raw is None
    assert "logit_bias" not in fake.requests[-1].body
