"""Usage records, one per request, and a bounded in-process ledger of totals.

A store (database, queue) can be plugged in by giving the Observer more sinks: each
receives every UsageRecord."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from llm_router.observability.state import RequestState


@dataclass(slots=True)
class UsageRecord:
    """What one request used and cost. Times in seconds; cost in USD (None: unknown).

    Read-only once built (the sinks, the log writer's thread and the tracer share it); not
    ``frozen`` because a frozen dataclass's ``__init__`` costs ~4x as much, once per request."""

    request_id: str
    timestamp: float
    surface: str
    route: str | None
    deployment: str | None
    provider: str | None
    model: str | None
    attempts: int
    possibly_billed_attempts: int  # failed attempts the provider may still bill for
    status: int
    error_type: str | None
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost_usd: float | None
    latency: float
    time_to_first_token: float | None
    streamed: bool
    cancelled: bool
    finish_reason: str | None
    usage_estimated: bool = False  # the provider reported no usage: the counts are our estimate
    cache: str | None = None  # the response cache: hit, miss or bypass (None: not cacheable)
    saved_cost_usd: float | None = None  # a cache hit: what the answer cost when it was made
    hedge_cancelled_attempts: int = 0  # hedged attempts that lost their race and were cancelled
    resumed: bool = False  # the stream went on on another deployment after a mid-stream failure
    uid: str = ""  # the gateway's own id of the request (RequestState.uid): the ledger's key

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, for JSON."""
        return {name: getattr(self, name) for name in self.__slots__}  # flat: cheaper than asdict


def build_record(state: RequestState, status: int, cost: float | None, now: float,
                 saved: float | None = None) -> UsageRecord:
    """The usage record for a finished request (``saved``: the cost a cache hit saved)."""
    usage = state.usage
    ttft = state.first_token_at - state.started if state.first_token_at is not None else None
    billed = hedged = 0
    for attempt in state.attempts:
        billed += attempt.possibly_billed
        hedged += attempt.hedge_cancelled
    return UsageRecord(
        request_id=state.request_id, uid=state.uid, timestamp=state.started_at, surface=state.surface,
        route=state.route, deployment=state.deployment, provider=state.provider, model=state.model,
        attempts=len(state.attempts), possibly_billed_attempts=billed,
        status=status, error_type=state.error_type,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cached_input_tokens=usage.cached_input_tokens if usage else 0,
        cost_usd=cost, latency=round(now - state.started, 6),
        time_to_first_token=round(ttft, 6) if ttft is not None else None,
        streamed=state.streamed, cancelled=state.cancelled, finish_reason=state.finish_reason,
        usage_estimated=bool(usage and usage.estimated),
        cache=state.cache, saved_cost_usd=saved,
        hedge_cancelled_attempts=hedged, resumed=state.resumed,
    )


class UsageSink(Protocol):
    """Anything that takes usage records (the ledger, a database writer, ...)."""

    def add(self, record: UsageRecord) -> None:
        """Take one record; must not block."""
        ...


_Key = tuple[int, str, str, str]  # minute, provider, model, route
FIELDS = ("requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens",
          "possibly_billed_attempts")


class UsageLedger:
    """Totals per minute, provider, model and route for the last ``retention`` seconds:
    memory is bounded by the number of combinations, not by traffic."""

    def __init__(self, retention: float = 86_400, max_rows: int = 100_000) -> None:
        self.retention = retention
        self.max_rows = max_rows
        self.rows: OrderedDict[_Key, dict[str, Any]] = OrderedDict()

    def add(self, record: UsageRecord) -> None:
        """Fold one record into its minute's totals."""
        key = (int(record.timestamp // 60), record.provider or "none", record.model or "none",
               record.route or "none")
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = {f: 0 for f in FIELDS} | {"cost_usd": 0.0, "unpriced": 0}
            self._trim(record.timestamp)
        row["requests"] += 1
        row["errors"] += record.status >= 400
        row["input_tokens"] += record.input_tokens  # FIELDS[2:], spelt out: once per request
        row["output_tokens"] += record.output_tokens
        row["cached_input_tokens"] += record.cached_input_tokens
        row["possibly_billed_attempts"] += record.possibly_billed_attempts
        if record.cost_usd is None:
            row["unpriced"] += record.status < 400
        else:
            row["cost_usd"] += record.cost_usd

    def totals(self, window: float, group_by: str, now: float | None = None) -> list[dict[str, Any]]:
        """Totals over the last ``window`` seconds, grouped by provider, model or route."""
        index = {"provider": 1, "model": 2, "route": 3}[group_by]
        since = int(((now or time.time()) - window) // 60)
        groups: dict[str, dict[str, Any]] = {}
        for key, row in self.rows.items():
            if key[0] < since:
                continue
            name = str(key[index])
            group = groups.setdefault(name, {group_by: name} | {f: 0 for f in FIELDS}
                                      | {"cost_usd": 0.0, "unpriced": 0})
            for name, value in row.items():
                group[name] += value
        for group in groups.values():
            group["cost_usd"] = round(group["cost_usd"], 8)
        return sorted(groups.values(), key=lambda g: str(g[group_by]))

    def _trim(self, now: float) -> None:
        oldest = int((now - self.retention) // 60)
        while self.rows and (next(iter(self.rows))[0] < oldest or len(self.rows) > self.max_rows):
            self.rows.popitem(last=False)
