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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class _Scoped:
    """A budget of a key or of its team."""

    scope: Literal["key", "team"]
    scope_id: str
    label: str
    budget: Budget


@dataclass(frozen=True, slots=True)
class _Window:
    """One calendar period: its bounds, and the same as epoch seconds."""

    start: datetime
    reset: datetime | None
    start_ts: int
    reset_ts: float | None


class BudgetPolicy(BasePolicy):
    """Reserve, reconcile, refund."""

    name = "budget"
    #: How long a model name's price is reused before ``price_for`` is asked again.
    PRICE_TTL = 5.0
    MAX_PRICES = 1024

    def __init__(self, store: CounterStore, spent_since: SpentSince,
                 price_for: Callable[[str], Price | None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.spent_since = spent_since
        self.price_for = price_for or PriceTable().lookup
        self.clock = clock
        self.monotonic = monotonic
        self._windows: dict[Period, _Window] = {}
        self._prices: dict[str, tuple[float, Price | None]] = {}

    async def check(self, ctx: RequestContext) -> None:
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth):
            return
        budgets = _budgets(auth)
        if not budgets:
            return
        amount = worst_case_micros(ctx, self._price(ctx.model))
        now = self.clock()
        for scoped in budgets:
            window = self._window(scoped.budget.period, now)
            counter = f"budget:{scoped.scope}:{scoped.scope_id}:{window.start_ts}"
            ttl = window.reset_ts - now.timestamp() + 3600 if window.reset_ts is not None else 86_400.0
            seed = functools.partial(self.spent_since, scoped.scope, scoped.scope_id, window.start)
            try:
                result = await self.store.reserve(counter, amount, scoped.budget.max_micros, seed, ttl)
            except STORAGE_ERRORS:  # the period's earlier spend is unknown: fail closed
                await self._refund(auth)
                raise Overloaded(STORAGE_DOWN, retry_after=1.0) from None
            if not result.allowed:
                await self._refund(auth)
                raise _exceeded(scoped.label, scoped.budget, result.used, window.reset, now)
            auth.held.reservations.append((counter, amount))

    async def settle(self, ctx: RequestContext) -> None:
        auth = ctx.principal.data
        if not isinstance(auth, VirtualAuth) or not auth.held.reservations:
            return
        actual = self._real_micros(ctx)
        for counter, reserved in auth.held.reservations:
            await self.store.commit(counter, reserved, actual)
        auth.held.reservations.clear()

    def _window(self, period: Period, now: datetime) -> _Window:
        """The period containing ``now``, computed once per period and policy."""
        window = self._windows.get(period)
        if window is None or now < window.start or (window.reset is not None and now >= window.reset):
            start, reset = period_bounds(period, now)
            window = self._windows[period] = _Window(start, reset, int(start.timestamp()),
                                                     reset.timestamp() if reset else None)
        return window

    def _price(self, model: str) -> Price | None:
        """``price_for(model)``, reused for ``PRICE_TTL`` seconds (a route's lookup is not free)."""
        now = self.monotonic()
        known = self._prices.get(model)
        if known is not None and known[0] > now:
            return known[1]
        if len(self._prices) >= self.MAX_PRICES:
            self._prices.clear()
        price = self.price_for(model)
        self._prices[model] = (now + self.PRICE_TTL, price)
        return price

    def _real_micros(self, ctx: RequestContext) -> int:
        if ctx.cost_usd is not None:
            return usd_to_micros(ctx.cost_usd)
        usage = ctx.state.usage
        if usage is None:
            return 0
        return math.ceil((PriceTable.cost(self._price(ctx.model) or DEFAULT_PRICE, usage) or 0) * 1e6)

    async def _refund(self, auth: VirtualAuth) -> None:
        for counter, reserved in auth.held.reservations:
            await self.store.commit(counter, reserved, 0)
        auth.held.reservations.clear()


def _budgets(auth: VirtualAuth) -> tuple[_Scoped, ...]:
    """The budgets that apply to a key (its own, its team's), made once per auth-cache entry."""
    found: tuple[_Scoped, ...] | None = auth.memo.get("budgets")
    if found is None:
        out: list[_Scoped] = []
        if auth.key.rules.budget is not None:
            out.append(_Scoped("key", auth.key.id, f"key '{auth.key.name}'", auth.key.rules.budget))
        if auth.team is not None and auth.team.rules.budget is not None:
            out.append(_Scoped("team", auth.team.id, f"team '{auth.team.name}'", auth.team.rules.budget))
        found = auth.memo["budgets"] = tuple(out)
    return found


def _exceeded(label: str, budget: Budget, used: int, reset: datetime | None, now: datetime) -> BudgetExceeded:
    spent = f"${micros_to_usd(min(used, budget.max_micros)):.6f} of ${micros_to_usd(budget.max_micros):.6f}"
    if reset is None:
        return BudgetExceeded(f"Budget exceeded for {label}: {spent} (total budget, never resets).")
    when = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
    return BudgetExceeded(f"Budget exceeded for {label}: {spent} this {budget.period}; resets at {when}.",
                          retry_after=(reset - now).total_seconds())
