"""The hedged race's promises for any script of attempt outcomes (Hypothesis), with the
router's injected clock and sleep (the hedge timer fires as soon as the race waits)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.config.router_config import HedgeRule, RetryBudgetConfig, Route, RouterConfig
from llm_router.errors import AllTargetsFailed, UpstreamServerError
from llm_router.messages import ChatRequest, Message
from llm_router.observability.state import begin_request
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.routing.retry import RetryPolicy
from llm_router.routing.router import Router

NAMES = ("a", "b", "c", "d")


def make_router(hedges: int, budget: int) -> Router:
    deployments = {n: Deployment(n, "openai", "m", "http://127.0.0.1:9", SecretStr("k"), Timeouts(total=30))
                   for n in NAMES}
    route = Route("smart", "fallback", NAMES, hedge=HedgeRule(0.1, hedges))
    config = RouterConfig(deployments, {"smart": route}, RetryPolicy(retries=0),
                          retry_budget=RetryBudgetConfig(0.0, budget))
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    return Router(config, ChatModelFactory(deployments, UpstreamClient()), sleep=fake_sleep, clock=lambda: now[0])


# Per deployment: how many loop turns the attempt takes, and whether it then fails.
lane = st.tuples(st.integers(0, 6), st.booleans())


@settings(max_examples=200, deadline=None)
@given(script=st.lists(lane, min_size=4, max_size=4), hedges=st.integers(1, 3), budget=st.integers(0, 3))
def test_a_race_returns_a_winner_iff_one_succeeds_and_leaks_nothing(script, hedges, budget):
    router = make_router(hedges, budget)
    started: list[str] = []

    async def attempt(model, request):
        name = model.deployment.name
        started.append(name)
        turns, fails = script[NAMES.index(name)]
        for _ in range(turns):
            await asyncio.sleep(0)
        if fails:
            raise UpstreamServerError("boom")
        return name

    async def scenario():
        state = begin_request("r", "openai")
        request = ChatRequest("m", (Message("user", "hi"),))
        try:
            result, outcome = await router.run("smart", request, attempt)
        except AllTargetsFailed:
            result = outcome = None
        for _ in range(50):  # let the cancelled losers finish their clean-up
            if not router.reaping:
                break
            await asyncio.sleep(0)
        return result, outcome, state

    result, outcome, state = asyncio.run(scenario())
    assert sum(a.hedge for a in state.attempts) <= min(hedges, budget)  # the retry budget holds
    assert len(state.attempts) == len(started)
    assert len(started) == len(set(started)) and started == list(NAMES[:len(started)])
    if result is None:
        assert all(fails for _, fails in script[:len(started)]) and len(started) == len(NAMES)
    else:
        assert result == outcome.deployment.name and not script[NAMES.index(result)][1]
        assert outcome.attempts == len(started)
        losers = [a for a in state.attempts if a.deployment != result and a.error_type in (None, "cancelled")]
        assert all(a.hedge_cancelled and a.possibly_billed for a in losers)
        assert not any(a.hedge_cancelled for a in state.attempts if a.deployment == result)
        outcome.release()
    assert all(count == 0 for count in router.stats.in_flight.values()), router.stats.in_flight
    assert not router.reaping
