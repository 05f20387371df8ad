"""The metrics kept in plain dicts expose exactly what prometheus_client's own metrics would."""

from __future__ import annotations

import re

from prometheus_client import generate_latest

from llm_router.messages import Usage
from llm_router.observability.metrics import Metrics
from llm_router.observability.state import AttemptRecord, RequestState


def states() -> list[tuple[RequestState, int, float | None]]:
    """A success, a stream, a fallback after retries, a cache hit, an error and a cancel."""
    ok = RequestState("a", "openai", route="r1", deployment="d1", provider="openai", model="m1",
                      usage=Usage(100, 20, 40))
    ok.attempts = [AttemptRecord("d1", "openai", "m1", ok.started, ok.started + 0.1)]
    stream = RequestState("b", "anthropic", route="r2", deployment="d2", provider="anthropic", model="m2",
                          streamed=True, first_token_at=0.0, usage=Usage(5, 9, 0))
    stream.first_token_at = stream.started + 0.03
    fallback = RequestState("c", "openai", route="r2", deployment="d1", provider="openai", model="m1",
                            usage=Usage(3, 4, 0), sse_parse_errors=2)
    fallback.attempts = [AttemptRecord("d2", "anthropic", "m2", 0, 0, "upstream_server_error"),
                         AttemptRecord("d2", "anthropic", "m2", 0, 0, "upstream_server_error", retry=True),
                         AttemptRecord("d1", "openai", "m1", 0, 0)]
    hit = RequestState("d", "openai", route="r1", deployment="d1", provider="openai", model="m1",
                       usage=Usage(100, 20, 0), cache="hit", cache_bytes=512)
    miss = RequestState("e", "openai", route="r1", deployment="d1", provider="openai", model="m1",
                        usage=Usage(1, 2, 0), cache="miss", cache_bytes=256)
    error = RequestState("f", "openai", error_type="invalid_request_error")
    cancelled = RequestState("g", "openai", route="r1", deployment="d1", provider="openai", model="m1",
                             cancelled=True)
    return [(ok, 200, 0.00012), (stream, 200, None), (fallback, 200, 0.5), (hit, 200, 0.0),
            (miss, 200, 1e-7), (error, 400, None), (cancelled, 200, None)]


def exposition(metrics: Metrics) -> str:
    """The exposition after the same requests, ``_created`` values blanked."""
    for surface in ("openai", "anthropic", "openai"):
        metrics.request_started(surface)
    metrics.request_ended("openai")
    for n, (state, status, cost) in enumerate(states()):
        metrics.observe(state, status, cost, 0.004 * 10 ** (n % 5), saved=0.25 if state.cache == "hit" else None)
    metrics.set_circuit("d2", "open")
    metrics.set_circuit("d1", "closed")
    text = generate_latest(metrics.registry).decode()
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 T", text)  # when each series began: differs


def test_plain_series_expose_what_prometheus_client_would() -> None:
    plain, reference = exposition(Metrics()), exposition(Metrics(prometheus_values=True))
    assert plain == reference
    assert 'llm_router_requests_total{error_type="none",route="r1",status_class="2xx",surface="openai"} 3.0' \
        in plain
    assert 'llm_router_fallbacks_total{route="r2"} 1.0' in plain
    assert 'llm_router_upstream_attempts_total{deployment="d2",provider="anthropic",result="upstream_server_error"}' \
        ' 2.0' in plain
    assert 'llm_router_request_duration_seconds_bucket{le="+Inf",route="r1",surface="openai"} 4.0' in plain
    assert 'llm_router_requests_in_flight{surface="openai"} 1.0' in plain
    assert "llm_router_requests_created{" in plain
