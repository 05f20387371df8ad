"""Optional OpenTelemetry tracing: on when OTEL_EXPORTER_OTLP_ENDPOINT is set and the
``otel`` extra is installed. One span per request, a child span per upstream attempt,
GenAI semantic-convention attributes, no content. Otherwise nothing is imported."""

from __future__ import annotations

import logging
import os
from typing import Any

from llm_router.observability.state import RequestState
from llm_router.observability.usage import UsageRecord

log = logging.getLogger("llm_router.tracing")


class Tracer:
    """Emits spans for finished requests with their real start and end times."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def export(self, state: RequestState, record: UsageRecord, ended: float) -> None:
        """Create the request span and its attempt spans (``ended``: monotonic seconds)."""

        def wall_ns(monotonic: float) -> int:
            return int((state.started_at + monotonic - state.started) * 1e9)

        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": record.provider or "",
            "gen_ai.request.model": record.model or "", "gen_ai.usage.input_tokens": record.input_tokens,
            "gen_ai.usage.output_tokens": record.output_tokens, "llm_router.request_id": record.request_id,
            "llm_router.route": record.route or "", "http.response.status_code": record.status,
        }
        if record.error_type:
            attributes["error.type"] = record.error_type
        span = self.tracer.start_span(f"chat {record.model or ''}".strip(), attributes=attributes,
                                      start_time=wall_ns(state.started))
        from opentelemetry import trace

        context = trace.set_span_in_context(span)
        for attempt in state.attempts:
            child_attributes: dict[str, Any] = {
                "gen_ai.provider.name": attempt.provider, "gen_ai.request.model": attempt.model,
                "llm_router.deployment": attempt.deployment, "llm_router.retry": attempt.retry,
                "llm_router.possibly_billed": attempt.possibly_billed}
            if attempt.error_type:
                child_attributes["error.type"] = attempt.error_type
            child = self.tracer.start_span(f"attempt {attempt.deployment}", context=context,
                                           start_time=wall_ns(attempt.started), attributes=child_attributes)
            child.end(end_time=wall_ns(attempt.ended or ended))
        span.end(end_time=wall_ns(ended))


def tracer_from_environment() -> Tracer | None:
    """A Tracer exporting over OTLP/HTTP, or None when tracing is off or not installed."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        from llm_router.distribution import install_command

        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is not installed: %s",
                    install_command("otel"))
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": "llm-router"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracer(provider.get_tracer("llm_router"))
