"""The database engine from ``LLM_ROUTER_DATABASE_URL`` and schema migrations at start-up.

``sqlite:///path`` becomes ``sqlite+aiosqlite:///path`` (WAL mode, foreign keys on);
``postgresql://`` / ``postgres://`` become ``postgresql+asyncpg://``. Migrations run with
Alembic; on PostgreSQL under a session advisory lock so replicas starting together take
turns instead of racing."""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from llm_router.errors import ConfigError

log = logging.getLogger("llm_router.storage")
DEFAULT_DATABASE_URL = "sqlite:///./llm-router.db"
#: pg_advisory_lock key of the migration step ("llmrout" in ASCII).
MIGRATION_LOCK_ID = 0x6C6C6D726F7574
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
            "postgres": "postgresql+asyncpg"}
_ASYNC = {"sqlite+aiosqlite", "postgresql+asyncpg"}


def async_url(raw: str) -> URL:
    """The async-driver URL for ``raw``; ConfigError for anything else."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("LLM_ROUTER_DATABASE_URL is not a database URL.") from None
    name = url.drivername
    if name in _DRIVERS:
        url = url.set(drivername=_DRIVERS[name])
    elif name not in _ASYNC:
        raise ConfigError(f"LLM_ROUTER_DATABASE_URL: unsupported driver {name!r} "
                          "(use sqlite:/// or postgresql://).")
    return url


def describe_url(url: URL) -> str:
    """The URL without its password, for the start-up log."""
    return url.render_as_string(hide_password=True)


def make_engine(raw: str, schema: str | None = None) -> AsyncEngine:
    """An async engine; ``schema`` (PostgreSQL only) sets the search path, for tests."""
    url = async_url(raw)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.drivername.startswith("postgresql"):
        if schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        kwargs.update(pool_size=10, max_overflow=10)
    engine = create_async_engine(url, **kwargs)
    if url.drivername.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, pointing at the migrations inside the package."""
    config = Config()
    config.set_main_option("script_location", "llm_router.storage:migrations")
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``, one process at a time: PostgreSQL under an advisory
    lock, a SQLite file under an exclusive lock on ``<file>.migrate-lock``."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        async with _file_lock(f"{database}.migrate-lock"):
            await _upgrade_locked(engine, revision)
    else:
        await _upgrade_locked(engine, revision)


@asynccontextmanager
async def _file_lock(path: str) -> AsyncIterator[None]:
    handle = await asyncio.to_thread(open, path, "a+b")
    try:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the lock


async def _upgrade_locked(engine: AsyncEngine, revision: str) -> None:
    postgres = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        if postgres:
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            await conn.commit()
        try:
            await conn.run_sync(_upgrade, revision)
            await conn.commit()
        finally:
            if postgres:
                await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                await conn.commit()


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the schema back to ``revision`` (``base``: empty)."""
    async with engine.connect() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))
        await conn.commit()
