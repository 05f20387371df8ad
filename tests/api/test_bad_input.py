"""Issue 13, bad client input (I3, I7, I11, I12, I13, I15, I16): each case answered with a
clear 4xx in the surface's shape, never a 5xx, never a hung connection."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import orjson
import pytest

from tests.api.conftest import app_client
from tests.conftest import provider_env
from tests.gateway_process import run_gateway

CHAT = {"model": "openai", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize("headers", [
    {"x-big": "a" * 9 * 1024},
    {f"x-h{i}": "a" * 1000 for i in range(40)},
    {f"x-h{i}": "1" for i in range(150)},
], ids=["one-9kb-header", "40kb-in-all", "150-headers"])
async def test_headers_too_big_or_too_many_are_431(env, headers):
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert answer.status_code == 431
    assert answer.json()["error"]["code"] == "headers_too_large"


@pytest.mark.parametrize("host", ["127.0.0.1/health", "a?b", "a#b", "user@host", "a b"])
async def test_a_host_that_is_not_a_host_is_400(env, host):
    async with app_client(env) as client:
        answer = await client.get("/health", headers={"host": host})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_host"


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "[::1]:8000", "router.example.com"])
async def test_ordinary_hosts_are_served(env, host):
    async with app_client(env) as client:
        assert (await client.get("/health", headers={"host": host})).status_code == 200


@pytest.mark.parametrize("model", ["openai/echo\r\nX-Injected: 1", "openai/echo\nX: 1", "openai\x00"])
async def test_control_characters_in_a_model_name_are_400(env, model):
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", json={**CHAT, "model": model})
        chat = await client.post("/chat/", json={"message": "hi", "chat_model_name": model})
    assert answer.status_code == chat.status_code == 400
    assert answer.json()["error"]["param"] == "model"
    assert "x-injected" not in answer.headers


async def test_a_number_json_cannot_carry_is_400(env):
    raw = b'{"model":"openai","messages":[{"role":"user","content":"x"}],"frequency_penalty":1e309}'
    async with app_client(env) as client:
        answer = await client.post("/v1/chat/completions", content=raw,
                                   headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["type"] == "invalid_request_error"


HUGE = b"123456789012345678901234567890"
BODIES = {
    "/v1/chat/completions": (b'{"model":"%s","stream":%s,"messages":[{"role":"user","content":"x"}],"tools":['
                             b'{"type":"function","function":{"name":"f","parameters":{"maximum":' + HUGE + b'}}}]}',
                             "tools.0.function.parameters.maximum"),
    "/v1/messages": (b'{"model":"%s","stream":%s,"max_tokens":9,"messages":[{"role":"user","content":"x"}],'
                     b'"tools":[{"name":"f","input_schema":{"type":"object","maximum":' + HUGE + b'}}]}',
                     "tools.0.input_schema.maximum"),
    "/v1/responses": (b'{"model":"%s","stream":%s,"input":"x","tools":[{"type":"function","name":"f",'
                      b'"parameters":{"type":"object","maximum":' + HUGE + b'}}]}',
                      "tools.0.parameters.maximum"),
}


@pytest.mark.parametrize("path", list(BODIES))
@pytest.mark.parametrize("provider", ["openai", "anthropic", "cohere"])
@pytest.mark.parametrize("stream", [False, True])
async def test_integers_beyond_64_bits_are_400_naming_the_field(env, fakes, path, provider, stream):
    """I7: a 30-digit integer in a tool schema could not be sent on (no JSON encoder here or at
    the providers carries it): a 400 naming the field, on every surface, never a 500."""
    template, field = BODIES[path]
    body = template % (provider.encode(), b"true" if stream else b"false")
    sent = len(fakes[provider].requests)
    async with app_client(env) as client:
        answer = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert field in answer.text
    assert len(fakes[provider].requests) == sent  # nothing went upstream


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> bytes:
    """Read until the server closes; trickle ``trickle`` one byte every 0.2 s meanwhile."""
    deadline = time.monotonic() + seconds
    sock.settimeout(0.2)
    received, sent = b"", 0
    while time.monotonic() < deadline:
        if sent < len(trickle):
            try:
                sock.send(trickle[sent:sent + 1])
                sent += 1
            except OSError:
                return received
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:  # closed while our trickle was unread: a reset, not a FIN
            return received
        if not data:
            return received
        received += data
    raise AssertionError(f"connection still open after {seconds}s (got {received!r})")


@pytest.fixture(scope="module")
def strict_gateway(fakes):
    env = {**provider_env(fakes), "LLM_ROUTER_HEADER_TIMEOUT": "1", "LLM_ROUTER_BODY_TIMEOUT": "1"}
    with run_gateway(env, in_process=False) as gateway:
        yield gateway


def test_an_idle_connection_is_closed(strict_gateway):
    with _connect(strict_gateway.url) as sock:
        answer = _closed_within(sock, 8)
    assert answer.startswith(b"HTTP/1.1 408")


def test_trickled_headers_are_closed(strict_gateway):
    with _connect(strict_gateway.url) as sock:
        answer = _closed_within(sock, 8, trickle=b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")  # closed: with a 408, or reset


def test_a_trickled_body_is_408(strict_gateway):
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 500\r\n\r\n")
    with _connect(strict_gateway.url) as sock:
        sock.sendall(head)
        answer = _closed_within(sock, 8, trickle=b"{  ")  # three bytes, then nothing more
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"LLM_ROUTER_BODY_TIMEOUT" in answer


def test_a_served_connection_still_works_after_a_slow_start(strict_gateway):
    with _connect(strict_gateway.url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


_ONE = {"role": "user", "content": "x"}
# Each surface's list over its cap, answered with a 400 in the surface's shape naming the list.
HUGE_LISTS = {
    "chat": ("/v1/chat/completions", {"model": "openai", "messages": [_ONE] * 100_000},
             lambda e: e["error"]["param"] == "messages"),
    "messages": ("/v1/messages", {"model": "anthropic", "max_tokens": 5, "messages": [_ONE] * 150_000},
                 lambda e: e["type"] == "error" and "'messages'" in e["error"]["message"]),
    "count_tokens": ("/v1/messages/count_tokens", {"model": "anthropic", "messages": [_ONE] * 150_000},
                     lambda e: e["type"] == "error" and "'messages'" in e["error"]["message"]),
    "responses": ("/v1/responses", {"model": "openai", "input": [_ONE] * 100_000},
                  lambda e: e["error"]["param"] == "input"),
    "embeddings": ("/v1/embeddings", {"model": "openai", "input": ["x"] * 300_000},
                   lambda e: e["error"]["param"] == "input"),
}


@pytest.mark.parametrize("surface", HUGE_LISTS)
def test_a_huge_list_is_refused_without_stalling_other_requests(fakes, surface):
    """I8: a list far over its cap (100,000 chat messages, 150,000 Anthropic messages: a
    second of validation each) is refused by counting it off the body's bytes, before
    decoding, so /health stays quick meanwhile (its p99 as a client on this machine sees it)."""
    import threading

    import httpx
    import orjson

    path, payload, names_the_list = HUGE_LISTS[surface]
    body = orjson.dumps(payload)
    with run_gateway(provider_env(fakes)) as gateway:
        quiet = _health_latencies(gateway.url, lambda n: n >= 40)
        stop = threading.Event()
        answers: list[httpx.Response] = []

        def flood() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    answers.append(client.post(gateway.url + path, content=body,
                                               headers={"content-type": "application/json"}))

        thread = threading.Thread(target=flood)
        thread.start()
        busy = _health_latencies(gateway.url, lambda n: len(answers) >= 5)
        stop.set()
        thread.join()
    assert all(a.status_code == 400 and names_the_list(a.json()) for a in answers), answers[0].text
    # Relative to the same machine's quiet p99 (CI machines are slow, not that slow): validating
    # the 100,000 chat messages first used to add 130-200 ms to every /health in between, and
    # decoding them into dicts before counting 80-90 ms (a p99 of 0.09-0.18 s on a 2-core
    # host; 0.02-0.03 s with the count read off the bytes). 150,000 Anthropic messages were
    # validated, twice, before the cap refused them: seconds.
    assert _p99(busy) < max(0.1, 5 * _p99(quiet)), (busy[-5:], _p99(quiet))


def _flood(url: str, path: str, body: bytes, answers: list, stop) -> None:
    import httpx

    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            answers.append(client.post(url + path, content=body, headers={"content-type": "application/json"}))


def _turns(n: int) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(n)]


# Valid bodies at their caps' scale: 100,000 messages on /v1/messages (as Anthropic's API allows),
# to the Anthropic fake as they came (the model name replaced) and translated for OpenAI's.
BIG_VALID = {
    "messages-anthropic": ("/v1/messages", {"model": "anthropic", "max_tokens": 5, "messages": _turns(99_999)}),
    "messages-openai": ("/v1/messages", {"model": "openai", "max_tokens": 5, "messages": _turns(99_999)}),
}


@pytest.mark.parametrize("surface", BIG_VALID)
def test_a_big_body_under_its_cap_does_not_stall_other_requests(fakes, surface):
    """I8 under the cap: a valid 4.8 MB body of 100,000 messages is answered (200) and, while
    such requests run back to back, /health stays quick: the body is read, validated (512
    messages at a time) and translated in a worker thread, not on the loop. Before, each held
    the loop for half a second: /health p99 0.41-0.51 s on a 2-core host; after, 0.02-0.03 s."""
    import threading

    path, payload = BIG_VALID[surface]
    body = orjson.dumps(payload)
    with run_gateway(provider_env(fakes)) as gateway:
        quiet = _health_latencies(gateway.url, lambda n: n >= 40)
        stop = threading.Event()
        answers: list = []
        thread = threading.Thread(target=_flood, args=(gateway.url, path, body, answers, stop))
        thread.start()
        busy = _health_latencies(gateway.url, lambda n: len(answers) >= 3)
        stop.set()
        thread.join()
    assert all(a.status_code == 200 for a in answers), answers[0].text[:500]
    assert _p99(busy) < max(0.1, 5 * _p99(quiet)), (busy[-5:], _p99(quiet))


@pytest.mark.parametrize("surface", HUGE_LISTS)
async def test_a_capped_list_nested_too_deep_is_a_400(env, surface):
    """I6 inside the field whose length is counted first: the count gives up, the full decode
    refuses the depth (400 in the surface's shape), never a RecursionError's 500."""
    path, payload, _ = HUGE_LISTS[surface]
    field = "messages" if "messages" in payload else "input"
    deep = b"[" * 50_000 + b"]" * 50_000
    body = orjson.dumps({**payload, field: []}).replace(b"[]", b"[" + deep + b"]", 1)
    async with app_client(env) as client:
        answer = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert "error" in answer.json()


def _health_latencies(url: str, done: Callable[[int], bool]) -> list[float]:
    import httpx

    lags: list[float] = []
    with httpx.Client(timeout=10) as client:
        while not done(len(lags)):
            started = time.perf_counter()
            assert client.get(url + "/health").status_code == 200
            lags.append(time.perf_counter() - started)
    return sorted(lags)


def _p99(values: list[float]) -> float:
    return values[max(0, int(len(values) * 0.99) - 1)]
