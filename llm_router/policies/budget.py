"""Budgets of a key and its team, reserved before the upstream call.

At ``check`` the request's worst-case cost (prompt estimate + ``max_tokens``, or
``DEFAULT_OUTPUT_TOKENS`` when unset, at the model's price, or ``DEFAULT_PRICE`` when the
model has none) is reserved against every budget that applies; a reservation is admitted
while spent + outstanding < max, so a budget is overrun by at most one request's cost per
instance (as long as the request stays within its reservation). ``settle`` replaces the
reservation by the real cost (``ctx.cost_usd``, else the real usage at the same price);
a request that failed with no usage costs nothing. Periods are calendar periods in UTC:
``day`` from midnight, ``week`` from Monday, ``month`` from the 1st; ``total`` never resets.
What was spent earlier in the period is read once from the usage ledger."""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from llm_router.config.deployment import Price
from llm_router.errors import BudgetExceeded, Overloaded
from llm_router.messages import Usage
from llm_router.observability.pricing import PriceTable
from llm_router.policies.auth import STORAGE_DOWN, STORAGE_ERRORS, VirtualAuth
from llm_router.policies.base import BasePolicy, RequestContext
from llm_router.policies.counters import CounterStore
from llm_router.policies.estimate import DEFAULT_OUTPUT_TOKENS, estimate
from llm_router.storage.records import Budget, Period, micros_to_usd, usd_to_micros

#: USD per million tokens assumed for a model with no known price (a top-tier model's).
DEFAULT_PRICE = Price(input=15.0, output=75.0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: What a key or team spent since a time, in micro-dollars (``Ledger.spend_micros``).
SpentSince = Callable[[Literal["key", "team"], str, datetime], Awaitable[int]]


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime | None]:
    """(start, next reset) of the period containing ``now`` (UTC); total: (epoch, None)."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        return start, (start + timedelta(days=32)).replace(day=1)
    return _EPOCH, None


def worst_case_micros(ctx: RequestContext, price: Price | None) -> int:
    """The most the request is expected to cost, in micro-dollars."""
    prompt, output = estimate(ctx)
    usage = Usage(input_tokens=prompt, output_tokens=output if output is not None else DEFAULT_OUTPUT_TOKENS)
    return math.ceil((PriceTable.cost(price or DEFAULT_PRICE, usage) or 0.0) * 1_000_000)


class BudgetPolicy(BasePolicy):
    """Reserve, reconcile, refund."""

    name = "budget"

    def __init__(self, store: CounterStore, spent_since: SpentSince,
                 price_for: Callable[[str], Price | None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.spent_since = spent_since
        self.price_for = price_for or PriceTable().lookup
        self.clock = clock

    async def check(self, ctx: RequestContext) -> None:
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth):
            return
        amount = worst_case_micros(ctx, self.price_for(ctx.model))
        now = self.clock()
        for scope, scope_id, label, budget in self._budgets(auth):
            start, reset = period_bounds(budget.period, now)
            counter = f"budget:{scope}:{scope_id}:{int(start.timestamp())}"
            ttl = (reset - now).total_seconds() + 3600 if reset else 86_400.0
            seed = functools.partial(self.spent_since, scope, scope_id, start)
            try:
                result = await self.store.reserve(counter, amount, budget.max_micros, seed, ttl)
            except STORAGE_ERRORS:  # the period's earlier spend is unknown: fail closed
                await self._refund(auth)
                raise Overloaded(STORAGE_DOWN, retry_after=1.0) from None
            if not result.allowed:
                await self._refund(auth)
                raise _exceeded(label, budget, result.used, reset, now)
            auth.held.reservations.append((counter, amount))

    async def settle(self, ctx: RequestContext) -> None:
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth):
            return
        actual = self._real_micros(ctx)
        for counter, reserved in auth.held.reservations:
            await self.store.commit(counter, reserved, actual)
        auth.held.reservations.clear()

    def _real_micros(self, ctx: RequestContext) -> int:
        if ctx.cost_usd is not None:
            return usd_to_micros(ctx.cost_usd)
        usage = ctx.state.usage
        if usage is None:
            return 0
        return math.ceil((PriceTable.cost(self.price_for(ctx.model) or DEFAULT_PRICE, usage) or 0) * 1e6)

    async def _refund(self, auth: VirtualAuth) -> None:
        for counter, reserved in auth.held.reservations:
            await self.store.commit(counter, reserved, 0)
        auth.held.reservations.clear()

    @staticmethod
    def _budgets(auth: VirtualAuth) -> list[tuple[Literal["key", "team"], str, str, Budget]]:
        out: list[tuple[Literal["key", "team"], str, str, Budget]] = []
        if auth.key.rules.budget is not None:
            out.append(("key", auth.key.id, f"key '{auth.key.name}'", auth.key.rules.budget))
        if auth.team is not None and auth.team.rules.budget is not None:
            out.append(("team", auth.team.id, f"team '{auth.team.name}'", auth.team.rules.budget))
        return out


def _exceeded(label: str, budget: Budget, used: int, reset: datetime | None, now: datetime) -> BudgetExceeded:
    spent = f"${micros_to_usd(min(used, budget.max_micros)):.6f} of ${micros_to_usd(budget.max_micros):.6f}"
    if reset is None:
        return BudgetExceeded(f"Budget exceeded for {label}: {spent} (total budget, never resets).")
    when = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
    return BudgetExceeded(f"Budget exceeded for {label}: {spent} this {budget.period}; resets at {when}.",
                          retry_after=(reset - now).total_seconds())
