"""Bodies of the admin API routes the console reads (``api/admin_console.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from llm_router.api.admin_schema import RequestRow
from llm_router.storage.records import Period


class Totals(BaseModel):
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float
    cost_micros: int
    unpriced: int = Field(description="Requests whose cost is unknown (no price for the model).")


class SeriesPoint(Totals):
    t: int = Field(description="Start of the bucket, epoch seconds (UTC).")


class SeriesOut(BaseModel):
    object: Literal["usage.series"] = "usage.series"
    window: int
    bucket: int = Field(description="Bucket width in seconds.")
    since: datetime = Field(description="Start of the first bucket (the window, on a bucket boundary).")
    totals: Totals
    data: list[SeriesPoint]


class TopGroup(Totals):
    group: str | None = Field(description="The key id, team id, model or provider (null: none).")
    name: str | None = Field(None, description="The key's or team's name.")


class TopOut(BaseModel):
    object: Literal["usage.top"] = "usage.top"
    window: int
    by: str
    since: datetime
    data: list[TopGroup]


class SpendRow(BaseModel):
    id: str
    name: str
    period: Period = Field(description="The budget's period ('month' when there is no budget).")
    period_start: datetime
    resets_at: datetime | None
    spend_usd: float
    max_usd: float | None = Field(description="The budget; null when there is none.")


class SpendOut(BaseModel):
    object: Literal["spend"] = "spend"
    scope: Literal["key", "team"]
    data: list[SpendRow]


class RecentStats(BaseModel):
    requests: int
    errors: int
    error_rate: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class DeploymentHealth(BaseModel):
    name: str
    provider: str
    model: str
    usable: bool = Field(description="Configured (its provider key is set, or it needs none).")
    circuit: Literal["closed", "open", "half_open"]
    readmits_in_s: float = Field(description="Seconds until an open circuit admits a probe.")
    in_flight: int
    ttft_ewma_ms: float | None = Field(description="The router's moving average of time to first token.")
    recent: RecentStats = Field(description="From the ledger over the health window.")


class RouteHealth(BaseModel):
    name: str
    strategy: str
    deployments: list[str]


class HealthOut(BaseModel):
    object: Literal["health"] = "health"
    window: int
    routes: list[RouteHealth]
    deployments: list[DeploymentHealth]


class RequestDetail(RequestRow):
    content: None = Field(None, description="Prompt and completion text are never stored in the ledger.")
