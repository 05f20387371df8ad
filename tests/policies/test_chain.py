"""The chain skips stages a policy does not override, yet still lists every checked policy;
what the policies derive from a key's records follows the records (per auth-cache entry)."""

from __future__ import annotations

import pytest

from llm_router.errors import RateLimited
from llm_router.policies.auth import VirtualAuth
from llm_router.policies.base import BasePolicy, PolicyChain
from llm_router.policies.counters import InProcessCounters
from llm_router.policies.limits import RateLimitPolicy
from tests.policies.helpers import Clock, Limits, context, key


class Settles(BasePolicy):
    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    async def settle(self, ctx) -> None:
        self.seen.append("settle")


async def test_checked_lists_every_policy_and_settle_runs_for_overriders():
    seen: list[str] = []
    plain, settles = BasePolicy(), Settles(seen)
    chain = PolicyChain([plain, settles])
    ctx = context(key())
    await chain.admit(ctx)
    await chain.check(ctx)
    assert ctx.checked == [plain, settles]
    await chain.settle(ctx)
    assert seen == ["settle"] and ctx.checked == []


async def test_new_records_bring_new_limits_at_once():
    chain = PolicyChain([RateLimitPolicy(InProcessCounters(clock=Clock()))])
    loose = key(limits=Limits(rpm=100))
    memo: dict[str, object] = {}
    ctx = context(loose)
    ctx.principal.data = VirtualAuth(loose, None, memo=memo)
    await chain.check(ctx)  # the scopes are derived and kept in this entry's memo
    await chain.settle(ctx)
    tight = key(limits=Limits(rpm=1))  # the key changed: a new cache entry, a new memo
    ctx = context(tight)
    with pytest.raises(RateLimited, match="1 requests per minute"):
        await chain.check(ctx)
