"""The Gemini fake is faithful: the official ``google-genai`` SDK reads exactly what was scripted."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes import Reply, ToolCallSpec
from tests.fakes.gemini import FakeGemini, GeminiReply

KEY = "AIza-fake-gemini-Tq93KdLw"
TEXT = "The quick brown fox jumps."
WEATHER = ToolCallSpec("", "get_weather", '{"location": "Paris", "unit": "C"}')
TIME = ToolCallSpec("", "get_time", '{"tz": "Europe/Paris"}')


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGemini]:
    server = FakeGemini(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture
def client(fake: FakeGemini) -> genai.Client:
    fake.reset()
    fake.queries.clear()
    options = types.HttpOptions(base_url=f"http://127.0.0.1:{fake.port}", api_version="v1beta",
                                retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key=KEY, http_options=options)


def test_text_usage_and_key_header(fake, client):
    fake.enqueue(Reply(text=TEXT, input_tokens=40, output_tokens=5, cached_tokens=32, model="gemini-x"))
    response = client.models.generate_content(
        model="gemini-2.5-flash", contents="hi",
        config=types.GenerateContentConfig(system_instruction="be brief", max_output_tokens=50,
                                           stop_sequences=["END"], temperature=0.1))
    assert response.text == TEXT and response.model_version == "gemini-x"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.cached_content_token_count,
            usage.total_token_count) == (40, 5, 32, 45)
    record = fake.requests[-1]
    assert record.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert record.headers["x-goog-api-key"] == KEY and fake.queries == [""]
    assert record.body["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert record.body["generationConfig"] == {"maxOutputTokens": 50, "stopSequences": ["END"],
                                               "temperature": 0.1}


def test_stream_text_is_crlf_sse_with_cumulative_usage(fake, client):
    fake.enqueue(Reply(text=TEXT, output_tokens=9))
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert "".join(c.text or "" for c in chunks) == TEXT and len(chunks) == 5
    assert [c.usage_metadata.candidates_token_count for c in chunks] == [1, 2, 3, 4, 9]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert fake.queries == ["alt=sse"]
    raw = httpx.post(f"http://127.0.0.1:{fake.port}/v1beta/models/m:streamGenerateContent?alt=sse",
                     json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
                     headers={"x-goog-api-key": KEY})
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.startswith("data: {") and raw.text.endswith("}\r\n\r\n") and "event:" not in raw.text


def test_stream_without_alt_sse_is_one_json_array(fake):
    raw = httpx.post(f"http://127.0.0.1:{fake.port}/v1beta/models/m:streamGenerateContent",
                     json={"contents": [{"parts": [{"text": "hi"}]}]}, headers={"x-goog-api-key": KEY})
    assert raw.headers["content-type"].startswith("application/json")
    assert isinstance(raw.json(), list) and len(raw.json()) > 1


def test_function_calls_whole_and_streamed(fake, client):
    fake.enqueue(Reply(text="", tool_calls=[WEATHER, TIME]), Reply(text="", tool_calls=[WEATHER]))
    response = client.models.generate_content(model="gemini-2.5-flash", contents="weather?")
    calls = response.function_calls
    assert [(c.name, c.args, c.id) for c in calls] == [("get_weather", {"location": "Paris", "unit": "C"}, None),
                                                       ("get_time", {"tz": "Europe/Paris"}, None)]
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="weather?"))
    assert len(chunks) == 1 and chunks[0].function_calls[0].args == {"location": "Paris", "unit": "C"}


def test_thoughts_and_signature(fake, client):
    fake.enqueue(GeminiReply(text="", tool_calls=[WEATHER], thoughts="Let me think.", thoughts_tokens=30,
                             signature="c2lnbmF0dXJl"))
    response = client.models.generate_content(
        model="gemini-3-pro-preview", contents="weather?",
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True)))
    thought, call = response.candidates[0].content.parts
    assert thought.thought is True and thought.text == "Let me think."
    assert call.function_call.name == "get_weather" and call.thought_signature == b"signature"
    assert response.usage_metadata.thoughts_token_count == 30
    history = [types.Content(role="user", parts=[types.Part(text="weather?")]),
               types.Content(role="model", parts=[types.Part(function_call=call.function_call)]),
               types.Content(role="user", parts=[types.Part.from_function_response(
                   name="get_weather", response={"temp": 18})])]
    with pytest.raises(errors.ClientError, match="thought_signature"):
        client.models.generate_content(model="gemini-3-pro-preview", contents=history)
    history[1] = response.candidates[0].content
    assert client.models.generate_content(model="gemini-3-pro-preview", contents=history).text


def test_json_schema_and_tools_are_accepted(fake, client):
    fake.enqueue(Reply(text='{"a": "b"}'))
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="get_weather", description="Weather", parameters_json_schema={"type": "object"})])
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema={"type": "object"}, tools=[tool],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
            mode="ANY", allowed_function_names=["get_weather"])))
    assert client.models.generate_content(model="m", contents="x", config=config).text == '{"a": "b"}'
    body = fake.requests[-1].body
    # proto3 JSON: the SDK sends this one field in snake_case, which the API accepts
    assert body["tools"][0]["functionDeclarations"][0]["parameters_json_schema"] == {"type": "object"}
    assert body["toolConfig"]["functionCallingConfig"]["mode"] == "ANY"


@pytest.mark.parametrize("finish", ["SAFETY", "PROHIBITED_CONTENT"])
def test_blocked_candidate(fake, client, finish):
    fake.enqueue(Reply(finish=finish))
    response = client.models.generate_content(model="m", contents="x")
    assert response.candidates[0].finish_reason == finish and response.text is None
    assert response.candidates[0].content.parts is None


def test_blocked_prompt(fake, client):
    fake.enqueue(Reply(finish="BLOCKED"))
    response = client.models.generate_content(model="m", contents="x")
    assert not response.candidates and response.prompt_feedback.block_reason == "SAFETY"


@pytest.mark.parametrize(("status", "error", "rpc"), [
    (429, errors.ClientError, "RESOURCE_EXHAUSTED"), (500, errors.ServerError, "INTERNAL"),
    (503, errors.ServerError, "UNAVAILABLE"), (400, errors.ClientError, "INVALID_ARGUMENT"),
    (404, errors.ClientError, "NOT_FOUND"),
])
def test_errors(fake, client, status, error, rpc):
    fake.enqueue(Reply(status=status))
    with pytest.raises(error) as caught:
        client.models.generate_content(model="m", contents="x")
    assert caught.value.code == status and caught.value.status == rpc
    if status == 429:
        assert caught.value.details["error"]["details"][0]["retryDelay"] == "3s"


def test_bad_and_missing_key(fake):
    options = types.HttpOptions(base_url=f"http://127.0.0.1:{fake.port}", api_version="v1beta",
                                retry_options=types.HttpRetryOptions(attempts=1))
    wrong = genai.Client(api_key="AIza-wrong", http_options=options)
    with pytest.raises(errors.ClientError) as caught:
        wrong.models.generate_content(model="m", contents="x")
    assert caught.value.code == 400 and caught.value.message == "API key not valid. Please pass a valid API key."
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    raw = httpx.post(f"http://127.0.0.1:{fake.port}/v1beta/models/m:generateContent",
                     json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert raw.status_code == 403 and raw.json()["error"]["status"] == "PERMISSION_DENIED"


def test_validation(fake):
    def post(body):
        return httpx.post(f"http://127.0.0.1:{fake.port}/v1beta/models/m:generateContent", json=body,
                          headers={"x-goog-api-key": KEY})
    assert "Unknown name \"messages\"" in post({"messages": []}).json()["error"]["message"]
    assert post({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}).status_code == 400
    assert post({"contents": [{"role": "user", "parts": []}]}).status_code == 400
    assert post({"contents": [{"parts": [{"text": "x"}]}]}).status_code == 200


def test_inband_error_is_raised_by_the_sdk(fake, client):
    fake.enqueue(Reply(text=TEXT, inband_error_after=2))
    seen = []
    with pytest.raises(errors.ServerError) as caught:
        for chunk in client.models.generate_content_stream(model="m", contents="x"):
            seen.append(chunk.text)
    assert seen == ["The", " quick"] and caught.value.code == 503


def test_cut_stream(fake, client):
    fake.enqueue(Reply(text=TEXT, cut_after=2))
    with pytest.raises(Exception) as caught:
        list(client.models.generate_content_stream(model="m", contents="x"))
    assert "RemoteProtocolError" in type(caught.value).__name__ or "incomplete" in str(caught.value)
