"""Migration 0004 adds the journal's tables to a database made by 0001-0003, whether or not
an older release had already created them on first use."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from llm_router.storage.dead_letters import dead_letters
from llm_router.storage.engine import make_engine, upgrade
from llm_router.storage.journal_shipper import attempts
from llm_router.storage.models import Base
from tests.storage.db import BACKENDS, database_url

TABLES = {"usage_attempts", "usage_dead_letters"}


@pytest.mark.parametrize("made_on_first_use", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_0004_upgrades_a_0003_database(backend, made_on_first_use):
    async with database_url(backend) as (url, schema):
        engine = make_engine(url, schema=schema)
        try:
            await upgrade(engine, "0003")
            async with engine.begin() as conn:
                assert not TABLES & set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
                if made_on_first_use:  # what the release before 0004 did
                    await conn.run_sync(lambda c: (attempts.create(c), dead_letters.create(c)))
                    await conn.execute(text("INSERT INTO usage_attempts (request_id, attempt, phase, status, "
                                            "possibly_billed) VALUES ('r', 1, 1, 'ok', false)"))
            await upgrade(engine)
            async with engine.connect() as conn:
                assert TABLES <= set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
                assert await conn.run_sync(
                    lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)) == []
                version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
                kept = (await conn.execute(text("SELECT count(*) FROM usage_attempts"))).scalar()
            assert version == "0004" and kept == (1 if made_on_first_use else 0)
        finally:
            await engine.dispose()
