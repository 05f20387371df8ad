"""Keys and teams: typed reads and writes. Every change writes its audit row in the same
transaction. Only the ORM is used (bound parameters, never string-built SQL)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from llm_router.storage.convert import RULE_COLUMNS, key_record, rule_columns, team_record
from llm_router.storage.models import AuditRow, KeyRow, TeamRow, utcnow
from llm_router.storage.records import KeyRecord, Rules, TeamRecord

#: Columns an admin change may touch, per table (``metadata_`` is the ``metadata`` column).
KEY_WRITABLE = frozenset({"name", "team_id", "metadata_", "expires_at", *RULE_COLUMNS})
TEAM_WRITABLE = frozenset({"name", "metadata_", *RULE_COLUMNS})
_AUDITED = ("name", "display", "team_id", "metadata_", "expires_at", "revoked_at", "deleted_at",
            *RULE_COLUMNS)


class Conflict(Exception):
    """A write that breaks a uniqueness rule or a reference (duplicate name, team in use)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: ``admin`` or ``key:<id>``."""

    name: str


def new_id(prefix: str) -> str:
    """A public identifier such as ``key_3f2a...`` (not a secret)."""
    return f"{prefix}_{secrets.token_hex(12)}"


def _snapshot(row: KeyRow | TeamRow) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in _AUDITED:
        if hasattr(row, column):
            value = getattr(row, column)
            out[column.rstrip("_")] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


class Repository:
    """Keys and teams in the database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    # -- teams ---------------------------------------------------------------------------

    async def create_team(self, actor: Actor, name: str, rules: Rules,
                          metadata: dict[str, Any]) -> TeamRecord:
        """A new team; Conflict if the name is taken."""
        row = TeamRow(id=new_id("team"), name=name, metadata_=metadata, **rule_columns(rules))
        async with self.sessions() as session:
            session.add(row)
            self._audit(session, actor, "team.create", "team", row.id, None, _snapshot(row))
            await self._commit(session, f"A team named {name!r} exists already.")
        return team_record(row)

    async def get_team(self, team_id: str) -> TeamRecord | None:
        """A team that is not deleted."""
        async with self.sessions() as session:
            row = await self._team_row(session, team_id)
            return team_record(row) if row else None

    async def list_teams(self) -> list[TeamRecord]:
        """All teams, oldest first."""
        query = sa.select(TeamRow).where(TeamRow.deleted_at.is_(None)).order_by(TeamRow.created_at)
        async with self.sessions() as session:
            return [team_record(r) for r in (await session.scalars(query)).all()]

    async def update_team(self, actor: Actor, team_id: str, changes: dict[str, Any]) -> TeamRecord | None:
        """Apply ``changes`` (columns of TEAM_WRITABLE); None if no such team."""
        _check_columns(changes, TEAM_WRITABLE)
        async with self.sessions() as session:
            row = await self._team_row(session, team_id)
            if row is None:
                return None
            self._apply(session, actor, "team.update", row, changes)
            await self._commit(session, "A team with that name exists already.")
            return team_record(row)

    async def delete_team(self, actor: Actor, team_id: str) -> TeamRecord | None:
        """Delete a team with no active keys (Conflict otherwise); None if no such team."""
        active = sa.select(sa.func.count()).select_from(KeyRow).where(
            KeyRow.team_id == team_id, KeyRow.revoked_at.is_(None))
        async with self.sessions() as session:
            row = await self._team_row(session, team_id)
            if row is None:
                return None
            if (await session.scalar(active)) or 0:
                raise Conflict("The team still has active keys; revoke or move them first.")
            self._apply(session, actor, "team.delete", row, {"deleted_at": utcnow()})
            await session.commit()
            return team_record(row)

    # -- keys ----------------------------------------------------------------------------

    async def create_key(self, actor: Actor, *, name: str, key_hash: str, display: str,
                         team_id: str | None, rules: Rules, metadata: dict[str, Any],
                         expires_at: datetime | None) -> KeyRecord:
        """Store a new key (its hash only)."""
        row = KeyRow(id=new_id("key"), name=name, key_hash=key_hash, display=display, team_id=team_id,
                     metadata_=metadata, expires_at=expires_at, **rule_columns(rules))
        async with self.sessions() as session:
            session.add(row)
            self._audit(session, actor, "key.create", "key", row.id, None, _snapshot(row))
            await self._commit(session, "Could not store the key.")
        return key_record(row)

    async def get_key(self, key_id: str) -> KeyRecord | None:
        """A key by id (revoked ones included)."""
        async with self.sessions() as session:
            row = await session.get(KeyRow, key_id)
            return key_record(row) if row else None

    async def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        """The key whose stored hash is ``key_hash`` (a bound parameter)."""
        async with self.sessions() as session:
            row = await session.scalar(sa.select(KeyRow).where(KeyRow.key_hash == key_hash))
            return key_record(row) if row else None

    async def list_keys(self, team_id: str | None = None, include_revoked: bool = False) -> list[KeyRecord]:
        """Keys, oldest first."""
        query = sa.select(KeyRow).order_by(KeyRow.created_at)
        if team_id is not None:
            query = query.where(KeyRow.team_id == team_id)
        if not include_revoked:
            query = query.where(KeyRow.revoked_at.is_(None))
        async with self.sessions() as session:
            return [key_record(r) for r in (await session.scalars(query)).all()]

    async def update_key(self, actor: Actor, key_id: str, changes: dict[str, Any]) -> KeyRecord | None:
        """Apply ``changes`` (columns of KEY_WRITABLE) to a key that is not revoked."""
        _check_columns(changes, KEY_WRITABLE)
        async with self.sessions() as session:
            row = await session.get(KeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return None
            self._apply(session, actor, "key.update", row, changes)
            await self._commit(session, "Could not update the key.")
            return key_record(row)

    async def revoke_key(self, actor: Actor, key_id: str) -> KeyRecord | None:
        """Revoke a key (kept for the ledger and audit); None if unknown or already revoked."""
        async with self.sessions() as session:
            row = await session.get(KeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return None
            self._apply(session, actor, "key.revoke", row, {"revoked_at": utcnow()})
            await session.commit()
            return key_record(row)

    # -- helpers -------------------------------------------------------------------------

    async def _team_row(self, session: AsyncSession, team_id: str) -> TeamRow | None:
        row = await session.get(TeamRow, team_id)
        return row if row is not None and row.deleted_at is None else None

    def _apply(self, session: AsyncSession, actor: Actor, action: str, row: KeyRow | TeamRow,
               changes: dict[str, Any]) -> None:
        before = _snapshot(row)
        for column, value in changes.items():
            setattr(row, column, value)
        row.updated_at = utcnow()
        old, new = _diff(before, _snapshot(row))
        target = "key" if isinstance(row, KeyRow) else "team"
        self._audit(session, actor, action, target, row.id, old, new)

    @staticmethod
    def _audit(session: AsyncSession, actor: Actor, action: str, target_type: str, target_id: str,
               before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        session.add(AuditRow(actor=actor.name, action=action, target_type=target_type,
                             target_id=target_id, before=before, after=after, created_at=utcnow()))

    @staticmethod
    async def _commit(session: AsyncSession, conflict: str) -> None:
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise Conflict(conflict) from None


def _check_columns(changes: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
