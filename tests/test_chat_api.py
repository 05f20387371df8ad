"""End to end: the seed's /chat/ over uvicorn against the three fake providers."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import CANARY
from tests.fakes import Reply
from tests.gateway_process import GatewayProcess

PROVIDERS = ["openai", "anthropic", "cohere"]


def post_chat(gateway: GatewayProcess, **body: object) -> httpx.Response:
    return httpx.post(gateway.url + "/chat/", json=body, timeout=10)


def parse_sse(text: str) -> list[tuple[str | None, dict]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


@pytest.mark.parametrize("provider", PROVIDERS)
def test_non_streaming_answer(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(text="Paris is the capital.", input_tokens=12, output_tokens=5))
    response = post_chat(gateway, message="Capital of France?", chat_model_name=provider)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"] == "Paris is the capital."
    assert body["chat_model_name"] == provider
    assert body["finish_reason"] == "stop"
    assert body["usage"] == {"input_tokens": 12, "output_tokens": 5}
    assert body["model"]
    sent = fakes[provider].requests[-1].body
    assert "Capital of France?" in json.dumps(sent)
    assert response.headers["x-request-id"]
    assert response.headers["x-llm-router-deployment"] == provider


@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_text_stream_equals_whole_answer(gateway, fakes, provider):
    text = "Streaming works one piece at a time."
    fakes[provider].enqueue(Reply(text=text))
    with httpx.stream("POST", gateway.url + "/chat/", timeout=10,
                      json={"message": "hi", "chat_model_name": provider, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        pieces = [piece for piece in response.iter_text() if piece]
    assert "".join(pieces) == text
    assert fakes[provider].requests[-1].body["stream"] is True


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sse_stream_has_deltas_then_done(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(text="One two three.", input_tokens=9, output_tokens=3))
    response = httpx.post(gateway.url + "/chat/", timeout=10, headers={"accept": "text/event-stream"},
                          json={"message": "count", "chat_model_name": provider, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    deltas = [data["delta"] for name, data in events if name is None]
    assert "".join(deltas) == "One two three."
    assert deltas, "events that arrive in one read may leave as one delta"
    name, done = events[-1]
    assert name == "done"
    assert done == {"finish_reason": "stop", "usage": {"input_tokens": 9, "output_tokens": 3}}


def test_provider_slash_model_and_case_insensitive_provider(gateway, fakes):
    response = post_chat(gateway, message="hi", chat_model_name="Anthropic/claude-haiku-4-5")
    assert response.status_code == 200, response.text
    assert fakes["anthropic"].requests[-1].body["model"] == "claude-haiku-4-5"
    response = post_chat(gateway, message="hi", chat_model_name="OPENAI")
    assert response.status_code == 200
    assert fakes["openai"].requests[-1].body["model"] == "gpt-4.1-mini"


def test_chat_without_trailing_slash_is_not_redirected(gateway):
    response = httpx.post(gateway.url + "/chat", json={"message": "hi", "chat_model_name": "openai"})
    assert response.status_code == 200
    assert response.json()["response"]


def test_unknown_model_is_400_naming_choices(gateway):
    response = post_chat(gateway, message="hi", chat_model_name="nonesuch")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "openai" in error["message"] and "anthropic" in error["message"] and "cohere" in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("body, field", [
    ({"chat_model_name": "openai"}, "message"),
    ({"message": "", "chat_model_name": "openai"}, "message"),
    ({"message": "hi"}, "chat_model_name"),
    ({"message": "hi", "chat_model_name": "openai", "stream": "sometimes"}, "stream"),
    ({"message": ["not", "a", "string"], "chat_model_name": "openai"}, "message"),
])
def test_invalid_body_is_422_naming_the_field(gateway, body, field):
    response = httpx.post(gateway.url + "/chat/", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert field in error["message"]
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("content", [b"{not json", b"[]", b"null", b""])
def test_unreadable_body_is_a_clean_4xx(gateway, content):
    response = httpx.post(gateway.url + "/chat/", content=content,
                          headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]


def test_request_id_is_echoed_when_valid(gateway):
    response = post_chat(gateway, message="hi", chat_model_name="cohere")
    assert len(response.headers["x-request-id"]) >= 16
    response = httpx.post(gateway.url + "/chat/", json={"message": "hi", "chat_model_name": "cohere"},
                          headers={"x-request-id": "client-id-123"})
    assert response.headers["x-request-id"] == "client-id-123"


def test_health_lists_configured_providers_without_keys(gateway):
    response = httpx.get(gateway.url + "/health")
    assert response.status_code == 200
    assert set(response.json()["providers"]) - {"local"} == set(PROVIDERS)  # local needs no key
    for key in CANARY.values():
        assert key not in response.text


def test_usage_the_upstream_did_not_report_is_marked_estimated(gateway, fakes):
    fakes["openai"].enqueue(Reply(text="four words right here", no_usage=True))
    response = post_chat(gateway, message="count me", chat_model_name="openai")
    assert response.status_code == 200
    usage = response.json()["usage"]
    assert usage["estimated"] is True and usage["output_tokens"] > 0
