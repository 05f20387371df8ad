"""``llm-router keys|teams|usage|db`` against a real HTTP server on 127.0.0.1 (the harness
app under uvicorn, in a thread), SQLite database."""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from llm_router.admin_cli import parse_budget, parse_window
from llm_router.admin_plane import build_admin_plane
from llm_router.cli import main
from tests.admin.harness import ADMIN_KEY, make_app, settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        plane = build_admin_plane(settings(f"sqlite:///{Path(folder) / 'cli.db'}"))
        app = make_app(plane)

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await plane.start()
            yield
            await plane.close()

        app.router.lifespan_context = lifespan
        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not srv.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
        srv.should_exit = True
        thread.join(10)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_and_teams_from_the_cli(server, capsys, monkeypatch):
    monkeypatch.setenv("LLM_ROUTER_ADMIN_KEY", ADMIN_KEY)
    code, out, _ = run(capsys, "teams", "create", "--name", "T", "--budget", "500/month", "--url", server)
    assert code == 0 and "$500/month" in out
    code, out, _ = run(capsys, "keys", "create", "--name", "alice", "--team", "T", "--models", "smart,fast",
                       "--budget", "50/month", "--rpm", "60", "--tpm", "100000", "--url", server, "--json")
    created = json.loads(out)
    assert code == 0 and created["models"] == ["smart", "fast"] and created["limits"]["rpm"] == 60
    assert created["budget"] == {"max_usd": 50.0, "period": "month"} and created["team_id"].startswith("team_")
    secret = created["key"]
    response = httpx.post(f"{server}/v1/echo", json={"model": "smart", "cost_usd": 0.01},
                          headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    code, out, _ = run(capsys, "keys", "list", "--url", server)
    assert code == 0 and "alice" in out and secret not in out and created["key_display"] in out
    code, out, _ = run(capsys, "keys", "show", created["id"], "--url", server)
    assert code == 0 and "0.01" in out
    code, out, _ = run(capsys, "usage", "--by", "key", "--window", "1d", "--url", server)
    assert code == 0 and created["id"] in out
    code, out, _ = run(capsys, "teams", "list", "--url", server, "--json")
    assert [t["name"] for t in json.loads(out)["data"]] == ["T"]
    code, out, _ = run(capsys, "keys", "revoke", created["id"], "--url", server)
    assert code == 0
    assert httpx.post(f"{server}/v1/echo", json={}, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    code, _, err = run(capsys, "keys", "show", "key_nope", "--url", server)
    assert code == 1 and "404" in err


def test_cli_errors_are_messages(server, capsys, monkeypatch):
    monkeypatch.delenv("LLM_ROUTER_ADMIN_KEY", raising=False)
    code, _, err = run(capsys, "keys", "list", "--url", server)
    assert code == 1 and "LLM_ROUTER_ADMIN_KEY" in err
    monkeypatch.setenv("LLM_ROUTER_ADMIN_KEY", "wrong" * 10)
    code, _, err = run(capsys, "keys", "list", "--url", server)
    assert code == 1 and "401" in err
    monkeypatch.setenv("LLM_ROUTER_ADMIN_KEY", ADMIN_KEY)
    code, _, err = run(capsys, "keys", "list", "--url", f"http://127.0.0.1:{free_port()}")
    assert code == 1 and "cannot reach" in err


def test_db_upgrade(capsys, tmp_path):
    code, out, _ = run(capsys, "db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert code == 0 and "latest revision" in out and (tmp_path / "x.db").exists()
    code, _, err = run(capsys, "db", "upgrade", "--database-url", "mysql://x/y")
    assert code == 1 and "unsupported" in err


@pytest.mark.parametrize(("text", "seconds"), [("1d", 86400), ("12h", 43200), ("30m", 1800), ("90", 90),
                                               ("1w", 604800)])
def test_window(text, seconds):
    assert parse_window(text) == seconds


def test_budget():
    assert parse_budget("50/month") == {"max_usd": 50.0, "period": "month"}
    assert parse_budget("$0.5/day") == {"max_usd": 0.5, "period": "day"}
    assert parse_budget("10") == {"max_usd": 10.0, "period": "month"}
