"""P2, graceful drain of one ``llm-router serve`` process: on SIGTERM ``/ready`` is 503 at
once, a stream that ends within the grace period ends normally, one that would not gets an
explicit error event before the grace is over, every request has its ledger row, exit 0."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time

import httpx

from tests.conftest import provider_env
from tests.fakes import Reply
from tests.scaleout.replicas import ADMIN_KEY, Replica, admin_client

GRACE = 4.0


def _stream(url: str, key: str, out: dict) -> None:
    body = {"model": "openai", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    lines = []
    try:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30,
                          headers={"authorization": f"Bearer {key}"}) as answer:
            out["status"] = answer.status_code
            lines.extend(line for line in answer.iter_lines() if line)
    except httpx.HTTPError as exc:
        out["error"] = repr(exc)
    out["lines"] = lines


def _wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_sigterm_drains_streams_then_exits_zero(fakes, tmp_path):
    database = tmp_path / "ledger.db"
    env = {**provider_env(fakes), "LLM_ROUTER_STREAM_IDLE_TIMEOUT": "30", "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY,
           "LLM_ROUTER_DATABASE_URL": f"sqlite:///{database}", "LLM_ROUTER_SHUTDOWN_GRACE": str(GRACE),
           "LLM_ROUTER_DRAIN_DELAY": "1"}
    replica = Replica(env)
    replica.start()
    try:
        replica.wait_ready()
        with admin_client(replica.url) as admin:
            key = admin.post("/admin/keys", json={"name": "drain"}).json()["key"]
        fakes["openai"].enqueue(Reply(text="slow but in time", delay=1.5), Reply(text="never ends", stall_after=2))
        finishing, stalled = {}, {}
        threads = [threading.Thread(target=_stream, args=(replica.url, key, out)) for out in (finishing, stalled)]
        threads[0].start()
        _wait(lambda: len(fakes["openai"].requests) == 1)
        threads[1].start()
        _wait(lambda: len(fakes["openai"].requests) == 2)
        signalled = time.monotonic()
        replica.signal(signal.SIGTERM)
        _wait(lambda: httpx.get(replica.url + "/ready", timeout=2).status_code == 503, timeout=0.5)
        code = replica.process.wait(GRACE + 5)
        elapsed = time.monotonic() - signalled
        for thread in threads:
            thread.join(10)
    finally:
        replica.kill()
    assert code == 0, replica.log_text()
    assert elapsed < GRACE + 2.5
    assert finishing["status"] == 200 and finishing["lines"][-1] == "data: [DONE]", finishing
    assert stalled["status"] == 200, stalled
    error = json.loads(stalled["lines"][-1].removeprefix("data: "))["error"]
    assert error["code"] == "server_shutting_down"
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT status, streamed, cancelled FROM usage").fetchall()
    assert len(rows) == 2, rows
