"""Several ``llm-router serve`` processes for the scale-out tests: started together, each
on its own port with its own log, stopped (SIGTERM) or killed (SIGKILL) one by one, and a
fresh PostgreSQL database they share (the real server must be up: no skip)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from tests.gateway_process import free_port
from tests.storage.db import POSTGRES_URL

ADMIN_KEY = "admin-" + "r" * 40


@dataclass
class Replica:
    """One gateway process."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lr-replica-")))
    process: subprocess.Popen[bytes] | None = None
    args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "gateway.log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        """Start the process (does not wait)."""
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **self.env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "llm_router", "serve", "--port", str(self.port), *self.args],
                cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30) -> None:
        """Until ``/ready`` answers 200."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"replica exited during start-up:\n{self.log_text()}")
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"replica not ready:\n{self.log_text()}")

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, timeout: float = 40) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise


@contextmanager
def replicas(env: dict[str, str], count: int, args: tuple[str, ...] = ()) -> Iterator[list[Replica]]:
    """``count`` replicas with the same environment, all ready; stopped afterwards."""
    group = [Replica(dict(env), args=args) for _ in range(count)]
    try:
        for replica in group:
            replica.start()
        for replica in group:
            replica.wait_ready()
        yield group
    finally:
        for replica in group:
            if replica.process is not None and replica.process.poll() is None:
                replica.process.terminate()
        for replica in group:
            if replica.process is not None:
                try:
                    replica.process.wait(15)
                except subprocess.TimeoutExpired:
                    replica.kill()


async def _admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """The URL of a new database on the real PostgreSQL, dropped afterwards."""
    name = f"lr_scale_{secrets.token_hex(4)}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def query(database: str, *statements: str) -> list[list[asyncpg.Record]]:
    """The rows of each ``SELECT`` on ``database``, in one connection."""
    async def run() -> list[list[asyncpg.Record]]:
        connection = await asyncpg.connect(database)
        try:
            return [await connection.fetch(statement) for statement in statements]
        finally:
            await connection.close()
    return asyncio.run(run())


def admin_client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
