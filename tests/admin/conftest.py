from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from llm_router.admin_plane import AdminPlane
from tests.admin.harness import running_plane
from tests.storage.db import BACKENDS


@pytest.fixture(params=BACKENDS)
async def plane(request: pytest.FixtureRequest) -> AsyncIterator[tuple[AdminPlane, httpx.AsyncClient]]:
    async with running_plane(request.param) as pair:
        yield pair


@pytest.fixture
async def client(plane: tuple[AdminPlane, httpx.AsyncClient]) -> httpx.AsyncClient:
    return plane[1]
