"""Traces (in-memory exporter), the price table and the usage ledger."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_router.config.deployment import Price
from llm_router.messages import Usage
from llm_router.observability.pricing import PriceTable
from llm_router.observability.state import AttemptRecord, RequestState
from llm_router.observability.tracing import Tracer
from llm_router.observability.usage import UsageLedger, build_record
from tests.providers.helpers import load_json


def finished_state() -> RequestState:
    state = RequestState("req-1", "openai", route="smart", deployment="openai-main", provider="openai",
                         model="gpt-4.1-mini", usage=Usage(100, 20, 0), prompt="never exported")
    t = state.started
    state.attempts = [AttemptRecord("anthropic-main", "anthropic", "claude-sonnet-4-5", t, t + 0.1,
                                    "upstream_server_error"),
                      AttemptRecord("openai-main", "openai", "gpt-4.1-mini", t + 0.1, t + 0.3)]
    return state


def test_one_span_per_request_and_one_child_per_attempt():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    state = finished_state()
    record = build_record(state, 200, 0.001, state.started + 0.35)
    Tracer(provider.get_tracer("test")).export(state, record, state.started + 0.35)
    spans = {span.name: span for span in exporter.get_finished_spans()}
    parent = spans["chat gpt-4.1-mini"]
    assert parent.attributes["gen_ai.operation.name"] == "chat"
    assert parent.attributes["gen_ai.usage.input_tokens"] == 100
    assert parent.attributes["gen_ai.provider.name"] == "openai"
    failed, ok = spans["attempt anthropic-main"], spans["attempt openai-main"]
    assert failed.parent.span_id == parent.context.span_id == ok.parent.span_id
    assert failed.attributes["error.type"] == "upstream_server_error"
    assert abs((ok.end_time - ok.start_time) / 1e9 - 0.2) < 0.01
    assert abs((parent.end_time - parent.start_time) / 1e9 - 0.35) < 0.01
    assert all("never exported" not in str(s.attributes) for s in spans.values())


def test_tracing_is_off_and_not_imported_without_the_endpoint(monkeypatch):
    import subprocess
    import sys

    # FastAPI itself imports opentelemetry-api when present; we must not load the SDK.
    code = ("import sys; from llm_router.api.app import create_app; create_app(); "
            "print('opentelemetry.sdk' in sys.modules)")
    env = {"PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("payload, model, expected", [
    # OpenAI: 82 prompt tokens of which 64 cached, 17 output, gpt-4o prices 2.50 / 1.25 / 10.00
    ("openai/response_tool_calls.json", "gpt-4o-2024-08-06", (18 * 2.50 + 64 * 1.25 + 17 * 10.00) / 1e6),
    # Anthropic: 377 + 20 written + 100 read; 65 out; claude-sonnet-4 3.00 / 0.30 / 15.00
    ("anthropic/response_tool_use.json", "claude-sonnet-4-20250514", (397 * 3.00 + 100 * 0.30 + 65 * 15.00) / 1e6),
])
def test_cost_from_realistic_payloads_with_cached_tokens(payload, model, expected):
    from llm_router.providers.anthropic import translate as anthropic
    from llm_router.providers.openai import translate as openai

    body = load_json(payload)
    module = openai if payload.startswith("openai") else anthropic
    usage = module.response_from_body(body).usage
    table = PriceTable()
    assert table.cost(table.lookup(model), usage) == pytest.approx(expected)


def test_unknown_model_has_no_cost_and_overrides_win():
    table = PriceTable({"my-model": Price(1.0, 2.0)})
    assert table.lookup("nobody-knows") is None
    assert table.cost(None, Usage(10, 10)) is None
    assert table.cost(table.lookup("my-model"), Usage(1_000_000, 0)) == pytest.approx(1.0)
    assert table.lookup("gpt-4.1", explicit=Price(9, 9)) == Price(9, 9)
    for _ in range(2):  # the second look-up is the remembered prefix match: the same answer
        assert table.lookup("gpt-4.1-mini-2025-04-14") == table.prices["gpt-4.1-mini"], "dated snapshot"
        assert table.lookup("nobody-knows-2025") is None
    assert table.checked == "2026-11-25"


def test_ledger_groups_and_stays_bounded():
    ledger = UsageLedger(retention=3600, max_rows=50)
    now = time.time()
    for i in range(500):
        state = RequestState(f"r{i}", "chat", route="smart", deployment="d", provider="openai",
                             model=f"m{i % 3}", usage=Usage(10, 5))
        state.started_at = now - 6000 + 12 * i
        ledger.add(build_record(state, 200, 0.5, state.started))
    assert len(ledger.rows) <= 50
    by_provider = ledger.totals(600, "provider", now=now)
    assert by_provider[0]["provider"] == "openai" and by_provider[0]["requests"] > 0
    assert by_provider[0]["input_tokens"] == 10 * by_provider[0]["requests"]
