"""The fake upstreams are faithful: the official SDKs parse exactly what was scripted."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import anthropic
import cohere
import httpx
import openai
import pytest

from tests.fakes import FakeAnthropic, FakeCohere, FakeOpenAI, Reply, ToolCallSpec

KEYS = {"openai": "sk-fake-openai-Qz81LmNb", "anthropic": "sk-ant-fake-Rt52XcVb",
        "cohere": "co-fake-Wp07HgKs"}
USER = [{"role": "user", "content": "hi"}]
WEATHER = ToolCallSpec("call_w1", "get_weather", '{"location": "Paris", "unit": "C"}')
TIME = ToolCallSpec("call_t2", "get_time", '{"tz": "Europe/Paris"}')
TEXT = "The quick brown fox jumps."


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(api_key=KEYS["openai"]).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(api_key=KEYS["anthropic"]).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def fake_cohere() -> Iterator[FakeCohere]:
    fake = FakeCohere(api_key=KEYS["cohere"]).start()
    yield fake
    fake.stop()


@pytest.fixture
def oai(fake_openai: FakeOpenAI) -> Iterator[openai.OpenAI]:
    fake_openai.reset()
    with openai.OpenAI(base_url=fake_openai.base_url, api_key=KEYS["openai"], max_retries=0) as client:
        yield client


@pytest.fixture
def ant(fake_anthropic: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    fake_anthropic.reset()
    with anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key=KEYS["anthropic"],
                             max_retries=0) as client:
        yield client


@pytest.fixture
def co(fake_cohere: FakeCohere) -> cohere.ClientV2:
    fake_cohere.reset()
    return cohere.ClientV2(api_key=KEYS["cohere"], base_url=fake_cohere.base_url, max_retries=0)


def raw_http(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[str, list[bytes]]:
    """POST over a bare socket; the status line and the body's HTTP chunks exactly as written."""
    payload = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               f"content-length: {len(payload)}\r\nconnection: close\r\n{head}\r\n").encode() + payload
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_and_headers, _, rest = data.partition(b"\r\n\r\n")
    chunks = []
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2:]
    return status_and_headers.decode(), chunks


# ---------------------------------------------------------------- machinery


def test_queue_is_fifo_then_default_and_requests_are_logged(fake_openai, oai):
    fake_openai.enqueue(Reply(text="one"), Reply(text="two"))
    texts = [oai.chat.completions.create(model="m", messages=USER).choices[0].message.content
             for _ in range(3)]
    assert texts == ["one", "two", Reply().text]
    log = fake_openai.requests
    assert [(r.method, r.path) for r in log] == [("POST", "/v1/chat/completions")] * 3
    assert log[0].headers["authorization"] == f"Bearer {KEYS['openai']}"
    assert log[0].body == {"model": "m", "messages": USER}
    assert log[0].received_at <= log[2].received_at and not log[0].client_closed
    fake_openai.reset()
    assert fake_openai.requests == []


def test_start_is_idempotent_and_stop_joins_the_thread():
    fake = FakeCohere()
    assert fake.start() is fake and fake.start() is fake
    port = fake.port
    assert httpx.post(fake.base_url + "/v2/chat", json={}).status_code == 401
    fake.stop()
    assert fake._thread is None
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/v2/chat", json={})


def test_delay_then_client_timeout_is_seen_as_a_close(fake_cohere, co):
    fake_cohere.enqueue(Reply(delay=2))
    with pytest.raises(httpx.ReadTimeout):
        co.chat(model="command-a", messages=USER, request_options={"timeout_in_seconds": 0.3})
    assert fake_cohere.wait_for_close(timeout=1.5)


def test_html_error_page(fake_openai, oai):
    fake_openai.enqueue(Reply(status=502, html_error=True))
    with pytest.raises(openai.InternalServerError) as caught:
        oai.chat.completions.create(model="m", messages=USER)
    assert caught.value.status_code == 502
    assert caught.value.response.headers["content-type"].startswith("text/html")
    assert "<html>" in caught.value.response.text


@pytest.mark.parametrize("fake_name", ["fake_openai", "fake_anthropic", "fake_cohere"])
def test_unknown_path_is_a_404(fake_name, request):
    fake = request.getfixturevalue(fake_name)
    assert httpx.post(f"http://127.0.0.1:{fake.port}/v9/nothing", json={}).status_code == 404


# ---------------------------------------------------------------- OpenAI


def test_openai_text(fake_openai, oai):
    fake_openai.enqueue(Reply(text=TEXT, input_tokens=40, output_tokens=5, cached_tokens=32,
                              model="gpt-4o-x"))
    raw = oai.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    completion = raw.parse()
    assert completion.object == "chat.completion" and completion.model == "gpt-4o-x"
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason, choice.message.tool_calls) == (TEXT, "stop", None)
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (40, 5, 45)
    assert usage.prompt_tokens_details.cached_tokens == 32
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["x-ratelimit-reset-requests"] == "6ms"
    assert {"x-ratelimit-limit-tokens", "x-ratelimit-remaining-requests"} <= set(raw.headers)


def test_openai_tool_calls(fake_openai, oai):
    fake_openai.enqueue(Reply(text="", tool_calls=[WEATHER, TIME]))
    message = oai.chat.completions.create(model="m", messages=USER).choices[0]
    assert message.finish_reason == "tool_calls" and message.message.content is None
    calls = [(c.id, c.type, c.function.name, c.function.arguments) for c in message.message.tool_calls]
    assert calls == [(t.id, "function", t.name, t.arguments) for t in (WEATHER, TIME)]


def test_openai_stream_with_usage(fake_openai, oai):
    fake_openai.enqueue(Reply(text=TEXT, finish="length", input_tokens=9, output_tokens=4, cached_tokens=2))
    chunks = list(oai.chat.completions.create(model="m", messages=USER, stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    pieces = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert pieces == ["The", " quick", " brown", " fox", " jumps."]
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 13
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 2
    assert all(c.usage is None for c in chunks[:-1])


def test_openai_stream_without_usage_and_custom_chunks(fake_openai, oai):
    fake_openai.enqueue(Reply(text="ignored", chunks=["Hel", "lo", "!"]))
    chunks = list(oai.chat.completions.create(model="m", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello!"
    assert all(c.usage is None and c.choices for c in chunks)


def test_openai_stream_tool_calls(fake_openai, oai):
    fake_openai.enqueue(Reply(text="", tool_calls=[WEATHER, TIME]))
    calls: dict[int, dict[str, str]] = {}
    fragments = 0
    for chunk in oai.chat.completions.create(model="m", messages=USER, stream=True):
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": delta.id, "name": delta.function.name, "args": ""})
            call["args"] += delta.function.arguments
            fragments += 1
        finish = chunk.choices[0].finish_reason
    assert finish == "tool_calls"
    assert calls == {0: {"id": WEATHER.id, "name": WEATHER.name, "args": WEATHER.arguments},
                     1: {"id": TIME.id, "name": TIME.name, "args": TIME.arguments}}
    assert fragments == 8  # per call: the head with "" and three argument pieces


@pytest.mark.parametrize(("reply", "error", "code"), [
    (Reply(status=429, headers={"retry-after": "2"}), openai.RateLimitError, "rate_limit_exceeded"),
    (Reply(status=429, error_type="insufficient_quota", error_message="You exceeded your current quota"),
     openai.RateLimitError, "insufficient_quota"),
    (Reply(status=500), openai.InternalServerError, None),
    (Reply(status=400, error_message="context too long"), openai.BadRequestError, None),
])
def test_openai_errors(fake_openai, oai, reply, error, code):
    fake_openai.enqueue(reply)
    with pytest.raises(error) as caught:
        oai.chat.completions.create(model="m", messages=USER)
    body = caught.value.body
    assert set(body) == {"message", "type", "param", "code"} and body["code"] == code
    if code == "rate_limit_exceeded":
        assert body["type"] == "requests" and caught.value.response.headers["retry-after"] == "2"
    if reply.error_message:
        assert body["message"] == reply.error_message


def test_openai_wrong_key_is_masked(fake_openai):
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-wrong-key-0123456789", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.body["code"] == "invalid_api_key"
    assert "Incorrect API key provided: sk-w****" in caught.value.message
    assert "wrong-key" not in caught.value.message
    listed = openai.OpenAI(base_url=fake_openai.base_url, api_key=KEYS["openai"]).models.list()
    assert [m.id for m in listed] == ["gpt-4.1-mini"]


def test_openai_rejects_stream_options_without_stream(oai):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="m", messages=USER, extra_body={"stream_options": {}})
    assert caught.value.body["param"] == "stream_options"
    with pytest.raises(openai.BadRequestError, match="messages"):
        oai.chat.completions.create(model="m", messages=[])


def test_openai_inband_error(fake_openai, oai):
    fake_openai.enqueue(Reply(text=TEXT, inband_error_after=3))
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in oai.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "The", " quick"]
    assert caught.value.body["type"] == "server_error"


def test_openai_cut_stream(fake_openai, oai):
    fake_openai.enqueue(Reply(text=TEXT, cut_after=2))
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oai.chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk)
    assert len(received) == 2
    assert not fake_openai.requests[-1].client_closed


def test_openai_stall_then_client_closes(fake_openai, oai):
    fake_openai.enqueue(Reply(text=TEXT, stall_after=2))
    stream = oai.chat.completions.create(model="m", messages=USER, stream=True)
    next(stream), next(stream)
    assert not fake_openai.wait_for_close(timeout=0.2)
    stream.close()
    assert fake_openai.wait_for_close(timeout=1.5)


def test_openai_malformed_body_and_stream(fake_openai, oai):
    fake_openai.enqueue(Reply(malformed=True), Reply(malformed=True))
    with pytest.raises((openai.APIResponseValidationError, json.JSONDecodeError)):
        oai.chat.completions.create(model="m", messages=USER)
    with pytest.raises(json.JSONDecodeError):
        list(oai.chat.completions.create(model="m", messages=USER, stream=True))


def test_openai_empty_stream_and_split_writes(fake_openai, oai):
    fake_openai.enqueue(Reply(empty_stream=True))
    assert list(oai.chat.completions.create(model="m", messages=USER, stream=True)) == []
    status, chunks = raw_http(fake_openai.port, "/v1/chat/completions",
                              {"model": "m", "messages": USER, "stream": True},
                              {"authorization": f"Bearer {KEYS['openai']}"})
    assert "text/event-stream; charset=utf-8" in status.lower() and "chunked" in status.lower()
    assert any(not c.endswith(b"\n\n") for c in chunks), "some event is split over two writes"
    assert b"".join(chunks).endswith(b"data: [DONE]\n\n")


# ---------------------------------------------------------------- Anthropic


def test_anthropic_text_and_headers(fake_anthropic, ant):
    fake_anthropic.enqueue(Reply(text=TEXT, input_tokens=50, output_tokens=6, cached_tokens=20))
    raw = ant.messages.with_raw_response.create(model="claude-x", max_tokens=64, messages=USER)
    message = raw.parse()
    assert message.type == "message" and message.model == "claude-x" and message.stop_reason == "end_turn"
    assert [(b.type, b.text) for b in message.content] == [("text", TEXT)]
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (30, 20)
    assert message.usage.output_tokens == 6 and message.usage.cache_creation_input_tokens == 0
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["anthropic-ratelimit-tokens-remaining"]
    sent = fake_anthropic.requests[-1].headers
    assert sent["authorization"] == f"Bearer {KEYS['anthropic']}"
    assert sent["anthropic-version"] == "2026-10-21"


def test_anthropic_classic_dialect_and_required_version(fake_anthropic):
    body = {"model": "claude-x", "max_tokens": 10, "messages": USER}
    url = fake_anthropic.base_url + "/v1/messages"
    classic = {"x-api-key": KEYS["anthropic"], "anthropic-version": "2023-06-01"}
    assert httpx.post(url, json=body, headers=classic).json()["type"] == "message"
    missing = httpx.post(url, json=body, headers={"x-api-key": KEYS["anthropic"]})
    assert missing.status_code == 400 and "anthropic-version" in missing.json()["error"]["message"]
    wrong = httpx.post(url, json=body, headers={**classic, "x-api-key": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication_error"
    assert wrong.json()["request_id"] == wrong.headers["request-id"]
    no_max = httpx.post(url, json={"model": "claude-x", "messages": USER}, headers=classic)
    assert no_max.status_code == 400 and "max_tokens" in no_max.json()["error"]["message"]


def test_anthropic_tool_use(fake_anthropic, ant):
    fake_anthropic.enqueue(Reply(text="Let me check.", tool_calls=[WEATHER, TIME]))
    message = ant.messages.create(model="claude-x", max_tokens=64, messages=USER)
    assert message.stop_reason == "tool_use"
    assert message.content[0].text == "Let me check."
    assert [(b.type, b.id, b.name, b.input) for b in message.content[1:]] == [
        ("tool_use", t.id, t.name, json.loads(t.arguments)) for t in (WEATHER, TIME)]


def test_anthropic_stream_text(fake_anthropic, ant):
    fake_anthropic.enqueue(Reply(text=TEXT, input_tokens=30, output_tokens=9, cached_tokens=10))
    with ant.messages.stream(model="claude-x", max_tokens=64, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["The", " quick", " brown", " fox", " jumps."]
    assert final.content[0].text == TEXT and final.stop_reason == "end_turn"
    usage = final.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens) == (20, 9, 10)


def test_anthropic_stream_wire_shape(fake_anthropic):
    _, chunks = raw_http(fake_anthropic.port, "/v1/messages",
                         {"model": "claude-x", "max_tokens": 9, "messages": USER, "stream": True},
                         {"x-api-key": KEYS["anthropic"], "anthropic-version": "2023-06-01"})
    text = b"".join(chunks).decode()
    names = [line[7:] for line in text.split("\n") if line.startswith("event: ")]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert text.endswith('data: {"type":"message_stop"}' + " " * 15 + "\n\n") and "[DONE]" not in text


def test_anthropic_stream_tool_use(fake_anthropic, ant):
    fake_anthropic.enqueue(Reply(text="", tool_calls=[WEATHER]))
    with ant.messages.stream(model="claude-x", max_tokens=64, messages=USER) as stream:
        partials = [e.partial_json for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    assert partials[0] == "" and "".join(partials) == WEATHER.arguments and len(partials) == 4
    assert final.stop_reason == "tool_use"
    assert [(b.id, b.name, b.input) for b in final.content] == [(WEATHER.id, WEATHER.name, {
        "location": "Paris", "unit": "C"})]


@pytest.mark.parametrize(("reply", "error", "error_type"), [
    (Reply(status=429, headers={"retry-after": "3"}), anthropic.RateLimitError, "rate_limit_error"),
    (Reply(status=529), anthropic.OverloadedError, "overloaded_error"),
    (Reply(status=500), anthropic.InternalServerError, "api_error"),
    (Reply(status=400, error_message="prompt is too long"), anthropic.BadRequestError,
     "invalid_request_error"),
])
def test_anthropic_errors(fake_anthropic, ant, reply, error, error_type):
    fake_anthropic.enqueue(reply)
    with pytest.raises(error) as caught:
        ant.messages.create(model="claude-x", max_tokens=64, messages=USER)
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == error_type
    assert caught.value.body["request_id"] == caught.value.response.headers["request-id"]
    for name, value in reply.headers.items():
        assert caught.value.response.headers[name] == value


def test_anthropic_validation(ant):
    with pytest.raises(anthropic.BadRequestError, match="frequency_penalty: Extra inputs"):
        ant.messages.create(model="claude-x", max_tokens=64, messages=USER,
                            extra_body={"frequency_penalty": 1})
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.1\.role"):
        ant.messages.create(model="claude-x", max_tokens=64,
                            messages=[*USER, {"role": "tool", "content": "x"}])  # type: ignore[list-item]


def test_anthropic_inband_error(fake_anthropic, ant):
    fake_anthropic.enqueue(Reply(text=TEXT, inband_error_after=4))
    with pytest.raises(anthropic.APIStatusError) as caught:
        with ant.messages.stream(model="claude-x", max_tokens=64, messages=USER) as stream:
            list(stream)
    assert caught.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_anthropic_cut_and_stall(fake_anthropic, ant):
    fake_anthropic.enqueue(Reply(text=TEXT, cut_after=3), Reply(text=TEXT, stall_after=3))
    # the SDK lets httpx2's error through unwrapped
    with pytest.raises(Exception, match="incomplete chunked read") as caught:
        list(ant.messages.create(model="claude-x", max_tokens=64, messages=USER, stream=True))
    assert type(caught.value).__name__ == "RemoteProtocolError"
    stream = ant.messages.create(model="claude-x", max_tokens=64, messages=USER, stream=True)
    assert [next(stream).type for _ in range(2)] == ["message_start", "content_block_start"]
    stream.close()
    assert fake_anthropic.wait_for_close()
    assert not fake_anthropic.requests[0].client_closed


# ---------------------------------------------------------------- Cohere


def test_cohere_text(fake_cohere, co):
    fake_cohere.enqueue(Reply(text=TEXT, input_tokens=21, output_tokens=5, cached_tokens=8))
    response = co.chat(model="command-a", messages=[{"role": "system", "content": "be brief"}, *USER])
    assert response.finish_reason == "COMPLETE" and response.message.content[0].text == TEXT
    usage = response.usage
    assert (usage.billed_units.input_tokens, usage.billed_units.output_tokens) == (21, 5)
    assert (usage.tokens.input_tokens, usage.tokens.output_tokens, usage.cached_tokens) == (21, 5, 8)
    assert fake_cohere.requests[-1].headers["authorization"] == f"Bearer {KEYS['cohere']}"


def test_cohere_tool_calls(fake_cohere, co):
    fake_cohere.enqueue(Reply(text="I will look it up.", tool_calls=[WEATHER, TIME]))
    response = co.chat(model="command-a", messages=USER)
    assert response.finish_reason == "TOOL_CALL" and response.message.tool_plan == "I will look it up."
    assert [(c.id, c.function.name, c.function.arguments) for c in response.message.tool_calls] == [
        (t.id, t.name, t.arguments) for t in (WEATHER, TIME)]


def test_cohere_stream_text(fake_cohere, co):
    fake_cohere.enqueue(Reply(text=TEXT, finish="MAX_TOKENS", output_tokens=3))
    events = list(co.chat_stream(model="command-a", messages=USER))
    types = [e.type for e in events]
    assert types == ["message-start", "content-start", *["content-delta"] * 5, "content-end", "message-end"]
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == TEXT
    assert events[-1].delta.finish_reason == "MAX_TOKENS" and events[-1].delta.usage.tokens.output_tokens == 3


def test_cohere_stream_tool_calls(fake_cohere, co):
    fake_cohere.enqueue(Reply(text="Checking.", tool_calls=[WEATHER, TIME]))
    events = list(co.chat_stream(model="command-a", messages=USER))
    plan = "".join(e.delta.message.tool_plan for e in events if e.type == "tool-plan-delta")
    calls: dict[int, list[str]] = {}
    for e in events:
        if e.type == "tool-call-start":
            call = e.delta.message.tool_calls
            calls[e.index] = [call.id, call.function.name, call.function.arguments]
        elif e.type == "tool-call-delta":
            calls[e.index][2] += e.delta.message.tool_calls.function.arguments
    assert plan == "Checking." and events[-1].delta.finish_reason == "TOOL_CALL"
    assert calls == {0: [WEATHER.id, WEATHER.name, WEATHER.arguments],
                     1: [TIME.id, TIME.name, TIME.arguments]}


def test_cohere_stream_uses_crlf_and_done(fake_cohere):
    _, chunks = raw_http(fake_cohere.port, "/v2/chat", {"model": "c", "messages": USER, "stream": True},
                         {"authorization": f"Bearer {KEYS['cohere']}"})
    text = b"".join(chunks).decode()
    assert text.startswith("event: message-start\r\ndata: {") and text.endswith("data: [DONE]\r\n\r\n")
    assert "\n" not in text.replace("\r\n", "")


@pytest.mark.parametrize(("status", "error"), [
    (429, cohere.TooManyRequestsError), (500, cohere.InternalServerError),
    (503, cohere.ServiceUnavailableError), (400, cohere.BadRequestError), (498, cohere.InvalidTokenError),
])
def test_cohere_errors(fake_cohere, co, status, error):
    fake_cohere.enqueue(Reply(status=status, error_message="scripted failure"))
    with pytest.raises(error) as caught:
        co.chat(model="command-a", messages=USER)
    assert caught.value.status_code == status
    assert set(caught.value.body) == {"id", "message"} and caught.value.body["message"] == "scripted failure"


def test_cohere_auth_and_validation(fake_cohere, co):
    wrong = cohere.ClientV2(api_key="co-wrong", base_url=fake_cohere.base_url, max_retries=0)
    with pytest.raises(cohere.UnauthorizedError) as caught:
        wrong.chat(model="command-a", messages=USER)
    assert caught.value.body["message"] == "invalid api token"
    with pytest.raises(cohere.BadRequestError, match="system turn must be the first"):
        co.chat(model="command-a", messages=[*USER, {"role": "system", "content": "late"}])
    with pytest.raises(cohere.BadRequestError, match="top_p"):
        co.chat(model="command-a", messages=USER,
                request_options={"additional_body_parameters": {"top_p": 0.5}})


def test_cohere_inband_error_and_cut(fake_cohere, co):
    fake_cohere.enqueue(Reply(text=TEXT, inband_error_after=3), Reply(text=TEXT, cut_after=3))
    events = list(co.chat_stream(model="command-a", messages=USER))
    assert [e.type for e in events] == ["message-start", "content-start", "content-delta", "message-end"]
    assert events[-1].delta.finish_reason == "ERROR" and events[-1].delta.error
    with pytest.raises(httpx.RemoteProtocolError):
        list(co.chat_stream(model="command-a", messages=USER))


def test_cohere_malformed_stream_event_is_inserted(fake_cohere, co, caplog):
    fake_cohere.enqueue(Reply(text=TEXT, malformed=True))
    events = list(co.chat_stream(model="command-a", messages=USER))
    assert "Failed to parse SSE data" in caplog.text  # the SDK logs it and carries on
    assert len(events) == 10 and events[-1].type == "message-end"
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == TEXT
