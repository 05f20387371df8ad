"""End to end: every upstream failure maps to a clean, typed error; keys never leak."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import CANARY, TEST_TIMEOUTS, provider_env
from tests.fakes import Reply
from tests.gateway_process import free_port, run_gateway
from tests.test_chat_api import PROVIDERS, parse_sse, post_chat


def wait_for_log(gateway, text: str, seconds: float = 3.0) -> bool:
    """Log lines are written by a background thread: give them a moment."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in gateway.log_text():
            return True
        time.sleep(0.02)
    return False


RATE_LIMIT = {"openai": "rate_limit_exceeded", "anthropic": "rate_limit_error", "cohere": None}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_429_passes_retry_after(gateway, fakes, provider, stream):
    fakes[provider].enqueue(Reply(status=429, error_type=RATE_LIMIT[provider],
                                  headers={"retry-after": "7"}))
    response = post_chat(gateway, message="hi", chat_model_name=provider, stream=stream)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_upstream_retry_after_ms_is_rounded_up(gateway, fakes):
    fakes["openai"].enqueue(Reply(status=429, headers={"retry-after-ms": "1500"}))
    response = post_chat(gateway, message="hi", chat_model_name="openai")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_upstream_400_passes_the_providers_message(gateway, fakes, provider):
    message = "prompt is too long: 250000 tokens > 200000 maximum"
    fakes[provider].enqueue(Reply(status=400, error_message=message))
    response = post_chat(gateway, message="hi", chat_model_name=provider)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [401, 403])
def test_upstream_auth_failure_is_502_without_detail(gateway, fakes, provider, status):
    secret_detail = "Incorrect API key provided: " + CANARY[provider][:8] + "****"
    fakes[provider].enqueue(Reply(status=status, error_message=secret_detail))
    response = post_chat(gateway, message="hi", chat_model_name=provider)
    assert response.status_code == 502
    assert "Incorrect API key" not in response.text
    assert CANARY[provider][:8] not in response.text


@pytest.mark.parametrize("provider, status", [
    ("openai", 500), ("openai", 503), ("anthropic", 529), ("anthropic", 500), ("cohere", 503),
])
def test_upstream_server_errors_are_502(gateway, fakes, provider, status):
    fakes[provider].enqueue(Reply(status=status))
    response = post_chat(gateway, message="hi", chat_model_name=provider)
    assert response.status_code == 502
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_upstream_body_is_502(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(malformed=True))
    response = post_chat(gateway, message="hi", chat_model_name=provider)
    assert response.status_code == 502


def test_html_error_page_is_not_shown_to_the_client(gateway, fakes):
    fakes["openai"].enqueue(Reply(status=502, html_error=True))
    response = post_chat(gateway, message="hi", chat_model_name="openai")
    assert response.status_code == 502
    assert "<html" not in response.text.lower()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout_before_first_byte_is_504(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(delay=float(TEST_TIMEOUTS["LLM_ROUTER_FIRST_BYTE_TIMEOUT"]) + 1))
    started = time.monotonic()
    response = post_chat(gateway, message="hi", chat_model_name=provider)
    assert response.status_code == 504
    assert time.monotonic() - started < 3.5


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_cut_before_content_is_502(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(empty_stream=True))
    response = post_chat(gateway, message="hi", chat_model_name=provider, stream=True)
    assert response.status_code == 502


@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_stream_cut_midway_is_cut_off_not_completed(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(text="one two three four five six seven eight", cut_after=5))
    received = []
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", gateway.url + "/chat/", timeout=10,
                          json={"message": "hi", "chat_model_name": provider, "stream": True}) as r:
            assert r.status_code == 200
            for piece in r.iter_text():
                received.append(piece)
    assert "".join(received) != "one two three four five six seven eight"
    assert wait_for_log(gateway, "stream failed")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sse_stream_failure_midway_ends_with_error_event(gateway, fakes, provider):
    fakes[provider].enqueue(Reply(text="one two three four five six", inband_error_after=4))
    response = httpx.post(gateway.url + "/chat/", timeout=10, headers={"accept": "text/event-stream"},
                          json={"message": "hi", "chat_model_name": provider, "stream": True})
    events = parse_sse(response.text)
    assert any(name is None for name, _ in events), "some content came first"
    name, data = events[-1]
    assert name == "error"
    assert data["error"]["type"]
    assert not any(name == "done" for name, _ in events)


def test_stream_idle_timeout_ends_sse_with_error(gateway, fakes):
    fakes["anthropic"].enqueue(Reply(text="a b c d e f", stall_after=4))
    started = time.monotonic()
    response = httpx.post(gateway.url + "/chat/", timeout=10, headers={"accept": "text/event-stream"},
                          json={"message": "hi", "chat_model_name": "anthropic", "stream": True})
    events = parse_sse(response.text)
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["type"] == "upstream_timeout"
    assert time.monotonic() - started < 5
    assert fakes["anthropic"].wait_for_close()


def test_connection_refused_is_502(fakes):
    env = provider_env(fakes)
    env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{free_port()}/v1"
    with run_gateway(env) as gateway:
        response = post_chat(gateway, message="hi", chat_model_name="openai")
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_connection_error"


def test_provider_without_key_is_503_naming_the_variable(fakes):
    env = provider_env(fakes)
    del env["COHERE_API_KEY"]
    with run_gateway(env) as gateway:
        response = post_chat(gateway, message="hi", chat_model_name="cohere")
        health = httpx.get(gateway.url + "/health").json()
        working = post_chat(gateway, message="hi", chat_model_name="openai")
    assert response.status_code == 503
    assert "COHERE_API_KEY" in response.json()["error"]["message"]
    assert "cohere" not in health["providers"]
    assert working.status_code == 200


def test_client_disconnect_cancels_the_upstream_stream(gateway, fakes):
    fakes["openai"].enqueue(Reply(text="a b c d e f g", stall_after=3))
    with httpx.stream("POST", gateway.url + "/chat/", timeout=10,
                      json={"message": "hi", "chat_model_name": "openai", "stream": True}) as r:
        next(r.iter_raw())
    assert fakes["openai"].wait_for_close(timeout=1.5)


def test_client_disconnect_cancels_a_pending_non_streaming_request(gateway, fakes):
    fakes["cohere"].enqueue(Reply(delay=1.8))
    with pytest.raises(httpx.ReadTimeout):
        post_chat_with_timeout = httpx.Client(timeout=httpx.Timeout(10, read=0.3))
        post_chat_with_timeout.post(gateway.url + "/chat/", json={"message": "hi", "chat_model_name": "cohere"})
    post_chat_with_timeout.close()
    assert fakes["cohere"].wait_for_close(timeout=1.5)


def test_gateway_key_is_required_when_set(fakes):
    env = {**provider_env(fakes), "LLM_ROUTER_API_KEY": "gateway-secret-1"}
    with run_gateway(env) as gateway:
        missing = post_chat(gateway, message="hi", chat_model_name="openai")
        wrong = httpx.post(gateway.url + "/chat/", headers={"authorization": "Bearer nope"},
                           json={"message": "hi", "chat_model_name": "openai"})
        right = httpx.post(gateway.url + "/chat/", headers={"authorization": "Bearer gateway-secret-1"},
                           json={"message": "hi", "chat_model_name": "openai"})
        health = httpx.get(gateway.url + "/health")
    assert missing.status_code == 401 and wrong.status_code == 401
    assert right.status_code == 200
    assert health.status_code == 200


def test_binding_beyond_loopback_without_key_warns(fakes):
    with run_gateway(provider_env(fakes), args=("--host", "0.0.0.0")) as gateway:
        log = gateway.log_text()
    assert "LLM_ROUTER_API_KEY" in log and "WARNING" in log


def test_oversized_body_is_413(gateway):
    response = httpx.post(gateway.url + "/chat/", timeout=10,
                          json={"message": "x" * (11 * 1024 * 1024), "chat_model_name": "openai"})
    assert response.status_code == 413


def test_no_canary_key_in_any_log_line(gateway, fakes):
    """Runs last in this module: every request above went through this gateway."""
    fakes["openai"].enqueue(Reply(status=401))
    post_chat(gateway, message="hi", chat_model_name="openai")
    log = gateway.log_text()
    assert log, "the gateway logged nothing"
    for key in CANARY.values():
        assert key not in log
        assert key[:12] not in log


def test_content_is_forwarded_before_the_upstream_finishes(gateway, fakes):
    """Streaming is incremental: the first words arrive while the upstream still stalls."""
    fakes["cohere"].enqueue(Reply(text="first words then silence", stall_after=3))
    with httpx.stream("POST", gateway.url + "/chat/", timeout=10,
                      json={"message": "hi", "chat_model_name": "cohere", "stream": True}) as r:
        first = next(r.iter_text())
    assert first.startswith("first")


def test_chunked_body_over_the_limit_is_413(gateway):
    def body():
        yield b'{"message": "'
        for _ in range(12):
            yield b"x" * (1024 * 1024)
        yield b'", "chat_model_name": "openai"}'

    response = httpx.post(gateway.url + "/chat/", content=body(), timeout=20,
                          headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/chat/", "/v1/chat/completions"])
def test_wrong_method_is_405_json(gateway, path):
    response = httpx.get(gateway.url + path)
    assert response.status_code == 405
    assert "POST" in response.json()["error"]["message"]
