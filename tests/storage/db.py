"""Fresh databases for tests: a temp SQLite file, or a new schema on the real PostgreSQL
(127.0.0.1:5432, database ``test``; override with LLM_ROUTER_TEST_DATABASE_URL). A PostgreSQL
that is down fails the test: it is never skipped."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.storage.engine import make_engine, upgrade

BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL = os.environ.get("LLM_ROUTER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def database_url(backend: str) -> AsyncIterator[tuple[str, str | None]]:
    """(URL, schema) of an empty database, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="llm-router-db-") as folder:
            yield f"sqlite:///{Path(folder) / 'test.db'}", None
        return
    schema = f"lr_test_{secrets.token_hex(6)}"
    admin = make_engine(POSTGRES_URL)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.commit()
        yield POSTGRES_URL, schema
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.commit()
        await admin.dispose()


@asynccontextmanager
async def migrated_engine(backend: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated database."""
    async with database_url(backend) as (url, schema):
        engine = make_engine(url, schema=schema)
        try:
            await upgrade(engine)
            yield engine
        finally:
            await engine.dispose()
