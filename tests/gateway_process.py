"""Runs the real service on a loopback port: in this process (uvicorn in a thread, so coverage
sees it and start-up is cheap) or, for what only a process can show (CLI flags such as
``--workers`` or ``--host``, packaging), as ``python -m llm_router serve`` in a subprocess."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from llm_router.api.app import create_app
from llm_router.observability.logs import JSONFormatter


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
def run_gateway(env: dict[str, str], args: tuple[str, ...] = (),
                in_process: bool | None = None) -> Iterator[GatewayProcess]:
    """Start the gateway with exactly ``env`` (plus PATH); stop it on exit. In this process
    unless ``args`` asks for something only ``llm-router serve`` does (or ``in_process=False``)."""
    if in_process is None:
        in_process = not args or (len(args) == 2 and args[0] == "--config")
    if in_process:
        with _in_thread(env, args[1] if args else None) as gateway:
            yield gateway
        return
    with _subprocess(env, args) as gateway:
        yield gateway


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Exactly ``env`` (plus PATH and HOME) in os.environ, for code that reads it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({k: saved[k] for k in ("PATH", "HOME") if k in saved}, **env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _in_thread(env: dict[str, str], config: str | None) -> Iterator[GatewayProcess]:
    from llm_router.config.settings import Settings

    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="llm-router-test-"))
    log_path = workdir / "gateway.log"
    with environment(env):
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        app = create_app(settings, config, configure_logging=False)
    logging.getLogger("llm_router").setLevel(settings.llm_router_log_level.upper())
    handler = logging.FileHandler(log_path)
    handler.setFormatter(JSONFormatter())
    logging.getLogger().addHandler(handler)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True, name=f"gateway-{port}")
    thread.start()
    gateway = GatewayProcess(f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_started(gateway, thread)
        yield gateway
    finally:
        server.should_exit = True
        thread.join(10)
        logging.getLogger().removeHandler(handler)
        handler.close()


def _wait_started(gateway: GatewayProcess, thread: threading.Thread) -> None:
    _wait_until_healthy(gateway, lambda: not thread.is_alive())


@contextmanager
def _subprocess(env: dict[str, str], args: tuple[str, ...]) -> Iterator[GatewayProcess]:
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
    _wait_until_healthy(gateway, lambda: process.poll() is not None)


def _wait_until_healthy(gateway: GatewayProcess, exited: Callable[[], bool]) -> None:
    """Poll /health (20 s at most); fail at once if the server ``exited``."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if exited():
            raise RuntimeError("gateway exited during start-up:\n" + gateway.log_text())
        try:
            if httpx.get(gateway.url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("gateway did not become healthy:\n" + gateway.log_text())
