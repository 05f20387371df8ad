"""Rate-limit policy: rpm, tpm (estimate, then corrected), max_parallel, headers, key and team."""

from __future__ import annotations

import pytest

from llm_router.errors import RateLimited
from llm_router.messages import Usage
from llm_router.policies.base import PolicyChain
from llm_router.policies.counters import InProcessCounters
from llm_router.policies.limits import RateLimitPolicy, duration
from tests.policies.helpers import Clock, Limits, context, key, team

DEFAULT_USAGE = Usage(10, 5)


def policy(clock: Clock | None = None) -> RateLimitPolicy:
    return RateLimitPolicy(InProcessCounters(clock=clock or Clock()))


async def run(chain: PolicyChain, ctx, usage: Usage | None = DEFAULT_USAGE) -> None:
    await chain.admit(ctx)
    await chain.check(ctx)
    ctx.state.usage = usage
    await chain.settle(ctx)


async def test_rpm_refuses_the_sixth_with_retry_after_and_headers():
    chain = PolicyChain([policy()])
    alice, bob = key("alice", limits=Limits(rpm=5)), key("bob", limits=Limits(rpm=5))
    for i in range(5):
        ctx = context(alice)
        await run(chain, ctx)
        assert ctx.response_headers["x-ratelimit-limit-requests"] == "5"
        assert ctx.response_headers["x-ratelimit-remaining-requests"] == str(4 - i)
    ctx = context(alice)
    with pytest.raises(RateLimited) as refused:
        await run(chain, ctx)
    assert refused.value.retry_after == pytest.approx(60)  # all five at one instant: a minute
    assert "5 requests per minute" in refused.value.message and "key 'alice'" in refused.value.message
    assert ctx.response_headers["x-ratelimit-remaining-requests"] == "0"
    assert ctx.response_headers["x-ratelimit-reset-requests"] == "1m0s"
    await run(chain, context(bob))  # other keys unaffected


async def test_team_limit_is_shared_by_its_keys():
    chain = PolicyChain([policy()])
    blue = team(limits=Limits(rpm=2))
    a, b = key("a", team_id=blue.id), key("b", team_id=blue.id)
    await run(chain, context(a, blue))
    await run(chain, context(b, blue))
    with pytest.raises(RateLimited, match="team 'blue'"):
        await run(chain, context(a, blue))


async def test_tpm_charges_the_estimate_then_the_real_usage():
    chain = PolicyChain([policy()])
    alice = key(limits=Limits(tpm=1000))
    ctx = context(alice, prompt="x" * 400, max_tokens=500)  # about 104 + 500 tokens
    await chain.admit(ctx)
    await chain.check(ctx)
    assert int(ctx.response_headers["x-ratelimit-remaining-tokens"]) < 400
    ctx.state.usage = Usage(100, 50)
    await chain.settle(ctx)
    after = context(alice)
    await chain.admit(after)
    assert after.response_headers["x-ratelimit-remaining-tokens"] == "850"
    await chain.check(after)
    with pytest.raises(RateLimited, match="tokens per minute"):
        await chain.check(context(alice, prompt="y" * 4000, max_tokens=1))


async def test_max_parallel_counts_requests_in_flight():
    chain = PolicyChain([policy()])
    alice = key(limits=Limits(max_parallel=2))
    first, second, third = context(alice), context(alice), context(alice)
    await chain.check(first)
    await chain.check(second)
    with pytest.raises(RateLimited, match="max_parallel 2"):
        await chain.check(third)
    await chain.settle(first)
    await chain.check(third)


async def test_a_refusal_takes_nothing():
    """A tpm refusal gives back the rpm unit and the parallel slot it had taken."""
    chain = PolicyChain([policy()])
    alice = key(limits=Limits(rpm=3, tpm=100, max_parallel=1))
    await run(chain, context(alice), usage=Usage(90, 0))
    for _ in range(3):
        with pytest.raises(RateLimited, match="tokens per minute"):
            await chain.check(context(alice, prompt="z" * 200))
    ok = context(alice)
    await chain.check(ok)
    assert ok.response_headers["x-ratelimit-remaining-requests"] == "1"


async def test_unlimited_and_master_keys_get_no_headers():
    chain = PolicyChain([policy()])
    ctx = context(key())
    await run(chain, ctx)
    assert ctx.response_headers == {}


@pytest.mark.parametrize(("seconds", "text"), [(0.25, "250ms"), (12, "12s"), (90, "1m30s"), (12.5, "12.5s"),
                                               (60, "1m0s")])
def test_reset_format(seconds, text):
    assert duration(seconds) == text
