"""Plain, immutable views of stored rows: what the repository returns and the policies use.

Money is integer micro-dollars (1 USD = 1_000_000) everywhere below the API edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Period = Literal["day", "week", "month", "total"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "total")
MICROS_PER_USD = 1_000_000


def usd_to_micros(usd: float) -> int:
    """USD (as given by a client) to integer micro-dollars."""
    return round(usd * MICROS_PER_USD)


def micros_to_usd(micros: int) -> float:
    """Integer micro-dollars to USD, for display."""
    return micros / MICROS_PER_USD


@dataclass(frozen=True, slots=True)
class Budget:
    """A spending cap over a calendar period (UTC)."""

    max_micros: int
    period: Period


@dataclass(frozen=True, slots=True)
class Limits:
    """Rate limits; None: unlimited."""

    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None

    def any(self) -> bool:
        """Whether any limit is set."""
        return self.rpm is not None or self.tpm is not None or self.max_parallel is not None


@dataclass(frozen=True, slots=True)
class Rules:
    """What a key or a team may do: models (None: any), a budget, rate limits."""

    models: tuple[str, ...] | None = None
    budget: Budget | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """A team: a group of keys sharing rules."""

    id: str
    name: str
    rules: Rules
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A virtual key. ``key_hash`` is the HMAC of the secret; the secret itself is never stored."""

    id: str
    name: str
    key_hash: str
    display: str
    team_id: str | None
    rules: Rules
    metadata: dict[str, Any]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One admin change."""

    id: int
    actor: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime
