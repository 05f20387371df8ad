"""The usage ledger and the audit log: batched inserts and the read queries behind
``/v1/usage``, ``/admin/usage``, ``/admin/requests`` and ``/admin/audit``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from llm_router.storage.convert import audit_record
from llm_router.storage.models import AuditRow, UsageRow
from llm_router.storage.records import AuditRecord, micros_to_usd

GroupBy = Literal["key", "team", "model", "provider", "route"]
GROUP_COLUMNS: dict[str, Any] = {
    "key": UsageRow.key_id, "team": UsageRow.team_id, "model": UsageRow.model,
    "provider": UsageRow.provider, "route": UsageRow.route,
}
#: Ledger columns shown by ``/admin/requests`` (no prompt or completion text exists at all).
REQUEST_FIELDS = ("id", "request_id", "key_id", "team_id", "surface", "route", "deployment", "provider",
                  "model", "status", "error_type", "input_tokens", "output_tokens", "cached_tokens",
                  "cost_micros", "latency_ms", "ttft_ms", "streamed", "cancelled",
                  "possibly_billed_attempts", "usage_estimated", "created_at")


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Filters of ``/admin/requests``; ``before`` is a row id cursor (newest first)."""

    key_id: str | None = None
    team_id: str | None = None
    model: str | None = None
    status: int | None = None
    before: int | None = None
    limit: int = 100
    provider: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: Literal["ok", "error"] | None = None  # status below 400, or 400 and above


def sqlite_utc_text(value: datetime) -> str:
    """What ``UtcDateTime`` then SQLite's ``DATETIME`` make of an aware datetime (UTC, naive,
    ``YYYY-MM-DD HH:MM:SS.ffffff``), in one step: their chain costs ~3 µs a row."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class _DriverInsert:
    """The ledger insert at the driver level: the statement compiled once, each row's values
    put through the columns' own bind processors (the same conversions SQLAlchemy makes; the
    timestamp's chain of two in one step, ``sqlite_utc_text``), then one executemany. Skips
    the per-row parameter machinery of an ORM or Core insert, which costs more than SQLite's
    own work; used on SQLite (qmark parameters)."""

    def __init__(self, dialect: Dialect) -> None:
        table = UsageRow.__table__
        self.columns = tuple(c.name for c in table.columns if c.name != "id")
        self.names = frozenset(self.columns)
        compiled = sa.insert(UsageRow).compile(dialect=dialect, column_keys=list(self.columns))
        self.sql = str(compiled)
        order = compiled.positiontup or []
        types = {c.name: c.type for c in table.columns}
        self.binds = tuple((name, types[name].dialect_impl(dialect).bind_processor(dialect))
                           for name in order)
        self.order = tuple(name for name, _ in self.binds)
        #: (position, processor) of the few columns that have one (booleans, the timestamp):
        #: the others go through as they are, not through a per-column test.
        self.converted = tuple((i, sqlite_utc_text if name == "created_at" else bind)
                               for i, (name, bind) in enumerate(self.binds) if bind is not None)

    def fits(self, rows: Sequence[dict[str, Any]]) -> bool:
        """Whether every row has exactly the columns (else the Core insert fills defaults)."""
        return all(row.keys() == self.names for row in rows)

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = [row[name] for name in self.order]
        for index, bind in self.converted:
            value = values[index]
            if value is not None:
                values[index] = bind(value)
        return tuple(values)


class Ledger:
    """Reads and writes of the usage and audit tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._driver = _DriverInsert(engine.dialect) if engine.dialect.name == "sqlite" else None

    async def insert_usage(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ledger rows in one transaction (one executemany)."""
        if not rows:
            return
        driver = self._driver
        if driver is not None and driver.fits(rows):
            async with self.engine.begin() as conn:
                await conn.exec_driver_sql(driver.sql, [driver.params(row) for row in rows])
            return
        async with self.sessions() as session:
            await session.execute(sa.insert(UsageRow), list(rows))
            await session.commit()

    async def totals(self, since: datetime, group_by: GroupBy, key_id: str | None = None,
                     team_id: str | None = None) -> list[dict[str, Any]]:
        """Requests, tokens and cost since ``since``, grouped; optionally one key's or team's."""
        column = GROUP_COLUMNS[group_by]
        query = sa.select(
            column.label("group"), sa.func.count().label("requests"),
            sa.func.sum(sa.case((UsageRow.status >= 400, 1), else_=0)).label("errors"),
            sa.func.sum(UsageRow.input_tokens).label("input_tokens"),
            sa.func.sum(UsageRow.output_tokens).label("output_tokens"),
            sa.func.sum(UsageRow.cached_tokens).label("cached_input_tokens"),
            sa.func.sum(UsageRow.possibly_billed_attempts).label("possibly_billed_attempts"),
            sa.func.sum(UsageRow.cost_micros).label("cost_micros"),
            sa.func.sum(sa.case((UsageRow.cost_micros.is_(None), 1), else_=0)).label("unpriced"),
        ).where(UsageRow.created_at >= since).group_by(column)
        if key_id is not None:
            query = query.where(UsageRow.key_id == key_id)
        if team_id is not None:
            query = query.where(UsageRow.team_id == team_id)
        async with self.sessions() as session:
            result = (await session.execute(query)).mappings().all()
        totals = [_total(group_by, dict(r)) for r in result]
        # One order on every database: the ungrouped (None) first, then by name.
        return sorted(totals, key=lambda t: (t[group_by] is not None, str(t[group_by] or "")))

    async def spend_micros(self, scope: Literal["key", "team"], scope_id: str, since: datetime) -> int:
        """Money spent by a key or team since ``since``."""
        column = UsageRow.key_id if scope == "key" else UsageRow.team_id
        query = sa.select(sa.func.coalesce(sa.func.sum(UsageRow.cost_micros), 0)).where(
            column == scope_id, UsageRow.created_at >= since)
        async with self.sessions() as session:
            return int(await session.scalar(query) or 0)

    async def requests(self, where: RequestFilter) -> list[dict[str, Any]]:
        """Ledger rows, newest first."""
        query = sa.select(UsageRow).order_by(UsageRow.id.desc()).limit(where.limit)
        for column, value in ((UsageRow.key_id, where.key_id), (UsageRow.team_id, where.team_id),
                              (UsageRow.model, where.model), (UsageRow.status, where.status)):
            if value is not None:
                query = query.where(column == value)
        if where.before is not None:
            query = query.where(UsageRow.id < where.before)
        query = _narrowed(query, where)
        async with self.sessions() as session:
            rows = (await session.scalars(query)).all()
        return [{name: getattr(row, name) for name in REQUEST_FIELDS} for row in rows]

    async def audit(self, limit: int = 100, before: int | None = None,
                    target_id: str | None = None) -> list[AuditRecord]:
        """Audit rows, newest first."""
        query = sa.select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if before is not None:
            query = query.where(AuditRow.id < before)
        if target_id is not None:
            query = query.where(AuditRow.target_id == target_id)
        async with self.sessions() as session:
            return [audit_record(r) for r in (await session.scalars(query)).all()]


def _narrowed(query: Any, where: RequestFilter) -> Any:
    """The filters beyond the column equalities: provider, request id, time range, outcome."""
    if where.provider is not None:
        query = query.where(UsageRow.provider == where.provider)
    if where.request_id is not None:
        query = query.where(UsageRow.request_id == where.request_id)
    if where.since is not None:
        query = query.where(UsageRow.created_at >= where.since)
    if where.until is not None:
        query = query.where(UsageRow.created_at < where.until)
    if where.outcome is not None:
        query = query.where(UsageRow.status >= 400 if where.outcome == "error" else UsageRow.status < 400)
    return query


def _total(group_by: str, row: dict[str, Any]) -> dict[str, Any]:
    micros = int(row.pop("cost_micros") or 0)
    out = {group_by: row.pop("group")}
    out.update({k: int(v or 0) for k, v in row.items()})
    out["cost_micros"] = micros
    out["cost_usd"] = micros_to_usd(micros)
    return out


def since_window(seconds: float, now: datetime | None = None) -> datetime:
    """The start of a window of ``seconds`` ending now."""
    now = now or datetime.now(UTC)
    return datetime.fromtimestamp(now.timestamp() - seconds, UTC)
