"""Prometheus metrics, named after the OpenTelemetry GenAI semantic conventions where
they define one (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/).

Labels are bounded: surface, route, deployment, provider, model, status class and error
type; model and route values past a cap become ``other``. Multi-worker servers use
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from llm_router.observability.series import PlainSeries, PrometheusSeries, Series, SeriesCollector
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
    """Every metric the gateway exports, in one registry owned by the app.

    Values are kept in :class:`PlainSeries` and handed to the registry at scrape time; in
    multiprocess mode (or with ``prometheus_values``) prometheus_client's own metrics hold
    them, in the files the workers share."""

    def __init__(self, prometheus_values: bool | None = None) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()
        self.model_label, self.route_label, self.deployment_label = _Bounded(), _Bounded(), _Bounded()
        self._plain: list[PlainSeries] = []
        direct = self.multiprocess if prometheus_values is None else prometheus_values
        self._prometheus_target = None if self.multiprocess else self.registry
        self._series = self._prometheus if direct else self._plain_series
        self._define()
        if self._plain:
            self.registry.register(SeriesCollector(self._plain))

    def _plain_series(self, kind: str, name: str, documentation: str, labels: list[str],
                      buckets: tuple[float, ...] = (), mode: str = "") -> Series:
        series = PlainSeries(kind, name, documentation, labels, buckets)
        self._plain.append(series)
        return series

    def _prometheus(self, kind: str, name: str, documentation: str, labels: list[str],
                    buckets: tuple[float, ...] = (), mode: str = "") -> Series:
        r = self._prometheus_target
        if kind == "counter":
            return PrometheusSeries(Counter(name, documentation, labels, registry=r))
        if kind == "gauge":
            return PrometheusSeries(Gauge(name, documentation, labels, registry=r,
                                          multiprocess_mode=mode))  # type: ignore[arg-type]
        return PrometheusSeries(Histogram(name, documentation, labels, buckets=buckets, registry=r))

    def _define(self) -> None:
        genai = ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"]
        m = self._series
        self.requests = m("counter", "llm_router_requests_total", "Requests handled, by outcome.",
                          ["surface", "route", "status_class", "error_type"])
        self.in_flight = m("gauge", "llm_router_requests_in_flight", "Requests being handled.",
                           ["surface"], mode="livesum")
        self.duration = m("histogram", "llm_router_request_duration_seconds", "Request duration.",
                          ["surface", "route"], DURATION_BUCKETS)
        self.operation = m("histogram", "gen_ai_client_operation_duration_seconds",
                           "GenAI operation duration (gen_ai.client.operation.duration).",
                           [*genai, "error_type"], DURATION_BUCKETS)
        self.ttft = m("histogram", "gen_ai_server_time_to_first_token_seconds",
                      "Time to first token of streams (gen_ai.server.time_to_first_token).",
                      genai, TTFT_BUCKETS)
        self.tpot = m("histogram", "gen_ai_server_time_per_output_token_seconds",
                      "Time per output token after the first (gen_ai.server.time_per_output_token).",
                      genai, TPOT_BUCKETS)
        self.token_usage = m("histogram", "gen_ai_client_token_usage",
                             "Tokens per request (gen_ai.client.token.usage).",
                             [*genai, "gen_ai_token_type"], TOKEN_BUCKETS)
        self.tokens = m("counter", "llm_router_tokens_total",
                        "Tokens, by type (input, output, cached_input).", ["provider", "model", "type"])
        self.cost = m("counter", "llm_router_cost_usd_total", "Cost in USD from the price table.",
                      ["provider", "model"])
        self.unpriced = m("counter", "llm_router_unpriced_requests_total",
                          "Requests whose model has no price (cost unknown).", ["provider", "model"])
        self._define_upstream()
        self._define_cache()

    def _define_upstream(self) -> None:
        m = self._series
        self.attempts = m("counter", "llm_router_upstream_attempts_total", "Upstream attempts, by result.",
                          ["deployment", "provider", "result"])
        self.retries = m("counter", "llm_router_retries_total",
                         "Attempts that were retries on the same deployment.", ["deployment"])
        self.fallbacks = m("counter", "llm_router_fallbacks_total",
                           "Requests answered by a later deployment.", ["route"])
        self.sse_parse_errors = m("counter", "llm_router_sse_parse_errors_total",
                                  "Upstream stream events skipped because their data was not "
                                  "a JSON object.", ["provider"])

    def _define_cache(self) -> None:
        m = self._series
        self.cache = m("counter", "llm_router_cache_requests_total",
                       "Response cache lookups, by result (hit, miss, bypass).",
                       ["surface", "route", "result"])
        self.cache_bytes = m("counter", "llm_router_cache_bytes_total",
                             "Response cache bytes, served (hit) or stored (miss).", ["route", "direction"])
        self.cache_saved = m("counter", "llm_router_cache_saved_usd_total",
                             "What the answers served from the response cache cost when made.", ["route"])
        self.circuit = m("gauge", "llm_router_circuit_state",
                         "Circuit per deployment: 0 closed, 1 half-open, 2 open.", ["deployment"], mode="max")

    def observe(self, state: RequestState, status: int, cost: float | None, duration: float,
                saved: float | None = None) -> None:
        """Record one finished request (``saved``: the cost a cache hit saved)."""
        route = self.route_label(state.route)
        if state.cache is not None:
            self._observe_cache(state, route, saved)
        error = state.error_type or ("cancelled" if state.cancelled else "none")
        self.requests.inc((state.surface, route, f"{status // 100}xx", error))
        self.duration.observe((state.surface, route), duration)
        self._observe_attempts(state)
        if state.deployment is None:
            return
        provider, model = state.provider or "none", self.model_label(state.model)
        if state.sse_parse_errors:
            self.sse_parse_errors.inc((provider,), state.sse_parse_errors)
        genai = ("chat", provider, model)
        self.operation.observe((*genai, error), duration)
        if state.streamed and state.first_token_at is not None:
            ttft = state.first_token_at - state.started
            self.ttft.observe(genai, ttft)
            output = state.usage.output_tokens if state.usage else 0
            if output > 1:
                self.tpot.observe(genai, (duration - ttft) / (output - 1))
        if state.cache != "hit":  # a hit used no tokens and cost nothing
            self._observe_usage(state, provider, model, cost)

    def _observe_cache(self, state: RequestState, route: str, saved: float | None) -> None:
        self.cache.inc((state.surface, route, state.cache or "none"))
        if state.cache_bytes:
            direction = "served" if state.cache == "hit" else "stored"
            self.cache_bytes.inc((route, direction), state.cache_bytes)
        if saved:
            self.cache_saved.inc((route,), saved)

    def _observe_usage(self, state: RequestState, provider: str, model: str, cost: float | None) -> None:
        if state.usage is None:
            return
        usage = state.usage
        for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens),
                            ("cached_input", usage.cached_input_tokens)):
            self.tokens.inc((provider, model, kind), count)
            if kind != "cached_input":
                self.token_usage.observe(("chat", provider, model, kind), count)
        if cost is None:
            self.unpriced.inc((provider, model))
        else:
            self.cost.inc((provider, model), cost)

    def _observe_attempts(self, state: RequestState) -> None:
        for attempt in state.attempts:
            deployment = self.deployment_label(attempt.deployment)
            self.attempts.inc((deployment, attempt.provider, attempt.error_type or "success"))
            if attempt.retry:
                self.retries.inc((deployment,))
        if state.attempts and state.deployment and state.attempts[0].deployment != state.deployment:
            self.fallbacks.inc((self.route_label(state.route),))

    def request_started(self, surface: str) -> None:
        """One more request in flight on ``surface``."""
        self.in_flight.inc((surface,))

    def request_ended(self, surface: str) -> None:
        """One request fewer in flight on ``surface``."""
        self.in_flight.dec((surface,))

    def set_circuit(self, deployment: str, state: str) -> None:
        """Publish a deployment's circuit state."""
        self.circuit.set((self.deployment_label(deployment),), CIRCUIT_VALUES[state])

    def render(self) -> bytes:
        """The exposition text (all workers' values in multiprocess mode)."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
