"""What the admin API does: checks, writes (with audit rows), cache invalidation, reads.

Authorisation is checked here for every call, not by a path-prefix middleware: only the
admin key may use the admin API (a virtual key or the gateway key gets 403)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.datastructures import Headers

from llm_router.api.admin_schema import (
    BudgetIn,
    BudgetOut,
    KeyCreate,
    KeyOut,
    KeyPatch,
    LimitsIn,
    LimitsOut,
    TeamCreate,
    TeamOut,
    TeamPatch,
)
from llm_router.errors import InvalidRequest, PermissionDenied
from llm_router.policies.auth import Authenticator
from llm_router.policies.budget import period_bounds
from llm_router.policies.gateway_key import credential
from llm_router.storage.keysecrets import KeyHasher, display_key, generate_key
from llm_router.storage.ledger import Ledger
from llm_router.storage.records import (
    Budget,
    KeyRecord,
    Limits,
    Rules,
    TeamRecord,
    micros_to_usd,
    usd_to_micros,
)
from llm_router.storage.repository import Actor, Conflict, Repository
from llm_router.storage.usage_sink import DatabaseUsageSink

MAX_METADATA_BYTES = 8192


def _budget(value: BudgetIn | None) -> Budget | None:
    return Budget(usd_to_micros(value.max_usd), value.period) if value else None


def _limits(value: LimitsIn | None) -> Limits:
    return Limits(value.rpm, value.tpm, value.max_parallel) if value else Limits()


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(orjson.dumps(value))
    except TypeError:  # orjson.JSONEncodeError: nested too deep
        raise InvalidRequest("metadata is nested too deeply.", "metadata") from None
    if size > MAX_METADATA_BYTES:
        raise InvalidRequest(f"metadata is larger than {MAX_METADATA_BYTES} bytes.", "metadata")
    return value


def _changes(patch: TeamPatch) -> dict[str, Any]:
    """Row columns for the fields the client sent (null clears)."""
    sent = patch.model_fields_set
    out: dict[str, Any] = {}
    if "name" in sent:
        if patch.name is None:
            raise InvalidRequest("name cannot be null.", "name")
        out["name"] = patch.name
    if "models" in sent:
        out["models"] = patch.models
    if "budget" in sent:
        budget = _budget(patch.budget)
        out["budget_max_micros"] = budget.max_micros if budget else None
        out["budget_period"] = budget.period if budget else None
    if "limits" in sent:
        limits = _limits(patch.limits)
        out.update(rpm=limits.rpm, tpm=limits.tpm, max_parallel=limits.max_parallel)
    if "metadata" in sent:
        out["metadata_"] = _metadata(patch.metadata or {})
    for field in ("team_id", "expires_at"):
        if field in sent:
            out[field] = getattr(patch, field)
    return out


def _rules_out(rules: Rules) -> dict[str, Any]:
    budget, limits = rules.budget, rules.limits
    return {
        "models": list(rules.models) if rules.models is not None else None,
        "budget": BudgetOut(max_usd=micros_to_usd(budget.max_micros), period=budget.period)
        if budget else None,
        "limits": LimitsOut(rpm=limits.rpm, tpm=limits.tpm, max_parallel=limits.max_parallel),
    }


def key_out(key: KeyRecord, spend_micros: int | None = None) -> KeyOut:
    """The API view of a key: never its secret or hash."""
    return KeyOut(id=key.id, name=key.name, key_display=key.display, team_id=key.team_id,
                  metadata=key.metadata, expires_at=key.expires_at, revoked_at=key.revoked_at,
                  created_at=key.created_at, updated_at=key.updated_at,
                  spend_usd=micros_to_usd(spend_micros) if spend_micros is not None else None,
                  **_rules_out(key.rules))


def team_out(team: TeamRecord, spend_micros: int | None = None) -> TeamOut:
    """The API view of a team."""
    return TeamOut(id=team.id, name=team.name, metadata=team.metadata, created_at=team.created_at,
                   updated_at=team.updated_at,
                   spend_usd=micros_to_usd(spend_micros) if spend_micros is not None else None,
                   **_rules_out(team.rules))


def not_found(kind: str, ident: str) -> InvalidRequest:
    shown = ident if len(ident) <= 60 and ident.isprintable() else repr(ident[:60])
    return InvalidRequest(f"No {kind} with id '{shown}'.", "id", status=404)


class AdminService:
    """The admin API's operations."""

    def __init__(self, admin_key: str, authenticator: Authenticator, repository: Repository,
                 ledger: Ledger, sink: DatabaseUsageSink) -> None:
        self._admin_key = admin_key
        self.authenticator = authenticator
        self.repository = repository
        self.ledger = ledger
        self.sink = sink

    async def authorize(self, headers: Headers) -> Actor:
        """The admin, or Unauthorized (no or wrong key) / PermissionDenied (a data-plane key)."""
        token = credential(headers, allow_x_api_key=False)
        if KeyHasher.same(token, self._admin_key):
            return Actor("admin")
        await self.authenticator.authenticate(token)  # raises Unauthorized for a wrong key
        raise PermissionDenied("The admin API needs the admin key (LLM_ROUTER_ADMIN_KEY).")

    async def create_key(self, actor: Actor, body: KeyCreate) -> tuple[KeyRecord, str]:
        """A new key and its secret (the only time the secret exists outside the client)."""
        if body.team_id is not None:
            await self.team(body.team_id)
        secret = generate_key()
        rules = Rules(models=tuple(body.models) if body.models is not None else None,
                      budget=_budget(body.budget), limits=_limits(body.limits))
        record = await self.repository.create_key(
            actor, name=body.name, key_hash=self.authenticator.hasher.hash(secret),
            display=display_key(secret), team_id=body.team_id, rules=rules,
            metadata=_metadata(body.metadata), expires_at=body.expires_at)
        return record, secret

    async def key(self, key_id: str) -> KeyRecord:
        """A key or 404."""
        record = await self.repository.get_key(key_id)
        if record is None:
            raise not_found("key", key_id)
        return record

    async def update_key(self, actor: Actor, key_id: str, patch: KeyPatch) -> KeyRecord:
        """Change a key; takes effect at once on this instance."""
        changes = _changes(patch)
        if changes.get("team_id") is not None:
            await self.team(changes["team_id"])
        try:
            record = await self.repository.update_key(actor, key_id, changes)
        except Conflict as exc:
            raise InvalidRequest(str(exc), status=409) from None
        if record is None:
            raise not_found("active key", key_id)
        self.authenticator.cache.invalidate_key(key_id)
        return record

    async def revoke_key(self, actor: Actor, key_id: str) -> KeyRecord:
        """Revoke a key; this instance refuses it from now on."""
        record = await self.repository.revoke_key(actor, key_id)
        if record is None:
            raise not_found("active key", key_id)
        self.authenticator.cache.invalidate_key(key_id)
        return record

    async def create_team(self, actor: Actor, body: TeamCreate) -> TeamRecord:
        """A new team."""
        rules = Rules(models=tuple(body.models) if body.models is not None else None,
                      budget=_budget(body.budget), limits=_limits(body.limits))
        try:
            return await self.repository.create_team(actor, body.name, rules, _metadata(body.metadata))
        except Conflict as exc:
            raise InvalidRequest(str(exc), "name", status=409) from None

    async def team(self, team_id: str) -> TeamRecord:
        """A team or 404."""
        record = await self.repository.get_team(team_id)
        if record is None:
            raise not_found("team", team_id)
        return record

    async def update_team(self, actor: Actor, team_id: str, patch: TeamPatch) -> TeamRecord:
        """Change a team; its keys see the change at once on this instance."""
        try:
            record = await self.repository.update_team(actor, team_id, _changes(patch))
        except Conflict as exc:
            raise InvalidRequest(str(exc), "name", status=409) from None
        if record is None:
            raise not_found("team", team_id)
        self.authenticator.cache.invalidate_team(team_id)
        return record

    async def delete_team(self, actor: Actor, team_id: str) -> TeamRecord:
        """Delete a team that has no active keys."""
        try:
            record = await self.repository.delete_team(actor, team_id)
        except Conflict as exc:
            raise InvalidRequest(str(exc), status=409) from None
        if record is None:
            raise not_found("team", team_id)
        self.authenticator.cache.invalidate_team(team_id)
        return record

    async def spend(self, scope: str, scope_id: str, rules: Rules) -> int:
        """Spent in the current budget period (this month without a budget)."""
        await self.flush()
        period = rules.budget.period if rules.budget else "month"
        start, _ = period_bounds(period, datetime.now(UTC))
        return await self.ledger.spend_micros("key" if scope == "key" else "team", scope_id, start)

    async def flush(self) -> None:
        """Write buffered ledger rows, so reads include every finished request."""
        try:
            await self.sink.flush()
        except Exception:  # the database is down: the read below will say so
            pass
