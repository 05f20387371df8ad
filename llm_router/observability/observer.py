"""The Observer: turns each finished request into a usage record, metrics, a log line
and (optionally) a trace. Called once per request, when its response is over."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from llm_router.config.deployment import Price
from llm_router.observability.logs import direct_hand_off
from llm_router.observability.metrics import Metrics
from llm_router.observability.pricing import PriceTable
from llm_router.observability.state import RequestState
from llm_router.observability.tracing import Tracer
from llm_router.observability.usage import UsageLedger, UsageRecord, UsageSink, build_record

request_log = logging.getLogger("llm_router.request")
REQUEST_LINE = ("request %s %s status=%d route=%s deployment=%s attempts=%d tokens=%d/%d cost=%s "
                "latency=%.3fs error=%s")


class Observer:
    """Fans one finished request out to metrics, the usage sinks, the log and traces."""

    def __init__(self, metrics: Metrics, prices: PriceTable, ledger: UsageLedger,
                 deployment_price: Callable[[str], Price | None],
                 circuit_state: Callable[[str], str], tracer: Tracer | None = None,
                 log_content: bool = False, sinks: tuple[UsageSink, ...] = ()) -> None:
        self.metrics = metrics
        self.prices = prices
        self.ledger = ledger
        self.deployment_price = deployment_price
        self.circuit_state = circuit_state
        self.tracer = tracer
        self.log_content = log_content
        self.sinks = (ledger, *sinks)

    def start(self, state: RequestState) -> None:
        """A request began."""
        self.metrics.request_started(state.surface)

    def cost_of(self, state: RequestState) -> float | None:
        """The request's cost in USD from its usage and the price table, if known (0 for an
        answer from the response cache)."""
        return 0.0 if state.cache == "hit" else self.priced(state)

    def priced(self, state: RequestState) -> float | None:
        """What the request's usage costs at the price table's rates, if known."""
        if state.usage is None or state.deployment is None:
            return None
        price = self.prices.lookup(state.model, self.deployment_price(state.deployment))
        return self.prices.cost(price, state.usage)

    def finish(self, state: RequestState, status: int) -> UsageRecord:
        """A request ended (its whole body sent, or the client gone)."""
        now = time.monotonic()
        self.metrics.request_ended(state.surface)
        cost = self.cost_of(state)
        saved = self.priced(state) if state.cache == "hit" else None
        record = build_record(state, status, cost, now, saved)
        self.metrics.observe(state, status, cost, now - state.started, saved)
        for attempt in {a.deployment for a in state.attempts}:
            self.metrics.set_circuit(attempt, self.circuit_state(attempt))
        for sink in self.sinks:
            sink.add(record)
        self._log(state, record)
        if self.tracer is not None:
            self.tracer.export(state, record, now)
        return record

    def _log(self, state: RequestState, record: UsageRecord) -> None:
        level = logging.WARNING if record.status >= 500 else logging.INFO
        if not request_log.isEnabledFor(level):
            return
        fields: UsageRecord | dict[str, object] = record
        if self.log_content:
            fields = record.as_dict() | {"prompt": state.prompt, "completion": "".join(state.completion)}
        args = (record.request_id, record.surface, record.status, record.route, record.deployment,
                record.attempts, record.input_tokens, record.output_tokens, record.cost_usd,
                record.latency, record.error_type)
        hand_off = direct_hand_off(request_log, level)
        if hand_off is not None:  # the usual case: a line for the writer thread, no LogRecord
            hand_off.put_line(level, request_log.name, REQUEST_LINE, args, fields)
            return
        extra = fields if isinstance(fields, dict) else fields.as_dict()
        request_log.log(level, REQUEST_LINE, *args, extra=extra)
