"""Fixtures the provider tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llm_router.providers.http import UpstreamClient


@pytest.fixture
async def http() -> AsyncIterator[UpstreamClient]:
    """A started upstream client of its own for one test, closed after it."""
    client = UpstreamClient()
    await client.start()
    yield client
    await client.close()
