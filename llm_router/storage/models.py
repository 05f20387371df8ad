"""The tables (SQLAlchemy 2 declarative). Changing them needs a new Alembic migration.

Money is ``BigInteger`` micro-dollars; times are UTC (``UtcDateTime`` makes SQLite, which
keeps no zone, hand back aware datetimes too). ``responses`` (migration 0002) keeps the
Responses API objects made through the gateway (``llm_router/storage/response_store.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, aware, UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base; ``metadata`` is what the migrations build."""


class _RulesColumns:
    """Columns shared by keys and teams: models, budget, limits."""

    models: Mapped[list[str] | None] = mapped_column(sa.JSON, nullable=True)
    budget_max_micros: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    budget_period: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    rpm: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    tpm: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    max_parallel: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", sa.JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class TeamRow(_RulesColumns, Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class KeyRow(_RulesColumns, Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    #: HMAC-SHA256 of the secret, hex: the only form of the key that is stored.
    key_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    #: ``sk-lr-...`` + the last 4 characters, for people to recognise their key.
    display: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    team_id: Mapped[str | None] = mapped_column(sa.String(40), sa.ForeignKey("teams.id"), nullable=True,
                                                index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class UsageRow(Base):
    """The ledger: one row per data-plane request. No prompt or completion text."""

    __tablename__ = "usage"
    __table_args__ = (
        sa.Index("ix_usage_key_created", "key_id", "created_at"),
        sa.Index("ix_usage_team_created", "team_id", "created_at"),
        # The request log filtered by key, team or model, newest first (migration 0003).
        sa.Index("ix_usage_key_id_id", "key_id", "id"),
        sa.Index("ix_usage_team_id_id", "team_id", "id"),
        sa.Index("ix_usage_model_id", "model", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    request_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    key_id: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    team_id: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    surface: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    route: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    deployment: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    provider: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    status: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    error_type: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    input_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    output_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    cached_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    cost_micros: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    latency_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    ttft_ms: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    streamed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    cancelled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    possibly_billed_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    usage_estimated: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)


class AuditRow(Base):
    """Every admin change: who, what, when, the changed fields before and after. Never a secret."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    actor: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    target_type: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    target_id: Mapped[str] = mapped_column(sa.String(40), nullable=False, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow, index=True)


class ResponseRow(Base):
    """A Responses API object the gateway made (a translated answer, ``store`` not false), and
    the conversation that led to it as Responses items (input and output, instructions left
    out), for ``previous_response_id`` and ``GET /v1/responses/{id}``. Conversation content:
    kept only because the client asked for it (``store``); readable only by the same key."""

    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    model: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    items: Mapped[list[Any]] = mapped_column(sa.JSON, nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow, index=True)


class UsageRollupRow(Base):
    """Hourly ledger totals per dimension (``dim``: '' for all requests, ``key``, ``team``,
    ``model``, ``provider``; daily ones ``key@d``, ...; ``value`` '' where the row has none),
    folded in by row id (``storage/rollup.py``): the console's charts, top lists and budget
    bars read these plus the few ledger rows not yet folded, so they stay fast at millions of
    rows (migration 0003)."""

    __tablename__ = "usage_rollup"

    dim: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)  # epoch seconds, UTC hour
    value: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    errors: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    input_tokens: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    output_tokens: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    cached_tokens: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    cost_micros: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    unpriced: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class UsageRollupState(Base):
    """One row: ledger ids up to ``rolled_upto`` are in ``usage_rollup``; ``candidate`` is
    the highest id seen at ``candidate_at``, folded once it has settled."""

    __tablename__ = "usage_rollup_state"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    rolled_upto: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    candidate: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    candidate_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class DeadLetterRow(Base):
    """A row the database refused for a reason other than being unreachable (``dead_letters``):
    ``source`` ``ledger`` (``attempt`` 0) or ``journal`` (an upstream attempt). Migration 0004."""

    __tablename__ = "usage_dead_letters"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    source: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    request_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    attempt: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    row: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    error: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class UsageAttemptRow(Base):
    """One upstream attempt, shipped from the usage journal (``journal_shipper``), upserted on
    ``(request_id, attempt)``; ``phase`` 0: intent only, 1: completed. Migration 0004."""

    __tablename__ = "usage_attempts"

    request_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    attempt: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    phase: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    replica: Mapped[str | None] = mapped_column(sa.String(128))
    key_id: Mapped[str | None] = mapped_column(sa.String(40))
    team_id: Mapped[str | None] = mapped_column(sa.String(40))
    surface: Mapped[str | None] = mapped_column(sa.String(40))
    route: Mapped[str | None] = mapped_column(sa.String(200))
    deployment: Mapped[str | None] = mapped_column(sa.String(200))
    provider: Mapped[str | None] = mapped_column(sa.String(64))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    http_status: Mapped[int | None] = mapped_column(sa.Integer)
    error_type: Mapped[str | None] = mapped_column(sa.String(64))
    possibly_billed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    input_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    output_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    cached_tokens: Mapped[int | None] = mapped_column(sa.Integer)
    cost_micros: Mapped[int | None] = mapped_column(sa.BigInteger)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
