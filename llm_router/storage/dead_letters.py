"""Rows the database refused for a reason other than being unreachable (a constraint, a
value it will not take): kept in ``usage_dead_letters`` with the error, never dropped (P4).
``source`` says which writer: ``ledger`` (the request ledger, ``attempt`` 0) or ``journal``
(an upstream attempt). The table (and ``usage_attempts``) come from migration 0004."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from llm_router.storage.models import DeadLetterRow

log = logging.getLogger("llm_router.storage")
dead_letters = cast(sa.Table, DeadLetterRow.__table__)


def connection_trouble(exc: BaseException) -> bool:
    """Whether a database error means "unreachable" (retry later, keep everything) rather
    than "this data is refused" (retry row by row, then dead-letter)."""
    if isinstance(exc, (OperationalError, InterfaceError, OSError, TimeoutError)):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc.orig, (OSError, TimeoutError))
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and connection_trouble(cause)


def refused_row(exc: BaseException) -> bool:
    """Whether the database refused the data itself (a constraint, a value it will not take),
    so the same row will never be written: only these are dead-lettered. Anything else (the
    database unreachable, a table missing during a migration) is retried later, all kept."""
    if connection_trouble(exc):
        return False
    if isinstance(exc, (IntegrityError, DataError)):
        return True
    state = _sqlstate(exc)  # asyncpg's errors reach SQLAlchemy as a plain DBAPIError
    return state is not None and state[:2] in ("22", "23")  # data exception, constraint violation


def _sqlstate(exc: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str):
            return state
        current = getattr(current, "orig", None) or current.__cause__
    return None


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def dead_letter(target: AsyncEngine | async_sessionmaker[AsyncSession], source: str,
                      row: dict[str, Any], exc: BaseException) -> None:
    """Keep one refused row; raises if even that fails."""
    log.error("%s row %s refused by the database (%s): kept in usage_dead_letters", source,
              row.get("request_id"), type(exc).__name__)
    insert = sa.insert(dead_letters).values(
        source=source, request_id=str(row.get("request_id", ""))[:64], attempt=int(row.get("attempt", 0)),
        row=_plain(row), error=str(exc)[:2000], created_at=datetime.now(UTC))
    if isinstance(target, AsyncEngine):
        async with target.begin() as conn:
            await conn.execute(insert)
        return
    async with target() as session:
        await session.execute(insert)
        await session.commit()
