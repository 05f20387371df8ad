"""Rows to records and input dicts to row columns (pure)."""

from __future__ import annotations

from typing import Any, cast

from llm_router.storage.models import AuditRow, KeyRow, TeamRow
from llm_router.storage.records import AuditRecord, Budget, KeyRecord, Limits, Period, Rules, TeamRecord

#: Columns an admin may set on keys and teams (besides ``name``); nothing else is writable.
RULE_COLUMNS = ("models", "budget_max_micros", "budget_period", "rpm", "tpm", "max_parallel")


def rules_of(row: KeyRow | TeamRow) -> Rules:
    """The rules stored in a key or team row."""
    budget = None
    if row.budget_max_micros is not None and row.budget_period is not None:
        budget = Budget(row.budget_max_micros, cast(Period, row.budget_period))
    return Rules(
        models=tuple(row.models) if row.models is not None else None,
        budget=budget,
        limits=Limits(rpm=row.rpm, tpm=row.tpm, max_parallel=row.max_parallel),
    )


def rule_columns(rules: Rules) -> dict[str, Any]:
    """The row columns for ``rules``."""
    return {
        "models": list(rules.models) if rules.models is not None else None,
        "budget_max_micros": rules.budget.max_micros if rules.budget else None,
        "budget_period": rules.budget.period if rules.budget else None,
        "rpm": rules.limits.rpm, "tpm": rules.limits.tpm, "max_parallel": rules.limits.max_parallel,
    }


def team_record(row: TeamRow) -> TeamRecord:
    """A team row as a record."""
    return TeamRecord(id=row.id, name=row.name, rules=rules_of(row), metadata=dict(row.metadata_ or {}),
                      created_at=row.created_at, updated_at=row.updated_at)


def key_record(row: KeyRow) -> KeyRecord:
    """A key row as a record."""
    return KeyRecord(
        id=row.id, name=row.name, key_hash=row.key_hash, display=row.display, team_id=row.team_id,
        rules=rules_of(row), metadata=dict(row.metadata_ or {}), expires_at=row.expires_at,
        revoked_at=row.revoked_at, created_at=row.created_at, updated_at=row.updated_at,
    )


def audit_record(row: AuditRow) -> AuditRecord:
    """An audit row as a record."""
    return AuditRecord(id=row.id, actor=row.actor, action=row.action, target_type=row.target_type,
                       target_id=row.target_id, before=row.before, after=row.after,
                       created_at=row.created_at)
