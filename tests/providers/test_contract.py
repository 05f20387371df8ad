"""One contract for every provider: the ChatModel, called directly, against the real
loopback fakes (tests/fakes/) — text, stream, tools (whole and streamed), usage, and each
error class. ``local`` runs where the ``local`` extra (llama_cpp and the bundled model) is
installed and is skipped otherwise."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.errors import (
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
)
from llm_router.messages import ChatChunk, ChatRequest, Message, Tool, Usage
from llm_router.providers.anthropic.chat_model import AnthropicChatModel
from llm_router.providers.base import ChatModel
from llm_router.providers.cohere.chat_model import CohereChatModel
from llm_router.providers.http import UpstreamClient
from llm_router.providers.openai.chat_model import OpenAIChatModel, OpenAICompatibleChatModel
from tests.conftest import CANARY
from tests.fakes import Reply, ToolCallSpec

HTTP_PROVIDERS = {
    # name: (ChatModel class, fake, model, native overloaded status or None)
    "openai": (OpenAIChatModel, "openai", "gpt-4.1-mini", None),
    "openai-compatible": (OpenAICompatibleChatModel, "openai", "llama-3.1-8b", None),
    "anthropic": (AnthropicChatModel, "anthropic", "claude-sonnet-4-5", 529),
    "cohere": (CohereChatModel, "cohere", "command-a-03-2025", None),
}
TIMEOUTS = Timeouts(connect=2, first_byte=3, stream_idle=3, total=10)
WEATHER = Tool("get_weather", "Weather for a city",
               {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
CALLS = [ToolCallSpec("call_1", "get_weather", '{"city":"Paris"}'),
         ToolCallSpec("call_2", "get_weather", '{"city":"Tokyo"}')]


@dataclass
class Subject:
    name: str
    model: ChatModel
    fake: object  # the FakeServer (fakes are untyped test code)

    def enqueue(self, *replies: Reply) -> None:
        self.fake.enqueue(*replies)  # type: ignore[attr-defined]

    @property
    def requests(self) -> list[object]:
        return self.fake.requests  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(params=list(HTTP_PROVIDERS))
def subject(request: pytest.FixtureRequest, fakes: dict[str, object], http: UpstreamClient) -> Subject:
    cls, fake_name, model, _ = HTTP_PROVIDERS[request.param]
    fake = fakes[fake_name]
    deployment = Deployment(request.param, cls.provider, model, fake.base_url,  # type: ignore[attr-defined]
                            SecretStr(CANARY[fake_name]), TIMEOUTS)
    return Subject(request.param, cls(deployment, http), fake)


def ask(text: str = "hi", **fields: object) -> ChatRequest:
    return ChatRequest("", (Message("user", text),), **fields)  # type: ignore[arg-type]


async def collect(model: ChatModel, request: ChatRequest) -> tuple[str, dict[int, dict[str, str]], ChatChunk]:
    """Text, tool calls (by index) and the final chunk of a stream, gathered like a client."""
    text, calls, final = "", {}, None
    async for chunk in model.stream_message(_for(model, request)):
        text += chunk.text
        for delta in chunk.tool_calls:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = delta.id or call["id"]
            call["name"] = delta.name or call["name"]
            call["arguments"] += delta.arguments
        if chunk.finish_reason is not None:
            final = chunk
    assert final is not None, "a stream ends with a chunk carrying finish_reason"
    return text, calls, final


def _for(model: ChatModel, request: ChatRequest) -> ChatRequest:
    from dataclasses import replace

    return replace(request, model=model.deployment.model)


async def test_text(subject: Subject) -> None:
    subject.enqueue(Reply(text="Hello there, friend."))
    response = await subject.model.send_message(_for(subject.model, ask()))
    assert response.text == "Hello there, friend."
    assert response.finish_reason == "stop"
    assert subject.requests[-1].body["model"] == subject.model.deployment.model  # type: ignore[attr-defined]


async def test_stream(subject: Subject) -> None:
    subject.enqueue(Reply(text="one two three four"))
    text, calls, final = await collect(subject.model, ask())
    assert text == "one two three four" and calls == {}
    assert final.finish_reason == "stop"


@pytest.mark.parametrize("stream", [False, True])
async def test_usage(subject: Subject, stream: bool) -> None:
    subject.enqueue(Reply(input_tokens=120, output_tokens=9, cached_tokens=100))
    if stream:
        usage = (await collect(subject.model, ask()))[2].usage
    else:
        usage = (await subject.model.send_message(_for(subject.model, ask()))).usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (120, 9, 100)
    assert usage.total_tokens == 129


async def test_tools(subject: Subject) -> None:
    subject.enqueue(Reply(text="", tool_calls=CALLS))
    response = await subject.model.send_message(_for(subject.model, ask("weather?", tools=(WEATHER,))))
    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_1", "get_weather", '{"city":"Paris"}'), ("call_2", "get_weather", '{"city":"Tokyo"}')]


async def test_tools_streamed(subject: Subject) -> None:
    subject.enqueue(Reply(text="", tool_calls=CALLS))
    _, calls, final = await collect(subject.model, ask("weather?", tools=(WEATHER,)))
    assert final.finish_reason == "tool_calls"
    assert [(c["id"], c["name"], c["arguments"]) for c in calls.values()] == [
        ("call_1", "get_weather", '{"city":"Paris"}'), ("call_2", "get_weather", '{"city":"Tokyo"}')]


def error_cases(provider: str) -> list[tuple[Reply, type[ProviderError]]]:
    cases = [
        (Reply(status=400, error_message="messages: bad"), UpstreamBadRequest),
        (Reply(status=401), UpstreamAuthFailed),
        (Reply(status=429, headers={"retry-after": "7"}), UpstreamRateLimited),
        (Reply(status=500), UpstreamServerError),
        (Reply(status=503), UpstreamServerError),
    ]
    overloaded = HTTP_PROVIDERS[provider][3]
    if overloaded is not None:
        cases.append((Reply(status=overloaded, error_type="overloaded_error"), UpstreamServerError))
    return cases


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", range(6))
async def test_error_classes(subject: Subject, stream: bool, case: int) -> None:
    cases = error_cases(subject.name)
    if case >= len(cases):
        pytest.skip(f"{subject.name} has no native overloaded status")
    await check_error_class(subject, stream, *cases[case])


async def check_error_class(subject: Subject, stream: bool, reply: Reply, expected: type[Exception]) -> None:
    """The scripted error ``reply`` raises ``expected``, classified with the upstream status
    (and Retry-After on a 429), whole or streamed."""
    subject.enqueue(reply)
    with pytest.raises(expected) as caught:
        if stream:
            await collect(subject.model, ask())
        else:
            await subject.model.send_message(_for(subject.model, ask()))
    error = caught.value
    assert error.provider == subject.model.provider and error.status == reply.status
    if reply.status == 429:
        assert error.retry_after == 7.0 and error.retryable
    if reply.status == 400:
        assert "messages: bad" in error.message


async def test_malformed_body(subject: Subject) -> None:
    subject.enqueue(Reply(malformed=True))
    with pytest.raises(UpstreamProtocolError):
        await subject.model.send_message(_for(subject.model, ask()))


async def test_cut_stream_after_content_raises_after_what_came(subject: Subject) -> None:
    subject.enqueue(Reply(text="one two three four five six seven eight", cut_after=5))
    seen = ""
    with pytest.raises(UpstreamProtocolError):
        async for chunk in subject.model.stream_message(_for(subject.model, ask())):
            seen += chunk.text
    assert seen and "one two three four five six seven eight".startswith(seen)


async def test_in_band_error_after_content(subject: Subject) -> None:
    subject.enqueue(Reply(text="one two three four", inband_error_after=3))
    with pytest.raises(ProviderError) as caught:
        await collect(subject.model, ask())
    assert caught.value.retryable


async def test_compatible_servers_get_max_tokens(subject: Subject) -> None:
    subject.enqueue(Reply())
    await subject.model.send_message(_for(subject.model, ask(max_tokens=50)))
    body = subject.requests[-1].body  # type: ignore[attr-defined]
    field = {"openai": "max_completion_tokens", "openai-compatible": "max_tokens",
             "anthropic": "max_tokens", "cohere": "max_tokens"}[subject.name]
    assert body[field] == 50


# ----- local (in-process llama.cpp): the same contract where it applies (no HTTP errors)
@pytest.fixture(scope="module")
def local_factory() -> object:
    """A factory holding the ``local`` deployment; skips when the ``local`` extra (its
    runtime and the bundled model) is not installed — the factory's own availability check."""
    from llm_router.config.settings import Settings
    from llm_router.providers.factory import ChatModelFactory, unavailable_reason

    deployments = Settings(_env_file=None).provider_deployments()  # type: ignore[call-arg]
    problem = unavailable_reason(deployments["local"])
    if problem is not None:
        pytest.skip(f"local extra not installed: {problem}")
    factory = ChatModelFactory(deployments, UpstreamClient())
    yield factory
    factory.close()


async def test_local_text_stream_and_usage(local_factory: object) -> None:
    model: ChatModel = local_factory.create("local")  # type: ignore[attr-defined]
    request = ask("Say hello.", max_tokens=8, temperature=0.0, seed=1)
    response = await model.send_message(_for(model, request))
    assert response.text and response.finish_reason in ("stop", "length")
    assert response.usage.input_tokens > 0 and 0 < response.usage.output_tokens <= 8
    text, calls, final = await collect(model, request)
    assert text == response.text and calls == {}
    assert final.usage == response.usage


async def test_local_tool_choice_required_is_a_call_of_the_tool(local_factory: object) -> None:
    import json

    from llm_router.messages import ToolChoice

    model: ChatModel = local_factory.create("local")  # type: ignore[attr-defined]
    request = ask("What is the weather in Paris?", tools=(WEATHER,), tool_choice=ToolChoice("required"),
                  max_tokens=60)
    response = await model.send_message(_for(model, request))
    assert response.finish_reason == "tool_calls" and [c.name for c in response.tool_calls] == ["get_weather"]
    assert isinstance(json.loads(response.tool_calls[0].arguments), dict)
    _text, calls, final = await collect(model, request)
    assert [c["name"] for c in calls.values()] == ["get_weather"] and final.finish_reason == "tool_calls"


def test_usage_totals() -> None:
    assert Usage(3, 4).total_tokens == 7
