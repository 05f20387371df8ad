"""Fixtures: the fakes (with the recording Anthropic one) and the anthropic SDK talking to an
in-process router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import httpx2
import pytest

from llm_router.api.app import create_app
from tests.anthropic_surface.fakes import RecordingAnthropic
from tests.api.conftest import settings_from
from tests.conftest import CANARY, provider_env

#: The model name the client sends for each upstream.
MODELS = {"openai": "openai", "anthropic": "claude-sonnet-4-6", "cohere": "cohere"}


@pytest.fixture(scope="session")
def claude_fake() -> Iterator[RecordingAnthropic]:
    fake = RecordingAnthropic(api_key=CANARY["anthropic"]).start()
    yield fake
    fake.stop()


@pytest.fixture
def upstreams(fakes: dict[str, Any], claude_fake: RecordingAnthropic) -> dict[str, Any]:
    """openai and cohere fakes, and the recording Anthropic fake; all reset."""
    claude_fake.reset()
    return {"openai": fakes["openai"], "anthropic": claude_fake, "cohere": fakes["cohere"]}


@pytest.fixture
def env(upstreams: dict[str, Any]) -> dict[str, str]:
    return provider_env(upstreams)


@asynccontextmanager
async def sdk(env: dict[str, str], api_key: str = "unused", **options: Any) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The official SDK against a fresh in-process router."""
    app = create_app(settings_from(env), None, configure_logging=False)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://router.test") as http:
        yield anthropic.AsyncAnthropic(base_url="http://router.test", api_key=api_key, http_client=http,
                                       max_retries=0, **options)
