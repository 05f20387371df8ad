"""What start-up imports (issue 20, idle RSS): a fresh interpreter builds and starts the app as
``llm-router serve`` does (``drained_app``, then the ASGI lifespan), and reports what it imported.

With a plain environment config (provider keys only) none of the optional features' stacks may
be loaded; with ``LLM_ROUTER_ADMIN_KEY`` the admin plane's database stack must be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

STARTUP = """
import asyncio, gc, json, sys

from llm_router.drain import Drain, drained_app


async def main() -> None:
    app = drained_app(Drain.from_settings())
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    started = await outbox.get()
    report = {"started": started["type"], "frozen": gc.get_freeze_count(), "modules": sorted(sys.modules)}
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await task
    print(json.dumps(report))


asyncio.run(main())
"""

#: Imported only when their feature is configured (see the module docstring).
OPTIONAL = ("sqlalchemy", "alembic", "aiosqlite", "asyncpg", "botocore", "opentelemetry.sdk",
            "google.auth", "azure.identity", "xllamacpp", "tiktoken", "redis",
            "llm_router.admin_plane", "llm_router.storage.engine", "llm_router.storage.journal_service",
            "llm_router.storage.response_store", "llm_router.api.ui", "llm_router.providers.bedrock.aws")
ADMIN_KEY = "admin-" + "k" * 40


def start(tmp_path: Path, **extra: str) -> dict[str, object]:
    """Start the app in a clean interpreter (cwd ``tmp_path``: no ``.env``); its report."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "OPENAI_API_KEY": "sk-test",
           "ANTHROPIC_API_KEY": "sk-ant-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", **extra}
    done = subprocess.run([sys.executable, "-c", STARTUP], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["started"] == "lifespan.startup.complete", report["started"]
    return report


def loaded(report: dict[str, object], name: str) -> bool:
    modules = report["modules"]
    assert isinstance(modules, list)
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_plain_config_imports_no_optional_stack(tmp_path: Path) -> None:
    report = start(tmp_path)
    assert [name for name in OPTIONAL if loaded(report, name)] == []
    assert isinstance(report["frozen"], int) and report["frozen"] > 0, "gc.freeze after start-up"


def test_admin_key_imports_the_database_stack(tmp_path: Path) -> None:
    report = start(tmp_path, LLM_ROUTER_ADMIN_KEY=ADMIN_KEY,
                   LLM_ROUTER_DATABASE_URL=f"sqlite:///{tmp_path / 'router.db'}")
    for name in ("sqlalchemy", "alembic", "aiosqlite", "llm_router.admin_plane",
                 "llm_router.storage.response_store", "llm_router.api.ui"):
        assert loaded(report, name), name
    assert not loaded(report, "botocore") and not loaded(report, "tiktoken")
