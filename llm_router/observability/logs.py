"""Logging set-up: JSON lines by default (or plain text), one line per request."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from typing import Any

import orjson

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _HandOff(logging.handlers.QueueHandler):
    """Puts records on a queue without formatting them: formatting and the write to
    stderr happen on the listener's thread, off the event loop."""

    listener: logging.handlers.QueueListener | None = None

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class _BatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record but flushes only when no more are waiting: under load many
    lines leave in one write."""

    def __init__(self, pending: queue.SimpleQueue[logging.LogRecord]) -> None:
        # stderr is line-buffered (a write per line); this stream is not.
        super().__init__(open(sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False))
        self.pending = pending

    def flush(self) -> None:
        if self.pending.empty():
            super().flush()

    def drain(self) -> None:
        """Write out everything buffered (at shutdown)."""
        super().flush()


def setup_logging(level: str, fmt: str) -> None:
    """Configure the root logger once, at start-up: records go through a queue to a
    background thread that formats and writes them."""
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _BatchingHandler(records)
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    listener = logging.handlers.QueueListener(records, handler)
    listener.start()

    def stop() -> None:  # at shutdown: handle what is queued, then write it out
        listener.stop()
        handler.drain()

    atexit.register(stop)
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, _HandOff) and old.listener is not None:
            old.listener.stop()
    hand_off = _HandOff(records)
    hand_off.listener = listener
    root.handlers[:] = [hand_off]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
