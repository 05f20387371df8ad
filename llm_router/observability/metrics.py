"""Prometheus metrics, named after the OpenTelemetry GenAI semantic conventions where
they define one (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/).

Labels are bounded: surface, route, deployment, provider, model, status class and error
type; model and route values past a cap become ``other``. Multi-worker servers use
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``)."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from llm_router.observability.state import RequestState

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
TPOT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 2.5)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
MAX_LABEL_VALUES = 200


class _Bounded:
    """Keeps a label's distinct values under a cap; later newcomers become ``other``."""

    def __init__(self, cap: int = MAX_LABEL_VALUES) -> None:
        self.cap = cap
        self.seen: set[str] = set()

    def __call__(self, value: str | None) -> str:
        value = value or "none"
        if value in self.seen:
            return value
        if len(self.seen) >= self.cap:
            return "other"
        self.seen.add(value)
        return value


class Metrics:
    """Every metric the gateway exports, in one registry owned by the app."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        target = None if self.multiprocess else self.registry
        self.model_label, self.route_label, self.deployment_label = _Bounded(), _Bounded(), _Bounded()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._define(target)

    def _define(self, r: CollectorRegistry | None) -> None:
        genai = ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"]
        self.requests = Counter("llm_router_requests_total", "Requests handled, by outcome.",
                                ["surface", "route", "status_class", "error_type"], registry=r)
        self.in_flight = Gauge("llm_router_requests_in_flight", "Requests being handled.",
                               ["surface"], registry=r, multiprocess_mode="livesum")
        self.duration = Histogram("llm_router_request_duration_seconds", "Request duration.",
                                  ["surface", "route"], buckets=DURATION_BUCKETS, registry=r)
        self.operation = Histogram("gen_ai_client_operation_duration_seconds",
                                   "GenAI operation duration (gen_ai.client.operation.duration).",
                                   [*genai, "error_type"], buckets=DURATION_BUCKETS, registry=r)
        self.ttft = Histogram("gen_ai_server_time_to_first_token_seconds",
                              "Time to first token of streams (gen_ai.server.time_to_first_token).",
                              genai, buckets=TTFT_BUCKETS, registry=r)
        self.tpot = Histogram("gen_ai_server_time_per_output_token_seconds",
                              "Time per output token after the first "
                              "(gen_ai.server.time_per_output_token).",
                              genai, buckets=TPOT_BUCKETS, registry=r)
        self.token_usage = Histogram("gen_ai_client_token_usage",
                                     "Tokens per request (gen_ai.client.token.usage).",
                                     [*genai, "gen_ai_token_type"], buckets=TOKEN_BUCKETS, registry=r)
        self.tokens = Counter("llm_router_tokens_total", "Tokens, by type (input, output, cached_input).",
                              ["provider", "model", "type"], registry=r)
        self.cost = Counter("llm_router_cost_usd_total", "Cost in USD from the price table.",
                            ["provider", "model"], registry=r)
        self.unpriced = Counter("llm_router_unpriced_requests_total",
                                "Requests whose model has no price (cost unknown).",
                                ["provider", "model"], registry=r)
        self.attempts = Counter("llm_router_upstream_attempts_total", "Upstream attempts, by result.",
                                ["deployment", "provider", "result"], registry=r)
        self.retries = Counter("llm_router_retries_total",
                               "Attempts that were retries on the same deployment.",
                               ["deployment"], registry=r)
        self.fallbacks = Counter("llm_router_fallbacks_total", "Requests answered by a later deployment.",
                                 ["route"], registry=r)
        self.sse_parse_errors = Counter("llm_router_sse_parse_errors_total",
                                        "Upstream stream events skipped because their data was not "
                                        "a JSON object.", ["provider"], registry=r)
        self.cache = Counter("llm_router_cache_requests_total",
                             "Response cache lookups, by result (hit, miss, bypass).",
                             ["surface", "route", "result"], registry=r)
        self.cache_bytes = Counter("llm_router_cache_bytes_total",
                                   "Response cache bytes, served (hit) or stored (miss).",
                                   ["route", "direction"], registry=r)
        self.cache_saved = Counter("llm_router_cache_saved_usd_total",
                                   "What the answers served from the response cache cost when made.",
                                   ["route"], registry=r)
        self.circuit = Gauge("llm_router_circuit_state",
                             "Circuit per deployment: 0 closed, 1 half-open, 2 open.",
                             ["deployment"], registry=r, multiprocess_mode="max")

    def observe(self, state: RequestState, status: int, cost: float | None, duration: float,
                saved: float | None = None) -> None:
        """Record one finished request (``saved``: the cost a cache hit saved)."""
        route = self.route_label(state.route)
        if state.cache is not None:
            self._observe_cache(state, route, saved)
        error = state.error_type or ("cancelled" if state.cancelled else "none")
        self._child(self.requests, state.surface, route, f"{status // 100}xx", error).inc()
        self._child(self.duration, state.surface, route).observe(duration)
        self._observe_attempts(state)
        if state.deployment is None:
            return
        provider, model = state.provider or "none", self.model_label(state.model)
        if state.sse_parse_errors:
            self._child(self.sse_parse_errors, provider).inc(state.sse_parse_errors)
        genai = ("chat", provider, model)
        self._child(self.operation, *genai, error).observe(duration)
        if state.streamed and state.first_token_at is not None:
            ttft = state.first_token_at - state.started
            self._child(self.ttft, *genai).observe(ttft)
            output = state.usage.output_tokens if state.usage else 0
            if output > 1:
                self._child(self.tpot, *genai).observe((duration - ttft) / (output - 1))
        if state.cache != "hit":  # a hit used no tokens and cost nothing
            self._observe_usage(state, provider, model, cost)

    def _observe_cache(self, state: RequestState, route: str, saved: float | None) -> None:
        self._child(self.cache, state.surface, route, state.cache or "none").inc()
        if state.cache_bytes:
            direction = "served" if state.cache == "hit" else "stored"
            self._child(self.cache_bytes, route, direction).inc(state.cache_bytes)
        if saved:
            self._child(self.cache_saved, route).inc(saved)

    def _observe_usage(self, state: RequestState, provider: str, model: str, cost: float | None) -> None:
        if state.usage is None:
            return
        usage = state.usage
        for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens),
                            ("cached_input", usage.cached_input_tokens)):
            self._child(self.tokens, provider, model, kind).inc(count)
            if kind != "cached_input":
                self._child(self.token_usage, "chat", provider, model, kind).observe(count)
        if cost is None:
            self._child(self.unpriced, provider, model).inc()
        else:
            self._child(self.cost, provider, model).inc(cost)

    def _observe_attempts(self, state: RequestState) -> None:
        for attempt in state.attempts:
            deployment = self.deployment_label(attempt.deployment)
            self._child(self.attempts, deployment, attempt.provider, attempt.error_type or "success").inc()
            if attempt.retry:
                self._child(self.retries, deployment).inc()
        if state.attempts and state.deployment and state.attempts[0].deployment != state.deployment:
            self._child(self.fallbacks, self.route_label(state.route)).inc()

    def _child(self, metric: Any, *values: str) -> Any:
        """The metric's child for these label values (cached: labels() is costly)."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def in_flight_child(self, surface: str) -> Any:
        """The in-flight gauge for one surface."""
        return self._child(self.in_flight, surface)

    def set_circuit(self, deployment: str, state: str) -> None:
        """Publish a deployment's circuit state."""
        self._child(self.circuit, self.deployment_label(deployment)).set(CIRCUIT_VALUES[state])

    def render(self) -> bytes:
        """The exposition text (all workers' values in multiprocess mode)."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
