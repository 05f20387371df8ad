"""Redis for the scale-out tests: the shared server (127.0.0.1:6379, a key prefix per test,
its keys deleted afterwards, never FLUSHALL) or a private ``redis-server`` on a free port that
a test may kill. A shared Redis that is down fails the test: it is never skipped."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from tests.gateway_process import free_port

SHARED_URL = "redis://127.0.0.1:6379/0"


def new_prefix() -> str:
    """A key prefix no other test uses."""
    return f"lr-test-{secrets.token_hex(5)}:"


def delete_prefix(url: str, prefix: str) -> None:
    """Remove every key under ``prefix`` (SCAN + DEL; nothing else is touched)."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextmanager
def shared_prefix() -> Iterator[str]:
    """A fresh prefix on the shared Redis, cleaned up afterwards."""
    redis.Redis.from_url(SHARED_URL).ping()  # down: the test fails here
    prefix = new_prefix()
    try:
        yield prefix
    finally:
        delete_prefix(SHARED_URL, prefix)


@dataclass
class PrivateRedis:
    """A ``redis-server`` of the test's own."""

    port: int
    process: subprocess.Popen[bytes]
    folder: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        """Stop it hard (as a crash would)."""
        self.process.kill()
        self.process.wait(10)

    def start(self) -> None:
        """(Re)start it on the same port, empty."""
        binary = shutil.which("redis-server") or "redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.folder, "--enable-debug-command", "local"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A private Redis on a free port, stopped afterwards."""
    server = PrivateRedis(free_port(), None, tempfile.mkdtemp(prefix="lr-redis-"))  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.kill()
