"""Bodies of the admin API (they appear in the OpenAPI document). Unknown fields are
refused (422): no client can set a role, route list or any field this schema lacks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from llm_router.storage.records import Period


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable text (no control characters)")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
ModelPattern = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
Metadata = Annotated[dict[str, Any], Field(max_length=50)]
Limit = Annotated[int, Field(ge=1, le=1_000_000_000)]
#: Ids are ``key_...`` / ``team_...``: letters, digits, ``_`` and ``-`` only.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
TeamId = Annotated[str, Field(pattern=ID_PATTERN)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BudgetIn(_In):
    """A spending cap in USD per calendar period (UTC)."""

    max_usd: float = Field(ge=0, le=1_000_000_000)
    period: Period = "month"


class LimitsIn(_In):
    """Per-minute limits and concurrent requests; omitted: unlimited."""

    rpm: Limit | None = None
    tpm: Limit | None = None
    max_parallel: Limit | None = None


class TeamCreate(_In):
    name: Name
    models: list[ModelPattern] | None = Field(None, max_length=1000)
    budget: BudgetIn | None = None
    limits: LimitsIn | None = None
    metadata: Metadata = Field(default_factory=dict)


class TeamPatch(_In):
    """Fields to change; a field set to null is cleared."""

    name: Name | None = None
    models: list[ModelPattern] | None = Field(None, max_length=1000)
    budget: BudgetIn | None = None
    limits: LimitsIn | None = None
    metadata: Metadata | None = None


class KeyCreate(TeamCreate):
    team_id: TeamId | None = None
    expires_at: AwareDatetime | None = None


class KeyPatch(TeamPatch):
    team_id: TeamId | None = None
    expires_at: AwareDatetime | None = None


class BudgetOut(BaseModel):
    max_usd: float
    period: Period


class LimitsOut(BaseModel):
    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None


class TeamOut(BaseModel):
    object: Literal["team"] = "team"
    id: str
    name: str
    models: list[str] | None
    budget: BudgetOut | None
    limits: LimitsOut
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    spend_usd: float | None = Field(None, description="Spent in the budget's current period.")


class KeyOut(BaseModel):
    object: Literal["key"] = "key"
    id: str
    name: str
    key_display: str = Field(description="The key's prefix and last 4 characters; never the key.")
    team_id: str | None
    models: list[str] | None
    budget: BudgetOut | None
    limits: LimitsOut
    metadata: dict[str, Any]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    spend_usd: float | None = Field(None, description="Spent in the budget's current period "
                                    "(this month when the key has no budget).")


class KeyCreated(KeyOut):
    key: str = Field(description="The secret key. Shown once, in this answer only.")


class KeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[KeyOut]


class TeamList(BaseModel):
    object: Literal["list"] = "list"
    data: list[TeamOut]


class UsageGroup(BaseModel):
    group: str | None = Field(description="The key id, team id, model, provider or route.")
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    possibly_billed_attempts: int = Field(description="Failed attempts the provider may still bill.")
    cost_usd: float
    cost_micros: int
    unpriced: int = Field(description="Requests whose cost is unknown (no price for the model).")


class UsageOut(BaseModel):
    object: Literal["usage"] = "usage"
    window: int
    group_by: str
    data: list[UsageGroup]


class RequestRow(BaseModel):
    """One ledger row: no prompt or completion text is ever stored."""

    id: int
    request_id: str
    key_id: str | None
    team_id: str | None
    surface: str
    route: str | None
    deployment: str | None
    provider: str | None
    model: str | None
    status: int
    error_type: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_micros: int | None
    cost_usd: float | None
    latency_ms: int
    ttft_ms: int | None
    streamed: bool
    cancelled: bool
    possibly_billed_attempts: int
    usage_estimated: bool
    created_at: datetime


class RequestList(BaseModel):
    object: Literal["list"] = "list"
    data: list[RequestRow]
    next_before: int | None = Field(None, description="Pass as ``before`` for the next page.")


class AuditRow(BaseModel):
    id: int
    actor: str = Field(description="'admin', or 'key:<id>' for a key's own change.")
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class AuditList(BaseModel):
    object: Literal["list"] = "list"
    data: list[AuditRow]
    next_before: int | None = None
