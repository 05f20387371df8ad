"""Budget policy: reserve the worst case, reconcile with the real cost, refund failures;
spend earlier in the period comes from the ledger (a real database)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from llm_router.config.deployment import Price
from llm_router.errors import BudgetExceeded
from llm_router.messages import Usage
from llm_router.observability.usage import UsageRecord
from llm_router.policies.base import PolicyChain
from llm_router.policies.budget import DEFAULT_PRICE, BudgetPolicy, period_bounds, worst_case_micros
from llm_router.policies.counters import InProcessCounters
from llm_router.storage.ledger import Ledger
from llm_router.storage.usage_sink import DatabaseUsageSink, RequestOwners
from tests.policies.helpers import NOW, Budget, context, key, team
from tests.storage.db import migrated_engine

PRICE = Price(input=1.0, output=2.0)  # USD per million tokens
DEFAULT_USAGE = Usage(10, 10)


async def nothing_spent(scope, scope_id, since) -> int:
    return 0


def budget_policy(spent_since=nothing_spent, clock=lambda: NOW) -> tuple[BudgetPolicy, InProcessCounters]:
    store = InProcessCounters()
    return BudgetPolicy(store, spent_since, lambda model: PRICE, clock=clock), store


async def request(chain: PolicyChain, ctx, cost: float | None, usage: Usage | None = DEFAULT_USAGE) -> None:
    await chain.check(ctx)
    ctx.cost_usd, ctx.state.usage = cost, usage
    await chain.settle(ctx)


async def test_budget_runs_out_after_the_expected_number_of_requests():
    policy, store = budget_policy()
    chain = PolicyChain([policy])
    alice = key(budget=Budget(50_000, "month"))  # $0.05
    for _ in range(3):
        await request(chain, context(alice, max_tokens=100), cost=0.02)
    with pytest.raises(BudgetExceeded) as refused:
        await request(chain, context(alice, max_tokens=100), cost=0.02)
    assert "key 'alice'" in refused.value.message and "this month" in refused.value.message
    assert "resets at 2027-01-01T00:00:00Z" in refused.value.message
    assert refused.value.retry_after == (datetime(2027, 1, 1, tzinfo=UTC) - NOW).total_seconds()
    month = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    assert store.spent(f"budget:key:{alice.id}:{month}") == (60_000, 0)


async def test_failures_are_refunded_and_unknown_costs_priced_from_usage():
    policy, store = budget_policy()
    chain = PolicyChain([policy])
    alice = key(budget=Budget(1_000_000, "day"))
    await request(chain, context(alice), cost=None, usage=None)  # failed: no usage
    await request(chain, context(alice), cost=None, usage=Usage(1_000, 500))  # $0.001 + $0.001
    day = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    assert store.spent(f"budget:key:{alice.id}:{day}") == (2000, 0)


async def test_team_budget_applies_and_refunds_the_key_reservation():
    policy, store = budget_policy()
    chain = PolicyChain([policy])
    blue = team(budget=Budget(10_000, "total"))
    alice = key(team_id=blue.id, budget=Budget(1_000_000, "week"))
    await request(chain, context(alice, blue), cost=0.01)
    with pytest.raises(BudgetExceeded, match=r"team 'blue'.*never resets") as refused:
        await request(chain, context(alice, blue), cost=0.01)
    assert refused.value.retry_after is None
    week = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())
    assert store.spent(f"budget:key:{alice.id}:{week}") == (10_000, 0)


async def test_spend_before_a_restart_comes_from_the_ledger():
    async with migrated_engine("sqlite") as engine:
        ledger = Ledger(engine)
        owners = RequestOwners()
        sink = DatabaseUsageSink(ledger, owners)
        owners.set("old", "key_alice", None)
        sink.add(UsageRecord("old", time.time(), "openai", None, None, "openai", "m", 1, 0, 200, None, 1, 1, 0,
                             0.05, 0.1, None, False, False, "stop", uid="old"))
        await sink.flush()
        policy, _ = budget_policy(ledger.spend_micros, clock=lambda: datetime.now(UTC))
        with pytest.raises(BudgetExceeded):
            await PolicyChain([policy]).check(context(key(budget=Budget(50_000, "day"))))


def test_worst_case_uses_max_tokens_or_the_default():
    alice = key()
    assert worst_case_micros(context(alice, prompt="x" * 400, max_tokens=1000), PRICE) == 2104  # 104 in + 1000 out
    unknown = worst_case_micros(context(alice, prompt=""), None)
    assert unknown == round(4 * DEFAULT_PRICE.input + 4096 * DEFAULT_PRICE.output)


@pytest.mark.parametrize(("period", "start", "reset"), [
    ("day", datetime(2026, 12, 3, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC)),
    ("week", datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC)),
    ("month", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ("total", datetime(1970, 1, 1, tzinfo=UTC), None),
])
def test_period_bounds(period, start, reset):
    assert period_bounds(period, datetime(2026, 12, 3, 17, 5, tzinfo=UTC)) == (start, reset)
