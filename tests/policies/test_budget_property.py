"""Property: for any interleaving of reservations, completions and failures, the recorded
spend equals the sum of the real costs, nothing stays reserved, and the budget is never
exceeded by more than one request's cost (each real cost within its reservation)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router.config.deployment import Price
from llm_router.errors import BudgetExceeded
from llm_router.messages import Usage
from llm_router.policies.base import PolicyChain
from llm_router.policies.budget import BudgetPolicy, worst_case_micros
from llm_router.policies.counters import InProcessCounters
from tests.policies.helpers import NOW, Budget, context, key

PRICE = Price(input=3.0, output=15.0)

start = st.tuples(st.just("start"), st.integers(1, 4000), st.floats(0, 1), st.booleans())
finish = st.tuples(st.just("finish"), st.integers(0, 50), st.just(0.0), st.just(False))


async def nothing_spent(scope, scope_id, since) -> int:
    return 0


async def scenario(limit: int, actions: list[tuple]) -> None:
    store = InProcessCounters()
    chain = PolicyChain([BudgetPolicy(store, nothing_spent, lambda m: PRICE, clock=lambda: NOW)])
    alice = key(budget=Budget(limit, "total"))
    open_requests: list[tuple] = []
    real_total, biggest = 0, 0

    async def complete(ctx, real: int, fails: bool) -> int:
        ctx.cost_usd = None if fails else real / 1_000_000
        ctx.state.usage = None if fails else Usage(1, 1)
        await chain.settle(ctx)
        return 0 if fails else real

    for kind, number, fraction, fails in actions:
        if kind == "start":
            ctx = context(alice, prompt="hi", max_tokens=number)
            try:
                await chain.check(ctx)
            except BudgetExceeded:
                continue
            real = int(worst_case_micros(ctx, PRICE) * fraction)
            open_requests.append((ctx, real, fails))
            biggest = max(biggest, real)
        elif open_requests:
            ctx, real, fails = open_requests.pop(number % len(open_requests))
            real_total += await complete(ctx, real, fails)
    for ctx, real, fails in open_requests:
        real_total += await complete(ctx, real, fails)
    spent, outstanding = store.spent(f"budget:key:{alice.id}:0") or (0, 0)
    assert outstanding == 0
    assert spent == real_total
    assert spent <= limit + biggest


@settings(max_examples=300, deadline=None)
@given(limit=st.integers(1, 200_000), actions=st.lists(st.one_of(start, finish), max_size=60))
def test_spend_is_exact_and_overshoot_is_bounded_by_one_request(limit, actions):
    asyncio.run(scenario(limit, actions))
