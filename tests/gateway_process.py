"""Runs the real service (``python -m llm_router serve``) as a subprocess on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayProcess:
    """A running gateway: its base URL and its captured log."""

    url: str
    log_path: Path

    def log_text(self) -> str:
        """Everything the process has logged so far."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def run_gateway(env: dict[str, str], args: tuple[str, ...] = ()) -> Iterator[GatewayProcess]:
    """Start the gateway with exactly ``env`` (plus PATH); stop it on exit."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="llm-router-test-"))  # no stray .env here
    log_path = workdir / "gateway.log"
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **env}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llm_router", "serve", "--port", str(port), *args],
            cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
    gateway = GatewayProcess(f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_healthy(gateway, process)
        yield gateway
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_healthy(gateway: GatewayProcess, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gateway exited during start-up:\n" + gateway.log_text())
        try:
            if httpx.get(gateway.url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("gateway did not become healthy:\n" + gateway.log_text())
