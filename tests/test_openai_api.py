"""Contract suite: the official openai SDK, pointed at the gateway, against each provider."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.fakes import Reply, ToolCallSpec
from tests.gateway_process import GatewayProcess

PROVIDERS = ["openai", "anthropic", "cohere"]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME_TOOL = {"type": "function", "function": {
    "name": "get_time", "description": "Local time", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=10)


def sent(fakes, provider):
    return fakes[provider].requests[-1].body


@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_text(client, fakes, provider):
    fakes[provider].enqueue(Reply(text="Hi there!", input_tokens=20, output_tokens=3))
    completion = client.chat.completions.create(
        model=provider, messages=[{"role": "user", "content": "Hello"}])
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hi there!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 20 and completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == 23


@pytest.mark.parametrize("provider", PROVIDERS)
def test_system_prompt_and_multi_turn(client, fakes, provider):
    client.chat.completions.create(model=provider, messages=[
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Bye"}])
    body = sent(fakes, provider)
    if provider == "anthropic":
        assert body["system"] == "Be terse."
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    else:
        assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert "Bye" in json.dumps(body["messages"][-1])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streaming_text_with_usage(client, fakes, provider):
    fakes[provider].enqueue(Reply(text="Streaming is fun today.", input_tokens=8, output_tokens=5,
                                  cached_tokens=2))
    stream = client.chat.completions.create(
        model=provider, messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Streaming is fun today."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 8
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 2
    assert len({c.id for c in chunks}) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_usage_is_identical_streamed_or_not(client, fakes, provider):
    reply = Reply(text="Same either way.", input_tokens=30, output_tokens=4, cached_tokens=10)
    fakes[provider].enqueue(reply, reply)
    whole = client.chat.completions.create(model=provider, messages=[{"role": "user", "content": "x"}])
    chunks = list(client.chat.completions.create(
        model=provider, messages=[{"role": "user", "content": "x"}], stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].usage.model_dump() == whole.usage.model_dump()


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [False, True])
def test_parallel_tool_calls(client, fakes, provider, stream):
    calls = [ToolCallSpec("call_a1", "get_weather", '{"city": "Paris"}'),
             ToolCallSpec("call_b2", "get_time", "{}")]
    fakes[provider].enqueue(Reply(text="", tool_calls=calls))
    request = {"model": provider, "messages": [{"role": "user", "content": "Weather and time?"}],
               "tools": [WEATHER_TOOL, TIME_TOOL]}
    if stream:
        with client.chat.completions.stream(**request) as s:
            for _ in s:
                pass
            completion = s.get_final_completion()
    else:
        completion = client.chat.completions.create(**request)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    got = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls]
    assert got == [("call_a1", "get_weather", {"city": "Paris"}), ("call_b2", "get_time", {})]
    tools = sent(fakes, provider)["tools"]
    names = [t.get("name") or t["function"]["name"] for t in tools]
    assert names == ["get_weather", "get_time"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_result_round_trip(client, fakes, provider):
    fakes[provider].enqueue(Reply(text="It is 18C in Paris."))
    completion = client.chat.completions.create(model=provider, tools=[WEATHER_TOOL], messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_a1", "content": "18C"}])
    assert completion.choices[0].message.content == "It is 18C in Paris."
    body = json.dumps(sent(fakes, provider))
    assert "call_a1" in body and "18C" in body


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("choice", ["required", "none", {"type": "function", "function": {"name": "get_weather"}}])
def test_tool_choice_is_mapped(client, fakes, provider, choice):
    client.chat.completions.create(model=provider, tools=[WEATHER_TOOL], tool_choice=choice,
                                   messages=[{"role": "user", "content": "x"}])
    got = sent(fakes, provider).get("tool_choice")
    expected = {
        "openai": choice,
        "anthropic": {"required": {"type": "any"}, "none": {"type": "none"}}.get(
            choice if isinstance(choice, str) else "", {"type": "tool", "name": "get_weather"}),
        "cohere": {"none": "NONE"}.get(choice if isinstance(choice, str) else "", "REQUIRED"),
    }[provider]
    assert got == expected


@pytest.mark.parametrize("provider", PROVIDERS)
def test_json_schema_output(client, fakes, provider):
    fakes[provider].enqueue(Reply(text='{"city": "Paris"}'))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    completion = client.chat.completions.create(
        model=provider, messages=[{"role": "user", "content": "City?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}})
    assert json.loads(completion.choices[0].message.content) == {"city": "Paris"}
    body = sent(fakes, provider)
    if provider == "openai":
        assert body["response_format"]["json_schema"]["schema"] == schema
    elif provider == "anthropic":
        assert body["output_config"]["format"] == {"type": "json_schema", "schema": schema}
    else:
        assert body["response_format"] == {"type": "json_object", "json_schema": schema}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_image_input(client, fakes, provider):
    url = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="
    client.chat.completions.create(model=provider, messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]}])
    body = json.dumps(sent(fakes, provider))
    assert "iVBORw0KGgoAAAANSUhEUg==" in body


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stop_sequences_and_sampling(client, fakes, provider):
    client.chat.completions.create(model=provider, messages=[{"role": "user", "content": "x"}],
                                   stop=["END"], temperature=0.3, top_p=0.5, max_tokens=50)
    body = sent(fakes, provider)
    stop_field = "stop" if provider == "openai" else "stop_sequences"
    assert body[stop_field] == ["END"]
    assert body["temperature"] == 0.3
    assert body["top_p" if provider != "cohere" else "p"] == 0.5


@pytest.mark.parametrize("provider, finish, expected", [
    ("openai", "length", "length"), ("anthropic", "max_tokens", "length"), ("cohere", "MAX_TOKENS", "length"),
    ("openai", "content_filter", "content_filter"), ("anthropic", "refusal", "content_filter"),
    ("anthropic", "stop_sequence", "stop"), ("cohere", "STOP_SEQUENCE", "stop"),
])
def test_finish_reasons_are_mapped(client, fakes, provider, finish, expected):
    fakes[provider].enqueue(Reply(finish=finish), Reply(finish=finish))
    whole = client.chat.completions.create(model=provider, messages=[{"role": "user", "content": "x"}])
    streamed = [c for c in client.chat.completions.create(
        model=provider, messages=[{"role": "user", "content": "x"}], stream=True)]
    assert whole.choices[0].finish_reason == expected
    assert [c.choices[0].finish_reason for c in streamed if c.choices[0].finish_reason] == [expected]


@pytest.mark.parametrize("provider, status, error", [
    ("openai", 429, openai.RateLimitError), ("anthropic", 429, openai.RateLimitError),
    ("cohere", 429, openai.RateLimitError), ("anthropic", 400, openai.BadRequestError),
    ("cohere", 400, openai.BadRequestError), ("openai", 500, openai.InternalServerError),
    ("anthropic", 529, openai.InternalServerError), ("cohere", 401, openai.InternalServerError),
])
def test_errors_raise_the_sdks_typed_exceptions(client, fakes, provider, status, error):
    fakes[provider].enqueue(Reply(status=status, error_message="upstream says no"))
    with pytest.raises(error) as raised:
        client.chat.completions.create(model=provider, messages=[{"role": "user", "content": "x"}])
    body = raised.value.body
    assert set(body) >= {"message", "type", "param", "code"}


def test_mid_stream_failure_is_an_error_chunk_without_done(gateway, fakes):
    fakes["anthropic"].enqueue(Reply(text="a b c d e f g h", inband_error_after=4))
    response = httpx.post(gateway.url + "/v1/chat/completions", timeout=10, json={
        "model": "anthropic", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    frames = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert frames[-1] != "[DONE]" and "[DONE]" not in frames
    assert "error" in json.loads(frames[-1])
    assert any(json.loads(f)["choices"] and json.loads(f)["choices"][0]["delta"].get("content") for f in frames[:-1])


def test_sdk_raises_on_mid_stream_failure(client, fakes):
    fakes["cohere"].enqueue(Reply(text="a b c d e f g h", inband_error_after=4))
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(
                model="cohere", stream=True, messages=[{"role": "user", "content": "x"}]):
            pass


@pytest.mark.parametrize("body, param", [
    ({"model": "openai", "messages": []}, "messages"),
    ({"model": "openai"}, "messages"),
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "openai", "messages": "hello"}, "messages"),
    ({"model": "openai", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature"),
    ({"model": "openai", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}, "max_tokens"),
    ({"model": "openai", "messages": [{"role": "user", "content": "x"}], "n": 1e9}, "n"),
    ({"model": "openai", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
    ({"model": "openai", "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
    ({"model": "openai", "messages": [{"role": "user", "content": "x"}], "api_base": "http://evil"}, "api_base"),
    ({"model": "anthropic", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ({"model": "anthropic", "messages": [{"role": "user", "content": "x"}], "seed": 3}, "seed"),
])
def test_bad_input_is_400_naming_the_parameter(gateway, body, param):
    response = httpx.post(gateway.url + "/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] is not None and error["param"].startswith(param)
    assert set(error) >= {"message", "type", "param", "code"}


@pytest.mark.parametrize("raw", [
    b"{oops", b"[]", b'"x"', b"null", b"", b'{"a": 1e309}', b"[" * 10000,
    b'{"model": "openai", "messages": [{"role": "user", "content": "lone \\ud800 surrogate"}]}',
    b'{"model": "openai", "messages": [{"role": "user", "content": "bad utf-8 \xff\xfe"}]}',
])
def test_unreadable_json_is_400(gateway, raw):
    response = httpx.post(gateway.url + "/v1/chat/completions", content=raw,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_model_is_a_400_with_openai_shape(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert raised.value.code == "model_not_found"


def test_models_lists_providers_and_defaults(client):
    ids = {m.id for m in client.models.list()}
    assert {"openai", "anthropic", "cohere", "anthropic/claude-sonnet-4-5"} <= ids


def test_openai_upstream_body_passes_through_untouched(client, gateway, fakes):
    completion = client.chat.completions.create(
        model="openai", messages=[{"role": "user", "content": "x"}], logit_bias={"50256": -100},
        max_tokens=12, n=1)
    sent = fakes["openai"].requests[-1].body
    assert sent["logit_bias"] == {"50256": -100} and sent["max_tokens"] == 12
    assert sent["model"] == "gpt-4.1-mini"
    assert completion.system_fingerprint == "fp_fake0001", "a field we do not model came through"
    rid_based = httpx.post(gateway.url + "/v1/chat/completions", headers={"x-request-id": "pass-1"},
                           json={"model": "openai", "messages": [{"role": "user", "content": "x"}]}).json()
    assert rid_based["id"] != "chatcmpl-pass-1", "the upstream's own id, not one we made"
    translated = httpx.post(gateway.url + "/v1/chat/completions", headers={"x-request-id": "pass-2"},
                            json={"model": "cohere", "messages": [{"role": "user", "content": "x"}]}).json()
    assert translated["id"] == "chatcmpl-pass-2"


def test_valid_unicode_reaches_the_provider_unchanged(client, fakes):
    text = "family \U0001F468\u200D\U0001F469\u200D\U0001F467, RTL \u202Eabc, e\u0301, {{7*7}} ${7*7} __import__"
    for provider in PROVIDERS:
        client.chat.completions.create(model=provider, messages=[{"role": "user", "content": text}])
        assert text in json.dumps(fakes[provider].requests[-1].body, ensure_ascii=False)
