"""GeminiChatModel against the fake Gemini server: text, stream, tools, usage, errors, canary key."""

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
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
)
from llm_router.messages import ChatChunk, ChatRequest, Message, Tool, ToolCall, Usage, merge_chunks
from llm_router.providers.gemini.chat_model import GeminiChatModel
from llm_router.providers.http import UpstreamClient
from tests.fakes import Reply, ToolCallSpec
from tests.fakes.gemini import FakeGemini, GeminiReply

CANARY = "AIza-canary-gemini-Xv81RtQm2Lp"
HI = ChatRequest("gemini-2.5-flash", (Message("system", "Be brief."), Message("user", "hi")))
WEATHER = ToolCallSpec("", "get_weather", '{"city": "Paris"}')
TOOLS = (Tool("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}),)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGemini]:
    server = FakeGemini(api_key=CANARY).start()
    yield server
    server.stop()


def model_for(fake: FakeGemini, http: UpstreamClient, key: str = CANARY) -> GeminiChatModel:
    fake.reset()
    fake.queries.clear()
    deployment = Deployment("gemini", "gemini", "gemini-2.5-flash", fake.base_url, SecretStr(key),
                            Timeouts(connect=2, first_byte=2, stream_idle=2))
    return GeminiChatModel(deployment, http)


async def collect(model: GeminiChatModel, request: ChatRequest) -> tuple[list[ChatChunk], ChatChunk]:
    chunks = [c async for c in model.stream_message(request)]
    return chunks, merge_chunks(chunks)


async def test_text(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="Hello there.", input_tokens=20, output_tokens=3, cached_tokens=8))
    response = await model.send_message(HI)
    assert (response.text, response.finish_reason, response.usage) == ("Hello there.", "stop", Usage(20, 3, 8))
    record = fake.requests[-1]
    assert record.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert record.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}


async def test_stream_text(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="One two three four.", output_tokens=4))
    chunks, merged = await collect(model, HI)
    assert merged.text == "One two three four." and merged.finish_reason == "stop"
    assert merged.usage == Usage(11, 4, 0) and len(chunks) >= 2
    assert fake.queries == ["alt=sse"]


async def test_tools_whole_and_streamed(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    request = ChatRequest("gemini-2.5-flash", (Message("user", "weather?"),), tools=TOOLS)
    fake.enqueue(Reply(text="", tool_calls=[WEATHER]), Reply(text="", tool_calls=[WEATHER]))
    response = await model.send_message(request)
    assert response.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("get_weather", '{"city":"Paris"}')]
    _, merged = await collect(model, request)
    assert merged.finish_reason == "tool_calls" and merged.tool_calls[0].name == "get_weather"
    # the conversation goes on: the fake accepts the call and its result
    follow = ChatRequest("gemini-2.5-flash", (*request.messages, Message("assistant", None, tool_calls=response.tool_calls),
                                              Message("tool", '{"temp": 18}', tool_call_id=response.tool_calls[0].id)))
    assert (await model.send_message(follow)).text


async def test_gemini3_signature_survives_a_round_trip(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    request = ChatRequest("gemini-3-pro-preview", (Message("user", "weather?"),), tools=TOOLS)
    fake.enqueue(GeminiReply(text="", tool_calls=[WEATHER], signature="c2ln"))
    _, merged = await collect(model, request)
    delta = merged.tool_calls[0]
    call = ToolCall(delta.id or "", delta.name or "", delta.arguments)
    follow = ChatRequest("gemini-3-pro-preview", (*request.messages, Message("assistant", None, tool_calls=(call,)),
                                                  Message("tool", "18C", tool_call_id=call.id)), tools=TOOLS)
    assert (await model.send_message(follow)).text  # the fake refuses a call part without its signature


async def test_safety_and_blocked_prompt(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(finish="SAFETY"), Reply(finish="BLOCKED"), Reply(text="abc def", finish="SAFETY"))
    assert (await model.send_message(HI)).finish_reason == "content_filter"
    assert (await model.send_message(HI)).finish_reason == "content_filter"
    _, merged = await collect(model, HI)
    assert merged.finish_reason == "content_filter" and merged.text == "abc def"


async def test_thinking_budget_is_sent(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(GeminiReply(text="ok", thoughts="hmm", thoughts_tokens=40, output_tokens=2))
    request = ChatRequest("gemini-2.5-flash", (Message("user", "hi"),), extra={"reasoning_effort": "medium"})
    response = await model.send_message(request)
    assert response.text == "ok" and response.usage.output_tokens == 42 and response.usage.reasoning_tokens == 40
    assert response.reasoning == "hmm"
    assert fake.requests[-1].body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 8192,
                                                                            "includeThoughts": True}


@pytest.mark.parametrize(("reply", "error", "retry_after"), [
    (Reply(status=429), UpstreamRateLimited, 3.0),
    (GeminiReply(status=429, retry_delay="12s", headers={}), UpstreamRateLimited, 12.0),
    (Reply(status=500), UpstreamServerError, None),
    (Reply(status=503), UpstreamServerError, None),
    (Reply(status=400, error_message="bad schema"), UpstreamBadRequest, None),
    (Reply(status=404), UpstreamBadRequest, None),
    (Reply(status=403), UpstreamAuthFailed, None),
])
async def test_error_classes(fake: FakeGemini, http: UpstreamClient, reply: Reply,
                             error: type[ProviderError], retry_after: float | None) -> None:
    model = model_for(fake, http)
    fake.enqueue(reply, reply)
    with pytest.raises(error) as raised:
        await model.send_message(HI)
    assert raised.value.retry_after == retry_after
    with pytest.raises(error):
        await collect(model, HI)


async def test_stream_faults(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="a b c d", inband_error_after=2), Reply(text="a b c d", cut_after=2),
                 Reply(text="a b c d", malformed=True))
    seen: list[str] = []
    with pytest.raises(UpstreamServerError):
        async for chunk in model.stream_message(HI):
            seen.append(chunk.text)
    assert "".join(seen) == "a b"
    with pytest.raises(ProviderError):
        await collect(model, HI)
    _, merged = await collect(model, HI)  # a broken event is skipped, the stream goes on
    assert merged.finish_reason == "stop" and merged.text.endswith("d")


async def test_canary_key_appears_nowhere(fake: FakeGemini, http: UpstreamClient,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = model_for(fake, http)
    fake.enqueue(Reply(text="ok"), Reply(text="ok"))
    await model.send_message(HI)
    await collect(model, HI)
    assert all(CANARY not in r.path and CANARY not in q for r, q in zip(fake.requests, fake.queries, strict=True))
    assert model.url.find(CANARY) == model.stream_url.find(CANARY) == -1
    assert fake.requests[-1].headers["x-goog-api-key"] == CANARY  # it went where it belongs
    wrong = model_for(fake, http, key=CANARY[::-1])
    with pytest.raises(UpstreamAuthFailed) as raised:
        await wrong.send_message(HI)
    assert raised.value.status == 401
    texts = [str(raised.value), repr(raised.value), repr(model.deployment), caplog.text]
    assert not any(CANARY in t or CANARY[::-1] in t for t in texts)


async def test_unreadable_body_is_a_protocol_error(fake: FakeGemini, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(malformed=True), Reply(empty_stream=True))
    with pytest.raises(UpstreamProtocolError):
        await model.send_message(HI)
    with pytest.raises(UpstreamProtocolError):
        await collect(model, HI)
