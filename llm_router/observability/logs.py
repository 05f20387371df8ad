"""Logging set-up: JSON lines by default (or plain text), one line per request."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import threading
import time
from typing import Any, NamedTuple

import orjson

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# uvicorn's records carry a copy of the message with ANSI colour codes: never written.
_DROPPED = {"color_message"}


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
            if key not in _RESERVED and key not in _DROPPED:
                entry[key] = value
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _, status = record.args  # uvicorn's access line, as fields
            entry.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class Line(NamedTuple):
    """A log line queued without a LogRecord (the request line, once per request): the writer
    formats it as the formatter would have (same fields, same order). ``fields``: what the
    ``extra`` of the record would have been, a dataclass or a dict (orjson writes either)."""

    created: float
    levelno: int
    name: str
    msg: str
    args: tuple[object, ...]
    fields: object


class _HandOff(logging.handlers.QueueHandler):
    """Puts records on a queue without formatting them: formatting and the write to
    stderr happen on the writer's thread, off the event loop."""

    writer: _Writer | None = None

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record

    def put_line(self, levelno: int, name: str, msg: str, args: tuple[object, ...], fields: object) -> None:
        """Queue one line for the writer, skipping the LogRecord (see :func:`direct_hand_off`)."""
        self.queue.put_nowait(Line(time.time(), levelno, name, msg, args, fields))  # type: ignore[union-attr]


def direct_hand_off(logger: logging.Logger, levelno: int) -> _HandOff | None:
    """The hand-off a record from ``logger`` at ``levelno`` would reach, when that is the one
    place it would go (no handler or filter on the way, only our hand-off on the root, which
    lets the level through): its line may then be queued directly. None: log as usual."""
    if logger.filters or not logger.isEnabledFor(levelno):
        return None
    node = logger
    while node.parent is not None:
        if node.handlers or not node.propagate:
            return None
        node = node.parent
    handlers = node.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if type(handler) is not _HandOff or handler.filters or levelno < handler.level or handler.writer is None:
        return None
    return handler


class _LineFormat:
    """Formats a :class:`Line` exactly as :class:`JSONFormatter` (``json``) or the text
    formatter would format the LogRecord it stands for."""

    def __init__(self, json: bool) -> None:
        self.json = json
        self._second = -1
        self._stamp = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:  # strftime once a second, not once a line
            self._second = second
            fmt = "%Y-%m-%dT%H:%M:%S" if self.json else "%Y-%m-%d %H:%M:%S"
            self._stamp = time.strftime(fmt, time.localtime(created))
        return self._stamp

    def __call__(self, line: Line) -> str:
        message = line.msg % line.args if line.args else line.msg
        level = logging.getLevelName(line.levelno)
        if not self.json:
            msecs = int((line.created - int(line.created)) * 1000)
            return f"{self._time(line.created)},{msecs:03d} {level} {line.name} {message}"
        head = orjson.dumps({"time": self._time(line.created), "level": level, "logger": line.name,
                             "message": message})
        body = orjson.dumps(line.fields, default=str)
        return (head if body == b"{}" else head[:-1] + b"," + body[1:]).decode()


class _Writer(threading.Thread):
    """Formats and writes what is queued, in batches, every ``interval`` seconds.

    Waking on every record would cost the event loop a thread switch per request line
    (measured: ~12% of throughput under load); polling a few times a second costs
    nothing when idle and writes many lines at once under load."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord | Line],
                 handler: logging.StreamHandler[Any], interval: float = 0.05, json: bool = True) -> None:
        super().__init__(name="llm-router-log", daemon=True)
        self.records, self.handler, self.interval = records, handler, interval
        self.line_format = _LineFormat(json)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.drain()
        self.drain()

    def drain(self) -> None:
        """Write out everything queued so far, in order; queued lines in one write per run."""
        lines: list[str] = []
        while True:
            try:
                item = self.records.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Line):
                lines.append(self.line_format(item))
                continue
            self._write(lines)
            self.handler.handle(item)
        self._write(lines)
        self.handler.flush()

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        lines.append("")
        try:
            self.handler.stream.write(self.handler.terminator.join(lines))
        except (OSError, ValueError):  # stderr closed or broken: as logging does, carry on
            pass
        lines.clear()

    def stop(self) -> None:
        """Write what is left and end the thread."""
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=5)
        else:
            self.drain()


def setup_logging(level: str, fmt: str) -> None:
    """Configure the root logger once, at start-up: records go through a queue to a
    background thread that formats and writes them."""
    records: queue.SimpleQueue[logging.LogRecord | Line] = queue.SimpleQueue()
    # stderr is line-buffered (a write per line); this stream is not: a batch leaves in one write.
    handler = logging.StreamHandler(open(sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False))
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    writer = _Writer(records, handler, json=fmt == "json")
    writer.start()
    atexit.register(writer.stop)
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, _HandOff) and old.writer is not None:
            old.writer.stop()
    hand_off = _HandOff(records)
    hand_off.writer = writer
    root.handlers[:] = [hand_off]
    root.setLevel(level.upper())
    # uvicorn's own loggers (configured by uvicorn before the app is imported, when it is
    # run as ``uvicorn llm_router.app:app``) write through ours: JSON, access lines included.
    # uvicorn told ``access_log=False`` (``llm-router serve``, ``uvicorn --no-access-log``) leaves its
    # access logger with no handler and not propagating: it stays off (a line per request otherwise).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if name == "uvicorn.access" and not logger.handlers and not logger.propagate:
            continue
        logger.handlers[:] = []
        logger.propagate = True
