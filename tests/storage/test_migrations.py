"""Schema migrations on SQLite and PostgreSQL: idempotent, in step with the models, and
safe when replicas start together (PostgreSQL advisory lock)."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.errors import ConfigError
from llm_router.storage.engine import alembic_config, async_url, downgrade, make_engine, upgrade
from llm_router.storage.models import Base
from tests.storage.db import database_url


@pytest.mark.parametrize(("raw", "driver"), [
    ("sqlite:///./llm-router.db", "sqlite+aiosqlite"),
    ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite"),
    ("postgresql://u:p@db:5432/x", "postgresql+asyncpg"),
    ("postgres://u@db/x", "postgresql+asyncpg"),
    ("postgresql+asyncpg://u@db/x", "postgresql+asyncpg"),
])
def test_url_scheme_is_translated_to_the_async_driver(raw, driver):
    assert async_url(raw).drivername == driver


@pytest.mark.parametrize("raw", ["mysql://u@db/x", "not a url", "postgresql+psycopg2://u@db/x"])
def test_unsupported_url_is_a_config_error(raw):
    with pytest.raises(ConfigError):
        async_url(raw)


def _diff(connection) -> list:
    return compare_metadata(MigrationContext.configure(connection), Base.metadata)


async def test_migrated_schema_matches_the_models(engine: AsyncEngine):
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_upgrade_is_idempotent_and_downgrade_empties(engine: AsyncEngine):
    await upgrade(engine)
    await downgrade(engine, "base")
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await upgrade(engine)
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_replicas_migrating_together_take_turns(backend):
    """PostgreSQL: advisory lock; SQLite: a lock file beside the database."""
    async with database_url(backend) as (url, schema):
        engines = [make_engine(url, schema=schema) for _ in range(3)]
        try:
            await asyncio.gather(*(upgrade(e) for e in engines))
            async with engines[0].connect() as conn:
                assert await conn.run_sync(_diff) == []
        finally:
            for e in engines:
                await e.dispose()
