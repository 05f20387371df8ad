"""Admin API routes behind the console's pages (and any script): usage time series and top
spenders, spend per budget period, deployment health, a request's details and the CSV export
of the request log. Same authentication as every admin route (``api/admin.py``)."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime
from starlette.responses import StreamingResponse

from llm_router.admin_service import AdminService
from llm_router.api.admin import _ERRORS, Admin, IdFilter, TextFilter, _StorageRoute
from llm_router.api.admin_console_schema import (
    DeploymentHealth,
    HealthOut,
    RecentStats,
    RequestDetail,
    RouteHealth,
    SeriesOut,
    SeriesPoint,
    SpendOut,
    SpendRow,
    TopGroup,
    TopOut,
    Totals,
)
from llm_router.errors import InvalidRequest
from llm_router.policies.budget import period_bounds
from llm_router.routing.router import Router
from llm_router.storage.console import ConsoleQueries, TopBy, default_bucket
from llm_router.storage.ledger import REQUEST_FIELDS, RequestFilter
from llm_router.storage.records import micros_to_usd

router = APIRouter(prefix="/admin", tags=["admin"], responses=_ERRORS, route_class=_StorageRoute)
Window = Annotated[int, Query(ge=60, le=400 * 86_400, description="Seconds back from now.")]
EXPORT_PAGE = 1000


def _service(request: Request) -> AdminService:
    return cast(AdminService, request.app.state.admin.service)


def _queries(request: Request) -> ConsoleQueries:
    return cast(ConsoleQueries, request.app.state.console_queries)  # set by install_console


def _totals(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "cost_usd": micros_to_usd(row["cost_micros"])}


@router.get("/usage/series", response_model=SeriesOut)
async def usage_series(request: Request, _: Admin, window: Window = 86_400,
                       bucket: Annotated[int | None, Query(ge=60, le=86_400)] = None) -> SeriesOut:
    """Requests, errors, tokens and cost per time bucket over the last ``window`` seconds.
    Buckets of whole hours come from the hourly rollup (fast at millions of rows)."""
    bucket = bucket or default_bucket(window)
    if window // bucket > 2000:
        raise InvalidRequest("At most 2000 buckets: use a wider bucket.", "bucket")
    await _service(request).flush()
    span, points = await _queries(request).series(window, bucket)
    total = {name: sum(p[name] for p in points) for name in points[0] if name != "t"} if points else {}
    return SeriesOut(window=window, bucket=bucket, since=span.since,
                     totals=Totals(**_totals(total or dict.fromkeys(Totals.model_fields, 0))),
                     data=[SeriesPoint(**_totals(p)) for p in points])


@router.get("/usage/top", response_model=TopOut)
async def usage_top(request: Request, _: Admin, window: Window = 86_400,
                    by: TopBy = "key",
                    limit: Annotated[int, Query(ge=1, le=100)] = 10) -> TopOut:
    """The biggest spenders (then the busiest) over the window, with key and team names."""
    service = _service(request)
    await service.flush()
    span, rows = await _queries(request).top(window, by, limit, default_bucket(window))
    names = await _names(service, by)
    data = []
    for row in rows:
        value = row.pop("value")
        data.append(TopGroup(group=value, name=names.get(value or ""), **_totals(row)))
    return TopOut(window=window, by=by, since=span.since, data=data)


async def _names(service: AdminService, by: str) -> dict[str, str]:
    if by == "key":
        return {k.id: k.name for k in await service.repository.list_keys(None, True)}
    if by == "team":
        return {t.id: t.name for t in await service.repository.list_teams()}
    return {}


@router.get("/spend", response_model=SpendOut)
async def spend(request: Request, _: Admin, scope: Literal["key", "team"] = "key") -> SpendOut:
    """What each active key (or team) spent in its budget's current period, against the budget."""
    service = _service(request)
    await service.flush()
    records = (await service.repository.list_keys(None, False) if scope == "key"
               else await service.repository.list_teams())
    now = datetime.now(UTC)
    periods = {r.id: r.rules.budget.period if r.rules.budget else "month" for r in records}
    bounds = {r.id: period_bounds(periods[r.id], now) for r in records}
    spent = await _queries(request).spend(scope, (start for start, _ in bounds.values()))
    data = [SpendRow(id=r.id, name=r.name, period=periods[r.id], period_start=bounds[r.id][0],
                     resets_at=bounds[r.id][1],
                     spend_usd=micros_to_usd(spent[bounds[r.id][0]].get(r.id, 0)),
                     max_usd=micros_to_usd(r.rules.budget.max_micros) if r.rules.budget else None)
            for r in records]
    return SpendOut(scope=scope, data=data)


def _percentile(values: list[int], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1])


def _recent(rows: list[dict[str, Any]]) -> RecentStats:
    errors = sum(1 for r in rows if r["status"] >= 400)
    ttft = [r["ttft_ms"] for r in rows if r["ttft_ms"] is not None and r["status"] < 400]
    latency = [r["latency_ms"] for r in rows if r["status"] < 400]
    return RecentStats(requests=len(rows), errors=errors, error_rate=errors / len(rows) if rows else None,
                       ttft_p50_ms=_percentile(ttft, 0.5), ttft_p95_ms=_percentile(ttft, 0.95),
                       latency_p50_ms=_percentile(latency, 0.5), latency_p95_ms=_percentile(latency, 0.95))


@router.get("/health", response_model=HealthOut)
async def health(request: Request, _: Admin,
                 window: Annotated[int, Query(ge=60, le=86_400)] = 900) -> HealthOut:
    """Routes and deployments: circuit state and load from the router's live health, recent
    time to first token (p50/p95) and error rate from the ledger over ``window`` seconds."""
    gateway_router = cast(Router, request.app.state.gateway.router)
    await _service(request).flush()
    by_deployment: dict[str, list[dict[str, Any]]] = {}
    for row in await _queries(request).recent(window):
        by_deployment.setdefault(row["deployment"] or "", []).append(row)
    routes = [RouteHealth(name=name, strategy=route.strategy, deployments=list(route.deployments))
              for name, route in gateway_router.config.routes.items()]
    factory, board, stats = gateway_router.factory, gateway_router.health, gateway_router.stats
    deployments = [
        DeploymentHealth(
            name=d.name, provider=d.provider, model=d.model, usable=factory.usable(d),
            circuit=cast(Any, board.state(d.name)), readmits_in_s=round(board.readmits_in(d.name), 3),
            in_flight=stats.in_flight.get(d.name, 0),
            ttft_ewma_ms=round(stats.latency[d.name] * 1000, 1) if d.name in stats.latency else None,
            recent=_recent(by_deployment.get(d.name, [])))
        for d in sorted(factory.deployments.values(), key=lambda d: d.name)]
    return HealthOut(window=window, routes=routes, deployments=deployments)


def _filter(key_id: IdFilter = None, team_id: IdFilter = None, model: TextFilter = None,
            provider: TextFilter = None, request_id: TextFilter = None,
            status: Annotated[int | None, Query(ge=100, le=599)] = None,
            outcome: Literal["ok", "error"] | None = None,
            since: AwareDatetime | None = None, until: AwareDatetime | None = None) -> RequestFilter:
    return RequestFilter(key_id, team_id, model, status, None, EXPORT_PAGE, provider, request_id, since,
                         until, outcome)


def _cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a '."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def _csv_rows(service: AdminService, where: RequestFilter, max_rows: int) -> AsyncIterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*REQUEST_FIELDS, "cost_usd"])
    sent, before = 0, None
    while sent < max_rows:
        page = replace(where, before=before, limit=min(EXPORT_PAGE, max_rows - sent))
        rows = await service.ledger.requests(page)
        for row in rows:
            cost = row["cost_micros"]
            writer.writerow([_cell(row[f]) for f in REQUEST_FIELDS] +
                            [micros_to_usd(cost) if cost is not None else ""])
        sent += len(rows)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < page.limit:
            return
        before = rows[-1]["id"]


@router.get("/requests/export.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "The filtered request log as CSV."}})
async def export_requests(request: Request, _: Admin, where: Annotated[RequestFilter, Depends(_filter)],
                          max_rows: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000) -> StreamingResponse:
    """The request log filtered as ``/admin/requests`` filters it, newest first, as CSV (the
    same columns plus ``cost_usd``; at most ``max_rows`` rows)."""
    service = _service(request)
    await service.flush()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(_csv_rows(service, where, max_rows), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="requests-{stamp}.csv"',
                                      "cache-control": "no-store"})


@router.get("/requests/{row_id}", response_model=RequestDetail)
async def request_detail(request: Request, _: Admin,
                         row_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> RequestDetail:
    """One ledger row (``id`` from ``/admin/requests``): deployment, timings, tokens, cost, error."""
    await _service(request).flush()
    row = await _queries(request).request_row(row_id)
    if row is None:
        raise InvalidRequest(f"No request with id {row_id}.", "id", status=404)
    cost = row["cost_micros"]
    return RequestDetail(**row, cost_usd=micros_to_usd(cost) if cost is not None else None)
