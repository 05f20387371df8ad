"""The request line's direct path to the log writer (no LogRecord): the same line as the
logging path, in the same order as other records, and only where nothing else would see it."""

from __future__ import annotations

import io
import json
import logging
import queue
import time
from typing import Any

import httpx

from llm_router.messages import Usage
from llm_router.observability.logs import JSONFormatter, Line, _HandOff, _Writer, direct_hand_off
from llm_router.observability.observer import REQUEST_LINE
from llm_router.observability.state import RequestState
from llm_router.observability.usage import UsageRecord, build_record
from tests.conftest import CANARY, provider_env
from tests.fakes import Reply
from tests.gateway_process import run_gateway


def a_record() -> UsageRecord:
    state = RequestState("req-9", "openai", route="smart", deployment="openai-main", provider="openai",
                         model="gpt-4.1-mini", usage=Usage(100, 20, 5))
    return build_record(state, 200, 0.00012, state.started + 0.25)


def args(record: UsageRecord) -> tuple[object, ...]:
    return (record.request_id, record.surface, record.status, record.route, record.deployment,
            record.attempts, record.input_tokens, record.output_tokens, record.cost_usd, record.latency,
            record.error_type)


def written(json_format: bool, items: list[logging.LogRecord | Line]) -> list[str]:
    """What the writer thread's drain writes for ``items`` (formatted as setup_logging does)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter() if json_format else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord | Line] = queue.SimpleQueue()
    for item in items:
        records.put(item)
    _Writer(records, handler, json=json_format).drain()
    return stream.getvalue().splitlines()


def as_log_record(record: UsageRecord, created: float, extra: dict[str, object] | None = None) -> logging.LogRecord:
    made = logging.getLogger("llm_router.request").makeRecord(
        "llm_router.request", logging.INFO, "observer.py", 1, REQUEST_LINE, args(record), None,
        extra=extra or record.as_dict())
    made.created, made.msecs = created, int((created - int(created)) * 1000) + 0.0
    return made


def test_a_queued_line_is_the_line_the_formatter_writes_json_and_text() -> None:
    record = a_record()
    created = time.time()
    line = Line(created, logging.INFO, "llm_router.request", REQUEST_LINE, args(record), record)
    for json_format in (True, False):
        direct, logged = written(json_format, [line, as_log_record(record, created)])
        assert direct == logged
    content = record.as_dict() | {"prompt": "the prompt", "completion": "the answer"}  # log_content on
    with_content = line._replace(fields=content)
    direct, logged = written(True, [with_content, as_log_record(record, created, content)])
    assert direct == logged and json.loads(direct)["completion"] == "the answer"
    entry = json.loads(written(True, [line])[0])
    assert list(entry)[:4] == ["time", "level", "logger", "message"]
    assert entry["request_id"] == "req-9" and entry["cost_usd"] == 0.00012 and entry["input_tokens"] == 100
    assert list(entry)[4:] == list(record.as_dict())


def test_lines_and_records_leave_in_the_order_they_were_queued() -> None:
    record = a_record()
    first = logging.LogRecord("llm_router", logging.WARNING, "x.py", 1, "first", None, None)
    last = logging.LogRecord("llm_router", logging.WARNING, "x.py", 1, "last", None, None)
    line = Line(time.time(), logging.INFO, "llm_router.request", REQUEST_LINE, args(record), record)
    messages = [json.loads(text)["message"] for text in written(True, [first, line, last])]
    assert messages[0] == "first" and messages[1].startswith("request req-9 openai") and messages[2] == "last"


def test_the_direct_path_is_taken_only_when_the_hand_off_is_the_only_reader() -> None:
    root, logger = logging.getLogger(), logging.getLogger("llm_router.request")
    saved, level = root.handlers[:], root.level
    hand_off = _HandOff(queue.SimpleQueue())
    hand_off.writer = _Writer(queue.SimpleQueue(), logging.StreamHandler(io.StringIO()))
    try:
        root.handlers[:] = [hand_off]
        root.setLevel(logging.INFO)
        assert direct_hand_off(logger, logging.INFO) is hand_off
        assert direct_hand_off(logger, logging.DEBUG) is None  # below the level: not logged at all
        root.addHandler(logging.StreamHandler(io.StringIO()))  # e.g. pytest's caplog
        assert direct_hand_off(logger, logging.INFO) is None
        root.handlers[:] = [hand_off]
        hand_off.setLevel(logging.WARNING)
        assert direct_hand_off(logger, logging.INFO) is None
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def test_the_served_gateway_writes_the_request_line_without_secrets(fakes: dict[str, Any]) -> None:
    with run_gateway(provider_env(fakes), in_process=False) as gateway:
        fakes["openai"].enqueue(Reply(text="answer words", input_tokens=12, output_tokens=3))
        body = {"model": "openai", "messages": [{"role": "user", "content": "prompt words"}]}
        response = httpx.post(gateway.url + "/v1/chat/completions", json=body,
                              headers={"x-request-id": "direct-1"}, timeout=10)
        assert response.status_code == 200
        deadline = time.monotonic() + 10  # the writer writes in batches: poll for the line
        lines: list[dict[str, object]] = []
        while not lines and time.monotonic() < deadline:
            lines = [json.loads(text) for text in gateway.log_text().splitlines()
                     if text.startswith("{") and '"direct-1"' in text]
            time.sleep(0.02)
        log = gateway.log_text()
    assert len(lines) == 1
    entry = lines[0]
    assert entry["logger"] == "llm_router.request" and entry["level"] == "INFO"
    assert entry["status"] == 200 and entry["input_tokens"] == 12 and entry["output_tokens"] == 3
    assert str(entry["message"]).startswith("request direct-1 openai status=200")
    assert '"logger":"uvicorn.access"' not in log  # serve runs uvicorn with access_log=False
    assert "prompt words" not in log and "answer words" not in log
    assert all(key not in log for key in CANARY.values())
