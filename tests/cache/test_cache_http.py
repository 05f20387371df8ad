"""The response cache through the real app, against the loopback fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.cache.helpers import CONFIG, chat, records, text_of, until, usage_of
from tests.conftest import CANARY, provider_env
from tests.fakes import Reply
from tests.gateway_process import GatewayProcess, run_gateway


@pytest.fixture(scope="module")
def gateway(fakes, tmp_path_factory) -> Iterator[GatewayProcess]:
    path: Path = tmp_path_factory.mktemp("cache") / "config.yaml"
    path.write_text(CONFIG)
    with run_gateway(provider_env(fakes), args=("--config", str(path))) as process:
        yield process


def hit_after(first, again, fakes, upstream="openai"):
    """``first`` misses and reaches the upstream; ``again`` (polled: the store is off the
    request path) is a hit that does not."""
    response = first()
    assert response.status_code == 200, response.text
    assert response.headers["x-llm-router-cache"] == "miss"
    seen = len(fakes[upstream].requests)
    hit = until(lambda: (r := again()).headers["x-llm-router-cache"] == "hit" and r)
    assert len(fakes[upstream].requests) == seen
    return response, hit


@pytest.mark.parametrize("stream", [False, True])
def test_a_deterministic_answer_is_served_again_from_the_cache(gateway, fakes, stream):
    fakes["openai"].enqueue(Reply(text="Cached words, exactly.", input_tokens=21, output_tokens=5))
    extra = {"stream_options": {"include_usage": True}} if stream else {}
    first, hit = hit_after(lambda: chat(gateway.url, stream=stream, **extra),
                           lambda: chat(gateway.url, stream=stream, **extra), fakes)
    assert text_of(hit) == text_of(first) == "Cached words, exactly."
    original, served = usage_of(first), usage_of(hit)
    assert served.pop("cached") is True and "cached" not in original
    assert served == original
    assert hit.headers["x-llm-router-attempts"] == "0"
    assert hit.headers["x-llm-router-deployment"] == "openai-c"
    record = until(lambda: records(gateway.log_text(), hit.headers["x-request-id"]))[0]
    assert record["cache"] == "hit" and record["cost_usd"] == 0.0 and record["attempts"] == 0
    assert record["saved_cost_usd"] == pytest.approx((21 * 2.0 + 5 * 8.0) / 1e6)
    miss = records(gateway.log_text(), first.headers["x-request-id"])[0]
    assert miss["cache"] == "miss" and miss["cost_usd"] == pytest.approx(record["saved_cost_usd"])


def test_a_streamed_hit_has_the_original_chunk_shape(gateway, fakes):
    fakes["openai"].enqueue(Reply(chunks=["One", " two", " three."]))
    body = {"stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "shape"}]}
    first, hit = hit_after(lambda: chat(gateway.url, stream=True, **body),
                           lambda: chat(gateway.url, stream=True, **body), fakes)

    def shape(response):
        out = []
        for line in response.text.splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                import json
                frame = json.loads(line[6:])
                choice = (frame["choices"] or [{}])[0]
                out.append((choice.get("delta", {}).get("content"), choice.get("finish_reason")))
        return out, response.text.rstrip().endswith("data: [DONE]")

    assert shape(hit) == shape(first)


def test_the_openai_sdk_reads_a_hit(gateway, fakes):
    fakes["openai"].enqueue(Reply(text="From the SDK."))
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    ask = dict(model="cached", messages=[{"role": "user", "content": "sdk"}], temperature=0)
    first = client.chat.completions.with_raw_response.create(**ask)
    assert first.headers["x-llm-router-cache"] == "miss"
    hit = until(lambda: (r := client.chat.completions.with_raw_response.create(**ask))
                .headers["x-llm-router-cache"] == "hit" and r)
    assert hit.parse().choices[0].message.content == "From the SDK."
    with client.chat.completions.stream(**ask, stream_options={"include_usage": True}) as stream:
        for _ in stream:
            pass
        assert stream.get_final_completion().choices[0].message.content == "Hello from the fake upstream."


@pytest.mark.parametrize("stream", [False, True])
def test_the_anthropic_surface_caches_with_the_sdk(gateway, fakes, stream):
    fakes["anthropic"].enqueue(Reply(text="Claude, cached."))
    client = anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0)
    ask = dict(model="claude", max_tokens=50, extra_body={"temperature": 0},
               messages=[{"role": "user", "content": f"claude {stream}"}])

    def call():
        if not stream:
            raw = client.messages.with_raw_response.create(**ask)
            return raw.headers["x-llm-router-cache"], raw.parse()
        with client.messages.stream(**ask) as s:
            for _ in s:
                pass
            return s.response.headers["x-llm-router-cache"], s.get_final_message()

    status, first = call()
    assert status == "miss"
    status, message = until(lambda: (got := call())[0] == "hit" and got)
    assert message.content[0].text == first.content[0].text == "Claude, cached."
    assert message.usage.output_tokens == first.usage.output_tokens
    assert len(fakes["anthropic"].requests) == 1


def test_the_chat_surface_caches(gateway, fakes):
    fakes["openai"].enqueue(Reply(text="Seed surface."))

    def call():
        return httpx.post(gateway.url + "/chat/", json={"message": "x", "chat_model_name": "cached",
                                                        "temperature": 0}, timeout=10)

    first, hit = hit_after(call, call, fakes)
    assert hit.json()["response"] == first.json()["response"] == "Seed surface."
    assert hit.json()["usage"]["cached"] is True


@pytest.mark.parametrize("accept", ["text/event-stream", "text/plain"])
def test_the_chat_surface_streams_a_hit(gateway, fakes, accept):
    fakes["openai"].enqueue(Reply(chunks=["Streamed", " seed", " words."]))

    def call():
        return httpx.post(gateway.url + "/chat/", json={"message": accept, "chat_model_name": "cached",
                                                        "temperature": 0, "stream": True},
                          headers={"accept": accept}, timeout=10)

    first, hit = hit_after(call, call, fakes)
    if accept == "text/plain":
        assert hit.text == first.text == "Streamed seed words."
    else:
        assert hit.text.replace('"cached":true', "").replace(",}", "}") == first.text


def test_non_deterministic_requests_bypass_unless_the_route_opts_in(gateway, fakes):
    for _ in range(2):
        response = chat(gateway.url, temperature=None)
        assert response.headers["x-llm-router-cache"] == "bypass"
        assert chat(gateway.url, temperature=0.7).headers["x-llm-router-cache"] == "bypass"
    assert len(fakes["openai"].requests) == 4
    hit_after(lambda: chat(gateway.url, "anything", temperature=0.9),
              lambda: chat(gateway.url, "anything", temperature=0.9), fakes)
    assert chat(gateway.url, "uncached").headers["x-llm-router-cache"] == "bypass"


def test_a_seed_makes_a_request_cacheable(gateway, fakes):
    hit_after(lambda: chat(gateway.url, temperature=None, seed=7),
              lambda: chat(gateway.url, temperature=None, seed=7), fakes)
    assert chat(gateway.url, temperature=None, seed=8).headers["x-llm-router-cache"] == "miss"


def test_cache_control_no_cache_bypasses(gateway, fakes):
    hit_after(lambda: chat(gateway.url, user="nc"), lambda: chat(gateway.url, user="nc"), fakes)
    before = len(fakes["openai"].requests)
    bypass = chat(gateway.url, user="nc", headers={"cache-control": "no-cache"})
    assert bypass.headers["x-llm-router-cache"] == "bypass"
    assert len(fakes["openai"].requests) == before + 1


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("bad", [
    Reply(status=500),
    Reply(finish="length"),
    Reply(cut_after=2),
    Reply(inband_error_after=2),
])
def test_failures_and_truncations_are_never_stored(gateway, fakes, bad, stream):
    if not stream and (bad.cut_after or bad.inband_error_after):
        bad = Reply(malformed=True)
    marker = f"never-{id(bad)}-{stream}"
    fakes["openai"].enqueue(bad)
    chat(gateway.url, stream=stream, user=marker)
    fakes["openai"].enqueue(Reply(text="fresh"))
    # Had the bad answer been kept, this would be a hit: it is a miss that reaches the upstream.
    again = chat(gateway.url, stream=stream, user=marker)
    assert again.headers["x-llm-router-cache"] == "miss"
    assert text_of(again) == "fresh"
    assert len(fakes["openai"].requests) == 2


def test_entries_expire_after_their_ttl(gateway, fakes):
    hit_after(lambda: chat(gateway.url, "brief"), lambda: chat(gateway.url, "brief"), fakes)
    until(lambda: chat(gateway.url, "brief").headers["x-llm-router-cache"] == "miss", seconds=3)


def test_errors_carry_the_header_and_metrics_count(gateway, fakes):
    fakes["openai"].enqueue(Reply(status=400))
    refused = chat(gateway.url, user="error")
    assert refused.status_code == 400 and refused.headers["x-llm-router-cache"] == "miss"
    hit_after(lambda: chat(gateway.url, user="metrics"), lambda: chat(gateway.url, user="metrics"), fakes)
    text = httpx.get(gateway.url + "/metrics").text
    assert 'llm_router_cache_requests_total{result="hit",route="cached",surface="openai"}' in text
    assert 'llm_router_cache_bytes_total{direction="served",route="cached"}' in text
    assert "llm_router_cache_saved_usd_total" in text
    stored = next(line for line in text.splitlines() if line.startswith("llm_router_cache_stored_bytes"))
    assert float(stored.split()[-1]) > 0
    assert CANARY["openai"] not in text
