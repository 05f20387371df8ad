"""In-process fixtures: the real application over httpx's ASGI transport (no subprocess),
configured from an environment dictionary, against the loopback fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from llm_router.api.app import create_app
from llm_router.config.settings import Settings
from tests.conftest import provider_env
from tests.gateway_process import environment

AppFactory = Callable[..., "asynccontextmanager[httpx.AsyncClient]"]


def settings_from(env: dict[str, str]) -> Settings:
    """Settings read from ``env`` only (no .env file)."""
    with environment(env):
        return Settings(_env_file=None)  # type: ignore[call-arg]


@asynccontextmanager
async def app_client(env: dict[str, str], root_path: str = "",
                     config_path: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to a fresh in-process app built from ``env``."""
    with environment(env):  # the admin plane reads its settings while the app is built
        app = create_app(settings_from(env), config_path, configure_logging=False)
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://router.test") as client:
            yield client


@pytest.fixture
def env(fakes: dict[str, object], tmp_path: Path) -> dict[str, str]:
    """The environment pointing at the three fakes (canary keys); a database of its own."""
    env = provider_env(fakes)  # type: ignore[arg-type]
    env["LLM_ROUTER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'router.db'}"
    return env
