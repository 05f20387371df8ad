"""The Azure fake is faithful: ``openai.AzureOpenAI`` (dated API) and ``openai.OpenAI`` (v1 path)
read exactly what was scripted."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.fakes import Reply, ToolCallSpec
from tests.fakes.azure import FakeAzure

KEY = "az-fake-key-0b7c1e9f44d2"
USER = [{"role": "user", "content": "hi"}]
TEXT = "The quick brown fox jumps."
WEATHER = ToolCallSpec("call_w1", "get_weather", '{"location": "Paris"}')


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAzure]:
    server = FakeAzure(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture
def azure(fake: FakeAzure) -> Iterator[openai.AzureOpenAI]:
    fake.reset()
    fake.queries.clear()
    with openai.AzureOpenAI(azure_endpoint=f"http://127.0.0.1:{fake.port}", api_key=KEY,
                            api_version="2024-10-21", max_retries=0) as client:
        yield client


def test_dated_path_text_with_filter_results(fake, azure):
    fake.enqueue(Reply(text=TEXT, input_tokens=14, output_tokens=9))
    raw = azure.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    completion = raw.parse()
    assert completion.choices[0].message.content == TEXT and completion.model == "gpt-4o-2024-11-20"
    assert completion.usage.prompt_tokens == 14
    extra = completion.model_extra or {}
    assert extra["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert completion.choices[0].model_extra["content_filter_results"]["violence"]["severity"] == "safe"
    record = fake.requests[-1]
    assert record.path == "/openai/deployments/gpt-4o/chat/completions" and fake.queries == ["api-version=2024-10-21"]
    assert record.headers["api-key"] == KEY and "authorization" not in record.headers
    assert raw.headers["apim-request-id"]


def test_stream_opens_with_prompt_filter_chunk(fake, azure):
    fake.enqueue(Reply(text=TEXT))
    chunks = list(azure.chat.completions.create(model="gpt-4o", messages=USER, stream=True,
                                                stream_options={"include_usage": True}))
    assert chunks[0].choices == [] and chunks[0].id == "" and chunks[0].model_extra["prompt_filter_results"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].delta)
    assert text == TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert any(c.usage is not None and c.usage.completion_tokens == 7 for c in chunks)
    assert chunks[-1].id == "" and chunks[-1].choices[0].model_extra["content_filter_offsets"]


def test_tool_calls(fake, azure):
    fake.enqueue(Reply(text="", tool_calls=[WEATHER]))
    completion = azure.chat.completions.create(model="my-deployment", messages=USER,
                                               tools=[{"type": "function", "function": {"name": "get_weather"}}])
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.choices[0].message.tool_calls[0].function.arguments == WEATHER.arguments


def test_v1_path_with_the_plain_client(fake):
    fake.reset()
    fake.enqueue(Reply(text=TEXT))
    with openai.OpenAI(base_url=f"http://127.0.0.1:{fake.port}/openai/v1/", api_key=KEY, max_retries=0) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=USER)
    assert completion.choices[0].message.content == TEXT
    record = fake.requests[-1]
    assert record.path == "/openai/v1/chat/completions" and record.headers["authorization"] == f"Bearer {KEY}"


def test_content_filter_on_prompt_and_answer(fake, azure):
    fake.enqueue(Reply(status=400, error_type="content_filter"), Reply(finish="content_filter"))
    with pytest.raises(openai.BadRequestError) as caught:
        azure.chat.completions.create(model="gpt-4o", messages=USER)
    assert caught.value.code == "content_filter" and caught.value.param == "prompt"
    assert caught.value.body["innererror"]["content_filter_result"]["violence"]["filtered"] is True
    completion = azure.chat.completions.create(model="gpt-4o", messages=USER)
    assert completion.choices[0].finish_reason == "content_filter" and completion.choices[0].message.content is None


@pytest.mark.parametrize(("reply", "error", "code"), [
    (Reply(status=429, headers={"retry-after": "6"}), openai.RateLimitError, "429"),
    (Reply(status=500), openai.InternalServerError, "InternalServerError"),
    (Reply(status=503), openai.InternalServerError, "ServiceUnavailable"),
])
def test_errors(fake, azure, reply, error, code):
    fake.enqueue(reply)
    with pytest.raises(error) as caught:
        azure.chat.completions.create(model="gpt-4o", messages=USER)
    assert caught.value.code == code
    for name, value in reply.headers.items():
        assert caught.value.response.headers[name] == value


def test_unknown_deployment_bad_key_and_versions(fake, azure):
    with pytest.raises(openai.NotFoundError) as caught:
        azure.chat.completions.create(model="nope", messages=USER)
    assert caught.value.code == "DeploymentNotFound"
    wrong = openai.AzureOpenAI(azure_endpoint=f"http://127.0.0.1:{fake.port}", api_key="wrong",
                               api_version="2024-10-21", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.chat.completions.create(model="gpt-4o", messages=USER)
    assert caught.value.code == "401"
    old = openai.AzureOpenAI(azure_endpoint=f"http://127.0.0.1:{fake.port}", api_key=KEY,
                             api_version="2019-01-01", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="API version not supported"):
        old.chat.completions.create(model="gpt-4o", messages=USER)
