"""Metrics, usage and cost, request logs, request ids and traces, end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CANARY, provider_env
from tests.fakes import Reply
from tests.gateway_process import GatewayProcess, run_gateway

CONFIG = """\
deployments:
  anthropic-main: {provider: anthropic, model: claude-sonnet-4-5, api_key: "${ANTHROPIC_API_KEY}",
                   base_url: "${ANTHROPIC_BASE_URL}"}
  openai-main: {provider: openai, model: gpt-4.1-mini, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
  cohere-cheap: {provider: cohere, model: command-r7b-12-2024, api_key: "${COHERE_API_KEY}",
                 base_url: "${COHERE_BASE_URL}", price: {input: 1.0, output: 2.0}}
  mystery: {provider: openai, model: unknown-model-x, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
routes:
  smart: {strategy: fallback, deployments: [anthropic-main, openai-main]}
settings:
  retries: 1
  backoff: {base: 0.01, max: 0.02}
"""


# The admin plane is on in this module (its ledger in a database); the data plane then needs a
# key: the gateway key, a master key.
ADMIN_KEY = "admin-secret-9" + "x" * 32
MASTER_KEY = "gateway-master-key-1"


@pytest.fixture(scope="module")
def observed(fakes, tmp_path_factory) -> Iterator[GatewayProcess]:
    path: Path = tmp_path_factory.mktemp("obs") / "config.yaml"
    path.write_text(CONFIG)
    env = {**provider_env(fakes), "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY, "LLM_ROUTER_API_KEY": MASTER_KEY,
           "LLM_ROUTER_DATABASE_URL": f"sqlite:///{path.parent / 'ledger.db'}",
           "LLM_ROUTER_USAGE_FLUSH_INTERVAL": "0.1"}
    with run_gateway(env, args=("--config", str(path))) as process:
        yield process


def scrape(gateway) -> dict[tuple[str, tuple], float]:
    text = httpx.get(gateway.url + "/metrics").text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def chat(gateway, model, stream=False, request_id=None, **extra):
    headers = {"x-request-id": request_id} if request_id else {}
    headers["authorization"] = f"Bearer {MASTER_KEY}"  # harmless where no key is set
    body = {"model": model, "messages": [{"role": "user", "content": "secret prompt text"}], "stream": stream,
            **extra}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=10)


def log_records(gateway) -> list[dict]:
    records = []
    for line in gateway.log_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def request_record(gateway, request_id) -> dict:
    """The request's log line; it is written once the response is over, so wait a little."""
    for _ in range(100):
        matches = [r for r in log_records(gateway) if r.get("logger") == "llm_router.request"
                   and r.get("request_id") == request_id]
        if matches:
            break
        time.sleep(0.02)
    assert len(matches) == 1, f"exactly one request line for {request_id}"
    return matches[0]


def test_success_stream_429_and_fallback_move_the_right_counters(observed, fakes):
    before = scrape(observed)
    fakes["openai"].enqueue(Reply(input_tokens=100, output_tokens=20, cached_tokens=40))
    assert chat(observed, "openai-main").status_code == 200
    fakes["anthropic"].enqueue(Reply(text="a b c d e", input_tokens=50, output_tokens=10))
    assert chat(observed, "anthropic-main", stream=True).status_code == 200
    fakes["cohere"].enqueue(Reply(status=429, headers={"retry-after": "120"}))
    assert chat(observed, "cohere-cheap").status_code == 429
    fakes["anthropic"].enqueue(Reply(status=500), Reply(status=500))
    assert chat(observed, "smart").status_code == 200
    after = scrape(observed)

    assert delta(before, after, "llm_router_requests_total", surface="openai", route="openai-main",
                 status_class="2xx", error_type="none") == 1
    assert delta(before, after, "llm_router_requests_total", surface="openai", route="cohere-cheap",
                 status_class="4xx", error_type="rate_limit_error") == 1
    assert delta(before, after, "llm_router_requests_total", surface="openai", route="smart",
                 status_class="2xx", error_type="none") == 1
    assert delta(before, after, "llm_router_tokens_total", provider="openai", model="gpt-4.1-mini",
                 type="input") == 100 + 11
    assert delta(before, after, "llm_router_tokens_total", provider="openai", model="gpt-4.1-mini",
                 type="cached_input") == 40
    genai = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "anthropic",
             "gen_ai_request_model": "claude-sonnet-4-5"}
    assert delta(before, after, "gen_ai_server_time_to_first_token_seconds_count", **genai) == 1
    assert delta(before, after, "gen_ai_server_time_per_output_token_seconds_count", **genai) == 1
    assert delta(before, after, "gen_ai_client_token_usage_count", **genai, gen_ai_token_type="output") == 1
    assert delta(before, after, "llm_router_upstream_attempts_total", deployment="anthropic-main",
                 provider="anthropic", result="upstream_server_error") == 2
    assert delta(before, after, "llm_router_retries_total", deployment="anthropic-main") == 1
    assert delta(before, after, "llm_router_fallbacks_total", route="smart") == 1
    # gpt-4.1-mini: 0.40 in, 0.10 cached in, 1.60 out per million; two requests (100/40/20 and 11/0/7)
    expected = ((60 * 0.40 + 40 * 0.10 + 20 * 1.60) + (11 * 0.40 + 7 * 1.60)) / 1e6
    assert delta(before, after, "llm_router_cost_usd_total", provider="openai",
                 model="gpt-4.1-mini") == pytest.approx(expected)
    assert value(after, "llm_router_requests_in_flight", surface="openai") == 0
    assert value(after, "llm_router_circuit_state", deployment="anthropic-main") == 0


def test_unknown_price_is_counted_not_zero(observed, fakes):
    before = scrape(observed)
    rid = "obs-unpriced-1"
    assert chat(observed, "mystery", request_id=rid).status_code == 200
    after = scrape(observed)
    assert delta(before, after, "llm_router_unpriced_requests_total", provider="openai",
                 model="unknown-model-x") == 1
    assert request_record(observed, rid)["cost_usd"] is None


def test_config_price_overrides_and_usage_parity_streamed_or_not(observed, fakes):
    reply = Reply(text="same answer", input_tokens=1000, output_tokens=500, cached_tokens=100)
    fakes["cohere"].enqueue(reply, reply)
    assert chat(observed, "cohere-cheap", request_id="parity-whole").status_code == 200
    assert chat(observed, "cohere-cheap", stream=True, request_id="parity-stream").status_code == 200
    whole, streamed = request_record(observed, "parity-whole"), request_record(observed, "parity-stream")
    for field in ("input_tokens", "output_tokens", "cached_input_tokens", "cost_usd", "model", "provider"):
        assert whole[field] == streamed[field], field
    # price from the deployment: 1.0 in (cached at the input rate: no cached price), 2.0 out
    assert whole["cost_usd"] == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    assert streamed["streamed"] is True and streamed["time_to_first_token"] is not None
    assert whole["streamed"] is False and whole["time_to_first_token"] is None


def test_request_log_line_has_the_fields_and_no_secrets(observed, fakes):
    rid = "obs-log-1"
    fakes["openai"].enqueue(Reply(text="model answer text"))
    response = chat(observed, "smart", request_id=rid)
    assert response.headers["x-request-id"] == rid
    record = request_record(observed, rid)
    for field in ("request_id", "surface", "route", "deployment", "provider", "model", "attempts", "status",
                  "input_tokens", "output_tokens", "cached_input_tokens", "cost_usd", "latency",
                  "time_to_first_token", "streamed", "cancelled", "error_type"):
        assert field in record, field
    assert record["route"] == "smart" and record["status"] == 200
    log = observed.log_text()
    assert "secret prompt text" not in log and "model answer text" not in log
    for key in (*CANARY.values(), ADMIN_KEY, MASTER_KEY):
        assert key not in log


def test_error_responses_carry_the_request_id_into_the_log(observed, fakes):
    rid = "obs-error-1"
    response = chat(observed, "no-such-model", request_id=rid)
    assert response.status_code == 400
    assert response.json()["error"]["request_id"] == rid
    assert request_record(observed, rid)["error_type"] == "invalid_request_error"


def test_cancelled_stream_is_recorded(observed, fakes):
    fakes["openai"].enqueue(Reply(text="a b c d e f", stall_after=3))
    with httpx.stream("POST", observed.url + "/v1/chat/completions", headers={"x-request-id": "obs-cancel", "authorization": f"Bearer {MASTER_KEY}"},
                      json={"model": "openai-main", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]}) as response:
        next(response.iter_raw())
    assert fakes["openai"].wait_for_close()
    assert request_record(observed, "obs-cancel")["cancelled"] is True


def test_usage_api_totals_and_admin_key(observed, fakes):
    fakes["cohere"].enqueue(Reply(input_tokens=7, output_tokens=3))
    assert chat(observed, "cohere-cheap").status_code == 200
    assert httpx.get(observed.url + "/v1/usage").status_code == 401
    response = httpx.get(observed.url + "/v1/usage?group_by=provider&window=600",
                         headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200
    cohere = next(row for row in response.json()["data"] if row["provider"] == "cohere")
    assert cohere["requests"] >= 1 and cohere["input_tokens"] >= 7
    bad = httpx.get(observed.url + "/v1/usage?group_by=colour", headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert bad.status_code == 400


def test_health_and_ready_are_cheap_and_open(observed):
    assert httpx.get(observed.url + "/health").json()["status"] == "ok"
    ready = httpx.get(observed.url + "/ready").json()
    assert ready["status"] == "ready" and ready["routes"] == ["smart"]


def test_content_is_logged_only_when_enabled(fakes):
    env = {**provider_env(fakes), "LLM_ROUTER_LOG_CONTENT": "true"}
    with run_gateway(env) as gateway:
        fakes["openai"].enqueue(Reply(text="visible completion"))
        chat(gateway, "openai", request_id="content-1")
        record = request_record(gateway, "content-1")
    assert "secret prompt text" in record["prompt"]
    assert record["completion"] == "visible completion"


def test_text_log_format(fakes):
    with run_gateway(provider_env(fakes), args=("--log-format", "text")) as gateway:
        chat(gateway, "openai", request_id="text-1")
        deadline = time.monotonic() + 5  # the log writer flushes in batches: poll for the line
        while "request text-1" not in gateway.log_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        log = gateway.log_text()
    assert "request text-1 openai status=200" in log
    assert not any(line.startswith("{") for line in log.splitlines())


def test_multi_worker_metrics_add_up(fakes):
    with run_gateway(provider_env(fakes), args=("--workers", "2")) as gateway:
        for _ in range(20):
            assert chat(gateway, "openai").status_code == 200
        samples = scrape(gateway)
    assert value(samples, "llm_router_requests_total", surface="openai", route="openai", status_class="2xx",
                 error_type="none") == 20
