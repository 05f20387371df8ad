"""The upstream fault matrix (reference 4.2) through a three-provider route, end to end.

Each test scripts the fakes, calls the real gateway, and asserts on the fakes' request
logs (attempts, which deployment, timing) and on what the client saw."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import provider_env
from tests.fakes import Reply
from tests.gateway_process import GatewayProcess, free_port, run_gateway

CONFIG = """\
deployments:
  anthropic-main: {provider: anthropic, model: claude-sonnet-4-5, api_key: "${ANTHROPIC_API_KEY}",
                   base_url: "${ANTHROPIC_BASE_URL}"}
  anthropic-once: {provider: anthropic, model: claude-haiku-4-5, api_key: "${ANTHROPIC_API_KEY}",
                   base_url: "${ANTHROPIC_BASE_URL}", retries: 0}
  openai-main: {provider: openai, model: gpt-4.1-mini, api_key: "${OPENAI_API_KEY}",
                base_url: "${OPENAI_BASE_URL}"}
  openai-solo: {provider: openai, model: gpt-4.1, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
  openai-quota: {provider: openai, model: gpt-4.1, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
  anthropic-broken: {provider: anthropic, model: claude-haiku-4-5, api_key: "${ANTHROPIC_API_KEY}",
                     base_url: "${ANTHROPIC_BASE_URL}"}
  cohere-main: {provider: cohere, model: command-a-03-2025, api_key: "${COHERE_API_KEY}",
                base_url: "${COHERE_BASE_URL}"}
  dead: {provider: openai, model: gpt-4.1, api_key: x, base_url: "http://127.0.0.1:DEAD_PORT/v1"}
routes:
  smart: {strategy: fallback, deployments: [anthropic-main, openai-main, cohere-main]}
  quick: {strategy: fallback, deployments: [anthropic-once, openai-main]}
  solo: {strategy: fallback, deployments: [openai-solo]}
  quota: {strategy: fallback, deployments: [openai-quota, cohere-main]}
  broken-first: {strategy: fallback, deployments: [anthropic-broken, openai-main]}
  dead-first: {strategy: fallback, deployments: [dead, cohere-main]}
settings:
  retries: 2
  timeouts: {total: 8, first_byte: 1.5, stream_idle: 1.5}
  backoff: {base: 0.05, max: 0.2}
  max_retry_after: 3
  cooldown: {failures: 100, base: 30}
  retry_budget: {ratio: 1.0, minimum: 1000}  # these tests retry in quick succession
"""


@pytest.fixture(scope="module")
def router_gateway(fakes, tmp_path_factory) -> Iterator[GatewayProcess]:
    path: Path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_text(CONFIG.replace("DEAD_PORT", str(free_port())))
    with run_gateway(provider_env(fakes), args=("--config", str(path))) as process:
        yield process


def ask(gateway, model, stream=False, **extra):
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream, **extra}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=20)


def stream_frames(response):
    return [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]


def streamed_text(frames):
    """The content deltas of a Chat Completions stream, joined."""
    return "".join((json.loads(f)["choices"] or [{}])[0].get("delta", {}).get("content") or ""
                   for f in frames if f != "[DONE]")


def attempts(fakes):
    return {name: len(fake.requests) for name, fake in fakes.items()}


@pytest.mark.parametrize("stream", [False, True])
def test_f1_retry_after_fails_over_at_once(router_gateway, fakes, stream):
    fakes["anthropic"].enqueue(Reply(status=429, headers={"retry-after": "2"}))
    started = time.monotonic()
    response = ask(router_gateway, "smart", stream)
    assert response.status_code == 200
    assert time.monotonic() - started < 1.5
    assert attempts(fakes) == {"anthropic": 1, "openai": 1, "cohere": 0}
    assert response.headers["x-llm-router-deployment"] == "openai-main"
    assert response.headers["x-llm-router-attempts"] == "2"


def test_f1_retry_after_is_honoured_when_there_is_no_fallback(router_gateway, fakes):
    fakes["openai"].enqueue(Reply(status=429, headers={"retry-after": "1"}))
    response = ask(router_gateway, "solo")
    assert response.status_code == 200
    first, second = fakes["openai"].requests
    assert second.received_at - first.received_at >= 1.0


def test_f2_retry_after_beyond_the_cap_returns_429_at_once(router_gateway, fakes):
    fakes["openai"].enqueue(Reply(status=429, headers={"retry-after": "120"}))
    started = time.monotonic()
    response = ask(router_gateway, "solo")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"
    assert len(fakes["openai"].requests) == 1


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("fault", [
    Reply(status=429, error_type="rate_limit_error"),            # F3
    Reply(status=500),                                           # F5
    Reply(status=503),                                           # F7
    Reply(status=529, error_type="overloaded_error"),            # F8
])
def test_retryable_failures_retry_then_fall_back(router_gateway, fakes, fault, stream):
    fakes["anthropic"].enqueue(fault, fault, fault)
    response = ask(router_gateway, "smart", stream)
    assert response.status_code == 200
    assert attempts(fakes) == {"anthropic": 3, "openai": 1, "cohere": 0}
    gaps = [b.received_at - a.received_at for a, b in zip(fakes["anthropic"].requests,
                                                          fakes["anthropic"].requests[1:], strict=False)]
    assert all(gap >= 0.025 for gap in gaps)
    if stream:
        assert stream_frames(response)[-1] == "[DONE]"


def test_f4_quota_exhausted_is_not_retried_and_ejects(router_gateway, fakes):
    fakes["openai"].enqueue(Reply(status=429, error_type="insufficient_quota"))
    response = ask(router_gateway, "quota")
    assert response.status_code == 200
    assert attempts(fakes) == {"anthropic": 0, "openai": 1, "cohere": 1}
    assert ask(router_gateway, "quota").status_code == 200
    assert attempts(fakes) == {"anthropic": 0, "openai": 1, "cohere": 2}, "openai-quota is cooling down"


@pytest.mark.parametrize("status", [400, 404, 422])
def test_f9_client_errors_are_not_retried(router_gateway, fakes, status):
    fakes["anthropic"].enqueue(Reply(status=status, error_message="prompt is too long"))
    response = ask(router_gateway, "smart")
    assert response.status_code in (400, 404)
    assert attempts(fakes) == {"anthropic": 1, "openai": 0, "cohere": 0}


def test_f10_bad_provider_key_fails_over_without_retry(router_gateway, fakes):
    fakes["anthropic"].enqueue(Reply(status=401))
    response = ask(router_gateway, "broken-first")
    assert response.status_code == 200
    assert attempts(fakes) == {"anthropic": 1, "openai": 1, "cohere": 0}


def test_f10_without_fallback_is_502(router_gateway, fakes):
    fakes["openai"].enqueue(Reply(status=401))
    response = ask(router_gateway, "solo")
    assert response.status_code == 502
    assert len(fakes["openai"].requests) == 1


def test_f11_connection_refused_fails_over_immediately(router_gateway, fakes):
    started = time.monotonic()
    response = ask(router_gateway, "dead-first")
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    assert response.headers["x-llm-router-deployment"] == "cohere-main"


@pytest.mark.parametrize("stream", [False, True])
def test_f13_slow_first_byte_is_abandoned_and_fails_over(router_gateway, fakes, stream):
    fakes["anthropic"].enqueue(Reply(delay=4))
    started = time.monotonic()
    response = ask(router_gateway, "quick", stream)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 1.4 <= elapsed < 3.5
    assert fakes["anthropic"].wait_for_close(timeout=2)
    assert attempts(fakes)["openai"] == 1


@pytest.mark.parametrize("fault", [Reply(inband_error_after=0), Reply(empty_stream=True)])
def test_f15_f16_failure_before_first_content_is_invisible(router_gateway, fakes, fault):
    fakes["anthropic"].enqueue(fault)
    fakes["anthropic"].enqueue(Reply(text="All good now."))
    response = ask(router_gateway, "smart", stream=True)
    frames = stream_frames(response)
    assert frames[-1] == "[DONE]"
    text = streamed_text(frames)
    assert text == "All good now."
    assert not any("error" in json.loads(f) for f in frames[:-1])


def test_f17_cut_after_content_is_an_error_never_a_silent_switch(router_gateway, fakes):
    fakes["anthropic"].enqueue(Reply(text="one two three four five six seven eight", cut_after=6))
    response = ask(router_gateway, "smart", stream=True)
    frames = stream_frames(response)
    assert "[DONE]" not in frames
    assert "error" in json.loads(frames[-1])
    assert attempts(fakes) == {"anthropic": 1, "openai": 0, "cohere": 0}


def test_f18_stall_mid_stream_hits_the_idle_timeout(router_gateway, fakes):
    fakes["anthropic"].enqueue(Reply(text="one two three four five", stall_after=5))
    started = time.monotonic()
    response = ask(router_gateway, "smart", stream=True)
    assert 1.4 <= time.monotonic() - started < 3.5
    frames = stream_frames(response)
    assert json.loads(frames[-1])["error"]["type"] == "upstream_timeout"
    assert fakes["anthropic"].wait_for_close()


def test_f19_one_malformed_event_is_skipped(router_gateway, fakes):
    fakes["openai"].enqueue(Reply(text="fine despite one bad event", malformed=True))
    before = sse_parse_errors(router_gateway)
    response = ask(router_gateway, "solo", stream=True)
    frames = stream_frames(response)
    assert frames[-1] == "[DONE]"
    text = streamed_text(frames)
    assert text == "fine despite one bad event"
    assert sse_parse_errors(router_gateway) - before == 1  # counted, not fatal


def test_well_formed_streams_count_no_parse_errors(router_gateway, fakes):
    before = httpx.get(router_gateway.url + "/metrics").text
    for model in ("smart", "solo", "dead-first"):  # Anthropic, OpenAI and Cohere streams
        assert stream_frames(ask(router_gateway, model, stream=True))[-1] == "[DONE]"
    after = httpx.get(router_gateway.url + "/metrics").text

    def counted(metrics):
        return [line for line in metrics.splitlines() if line.startswith("llm_router_sse_parse_errors_total{")]
    assert counted(after) == counted(before)


def sse_parse_errors(gateway) -> float:
    metrics = httpx.get(gateway.url + "/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith('llm_router_sse_parse_errors_total{provider="openai"}'))


def test_f21_truncated_json_is_retried(router_gateway, fakes):
    fakes["openai"].enqueue(Reply(malformed=True), Reply(text="second time lucky"))
    response = ask(router_gateway, "solo")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "second time lucky"
    assert len(fakes["openai"].requests) == 2


def test_f23_redirect_is_not_followed(router_gateway, fakes):
    redirect = Reply(status=302, headers={"location": "http://127.0.0.1:9/elsewhere"})
    fakes["openai"].enqueue(redirect, redirect, redirect)
    response = ask(router_gateway, "solo")
    assert response.status_code == 502
    assert len(fakes["openai"].requests) == 3


def test_f28_client_disconnect_while_waiting_aborts_upstream(router_gateway, fakes):
    fakes["openai"].enqueue(Reply(delay=1.2))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(router_gateway.url + "/v1/chat/completions", timeout=httpx.Timeout(5, read=0.3),
                   json={"model": "solo", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    assert fakes["openai"].wait_for_close(timeout=1.0)
    time.sleep(1.5)
    assert len(fakes["openai"].requests) == 1, "no retry after the client left"


def test_seed_chat_surface_uses_routes_too(router_gateway, fakes):
    fakes["anthropic"].enqueue(Reply(status=529), Reply(status=529), Reply(status=529))
    response = httpx.post(router_gateway.url + "/chat/", json={"message": "hi", "chat_model_name": "smart"})
    assert response.status_code == 200
    assert response.headers["x-llm-router-deployment"] == "openai-main"


def test_deployment_name_is_a_model_name(router_gateway, fakes):
    response = ask(router_gateway, "cohere-main")
    assert response.status_code == 200
    assert fakes["cohere"].requests[-1].body["model"] == "command-a-03-2025"


def test_f26_failing_deployment_is_cooled_down_then_skipped(fakes, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("DEAD_PORT", str(free_port())).replace("failures: 100", "failures: 4"))
    with run_gateway(provider_env(fakes), args=("--config", str(path))) as gateway:
        failure = Reply(status=500)
        fakes["anthropic"].enqueue(failure, failure, failure, failure)
        assert ask(gateway, "smart").status_code == 200
        assert ask(gateway, "smart").status_code == 200
        assert len(fakes["anthropic"].requests) == 4, "the 4th failure opens the circuit: no 5th try"
        fakes["anthropic"].reset()
        fakes["openai"].reset()
        assert ask(gateway, "smart").status_code == 200
        assert len(fakes["anthropic"].requests) == 0, "circuit open: anthropic-main skipped"
        assert len(fakes["openai"].requests) == 1


def usage_line(gateway, request_id):
    """The request's JSON log line (the log is written by a background thread)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in gateway.log_text().splitlines():
            if line.startswith("{") and f'"request_id":"{request_id}"' in line and '"status"' in line:
                return json.loads(line)
        time.sleep(0.05)
    raise AssertionError(f"no log line for {request_id}")


@pytest.mark.parametrize(("fault", "billed"), [
    (Reply(status=502), 1),           # F6: the provider's edge answered after taking the request
    (Reply(status=504), 1),           # F6
    (Reply(reset=True), 1),           # F14: reset after the body was sent, before headers
    (Reply(status=503), 0),           # F7: the provider says it did not take the work
    (Reply(status=429, error_type="rate_limit_error"), 0),
])
def test_f6_f14_attempts_the_provider_may_bill_are_flagged(router_gateway, fakes, fault, billed):
    fakes["anthropic"].enqueue(fault)
    request_id = f"billed-{fault.status}-{fault.reset}-{time.monotonic_ns()}"
    body = {"model": "smart", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(router_gateway.url + "/v1/chat/completions", json=body, timeout=20,
                          headers={"x-request-id": request_id})
    assert response.status_code == 200
    record = usage_line(router_gateway, request_id)
    assert record["attempts"] == 2
    assert record["possibly_billed_attempts"] == billed
    usage = httpx.get(router_gateway.url + "/v1/usage", params={"group_by": "route"}).json()
    assert "possibly_billed_attempts" in json.dumps(usage)


def test_f13_timed_out_attempt_is_flagged_and_f11_refused_is_not(router_gateway, fakes):
    fakes["anthropic"].enqueue(Reply(delay=4))
    slow = httpx.post(router_gateway.url + "/v1/chat/completions", timeout=20, headers={"x-request-id": "slow-f13"},
                      json={"model": "quick", "messages": [{"role": "user", "content": "hi"}]})
    refused = httpx.post(router_gateway.url + "/v1/chat/completions", timeout=20,
                         headers={"x-request-id": "refused-f11"},
                         json={"model": "dead-first", "messages": [{"role": "user", "content": "hi"}]})
    assert slow.status_code == refused.status_code == 200
    assert usage_line(router_gateway, "slow-f13")["possibly_billed_attempts"] == 1
    assert usage_line(router_gateway, "refused-f11")["possibly_billed_attempts"] == 0


# ----- issue 13: upstream faults through the real server
BLACK_HOLE_CONFIG = """\
deployments:
  hole: {provider: openai, model: gpt-4.1, api_key: x, base_url: "HOLE_URL", timeouts: {connect: 1}}
  openai-main: {provider: openai, model: gpt-4.1-mini, api_key: "${OPENAI_API_KEY}",
                base_url: "${OPENAI_BASE_URL}"}
  anthropic-down: {provider: anthropic, model: claude-haiku-4-5, api_key: "${ANTHROPIC_API_KEY}",
                   base_url: "${ANTHROPIC_BASE_URL}", retries: 0}
  cohere-down: {provider: cohere, model: command-a-03-2025, api_key: "${COHERE_API_KEY}",
                base_url: "${COHERE_BASE_URL}", retries: 0}
routes:
  hole-first: {strategy: fallback, deployments: [hole, openai-main]}
  down: {strategy: fallback, deployments: [anthropic-down, cohere-down]}
settings:
  retries: 2
  timeouts: {total: 8, first_byte: 1.5, stream_idle: 1.5}
  backoff: {base: 0.05, max: 0.2}
  cooldown: {failures: 2, base: 30}
"""


@pytest.fixture(scope="module")
def fault_gateway(fakes, tmp_path_factory) -> Iterator[GatewayProcess]:
    from tests.fakes.black_hole import BlackHole

    path: Path = tmp_path_factory.mktemp("faults") / "config.yaml"
    with BlackHole() as hole:
        path.write_text(BLACK_HOLE_CONFIG.replace("HOLE_URL", hole.base_url))
        with run_gateway(provider_env(fakes), args=("--config", str(path))) as process:
            yield process


@pytest.mark.parametrize("stream", [False, True])
def test_f12_connect_black_hole_fails_over_after_one_connect_timeout(fault_gateway, fakes, stream):
    started = time.monotonic()
    response = ask(fault_gateway, "hole-first", stream)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    # One connect timeout (1 s) then the fallback, not three timeouts on the same deployment
    # (3 s and more). The slack is for a loaded CI machine; the target (±10%) is what an idle
    # machine shows.
    assert 0.9 <= elapsed < 2.0, f"one connect timeout of 1 s, not three: {elapsed:.2f}s"
    assert response.headers["x-llm-router-deployment"] == "openai-main"
    assert response.headers["x-llm-router-attempts"] == "2"


@pytest.mark.parametrize("at", [1, 3])
def test_f19_wrongly_shaped_event_is_skipped_never_a_500(router_gateway, fakes, at):
    fakes["openai"].enqueue(Reply(text="still fine", bad_event='{"choices": 5}', bad_event_at=at))
    before = sse_parse_errors(router_gateway)
    response = ask(router_gateway, "solo", stream=True)
    assert response.status_code == 200
    frames = stream_frames(response)
    assert frames[-1] == "[DONE]" and streamed_text(frames) == "still fine"
    assert sse_parse_errors(router_gateway) - before == 1


def test_f22_huge_stream_line_is_a_502_at_the_cap(router_gateway, fakes):
    fakes["openai"].enqueue(*[Reply(huge_event_bytes=50 * 1024 * 1024)] * 3)
    started = time.monotonic()
    response = ask(router_gateway, "solo", stream=True)
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_protocol_error"
    assert time.monotonic() - started < 3.0


def test_f26_every_deployment_down_fails_fast_with_retry_after(fault_gateway, fakes):
    fakes["anthropic"].enqueue(*[Reply(status=500)] * 2)
    fakes["cohere"].enqueue(*[Reply(status=500)] * 2)
    assert [ask(fault_gateway, "down").status_code for _ in range(2)] == [502, 502]
    latencies = []
    for _ in range(20):
        started = time.monotonic()
        response = ask(fault_gateway, "down")
        latencies.append(time.monotonic() - started)
        assert response.status_code == 503
        assert 1 <= int(response.headers["retry-after"]) <= 30
        assert response.json()["error"]["type"] == "overloaded_error"
    # No upstream I/O at all (asserted below): the target is p99 <= 50 ms, which an idle machine
    # shows; a loaded CI box only has to stay well below what one upstream attempt would cost.
    assert sorted(latencies)[10] <= 0.25 and max(latencies) < 1.0, latencies
    assert attempts(fakes) == {"anthropic": 2, "openai": 0, "cohere": 2}, "no upstream attempt while open"


@pytest.mark.parametrize("stream", [False, True])
def test_f24_no_usage_upstream_is_estimated_priced_and_flagged(router_gateway, fakes, stream):
    fakes["openai"].enqueue(Reply(text="an answer without usage", no_usage=True))
    request_id = f"no-usage-{stream}-{time.monotonic_ns()}"
    body = {"model": "solo", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    response = httpx.post(router_gateway.url + "/v1/chat/completions", json=body, timeout=20,
                          headers={"x-request-id": request_id})
    assert response.status_code == 200
    record = usage_line(router_gateway, request_id)
    assert record["usage_estimated"] is True
    assert record["input_tokens"] > 0 and record["output_tokens"] > 0
    assert record["cost_usd"] and record["cost_usd"] > 0
    if stream:
        usage = json.loads(stream_frames(response)[-2])["usage"]
        assert usage["estimated"] is True and usage["prompt_tokens"] > 0, "never zeros shown as measured"


def test_f17_cut_stream_records_delivered_tokens(router_gateway, fakes):
    fakes["anthropic"].enqueue(Reply(text=" ".join(["token"] * 60), cut_after=40))
    request_id = f"cut-{time.monotonic_ns()}"
    body = {"model": "smart", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = httpx.post(router_gateway.url + "/v1/chat/completions", json=body, timeout=20,
                          headers={"x-request-id": request_id})
    assert "error" in json.loads(stream_frames(response)[-1])
    record = usage_line(router_gateway, request_id)
    assert record["usage_estimated"] is True and record["output_tokens"] > 0
    assert (record["finish_reason"], record["error_type"]) == ("error", "upstream_protocol_error")
