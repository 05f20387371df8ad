"""The retry loop's promises, for any sequence of failures (Hypothesis)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.config.router_config import RetryBudgetConfig, Route, RouterConfig
from llm_router.errors import (
    AllTargetsFailed,
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamConnectionError,
    UpstreamRateLimited,
    UpstreamServerError,
)
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.routing.retry import RetryPolicy
from llm_router.routing.router import Router

TOTAL = 30.0


def make_router(retries: int = 2, names: tuple[str, ...] = ("a", "b")) -> tuple[Router, list[float]]:
    deployments = {
        n: Deployment(n, "openai", "m", "http://127.0.0.1:9", SecretStr("k"), Timeouts(total=TOTAL))
        for n in names
    }
    config = RouterConfig(deployments, {"smart": Route("smart", "fallback", names)},
                          RetryPolicy(retries=retries, max_retry_after=60), retry_budget=RetryBudgetConfig(1.0, 100))
    waits: list[float] = []
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    factory = ChatModelFactory(deployments, UpstreamClient())
    return Router(config, factory, sleep=fake_sleep, clock=lambda: now[0]), waits


def error(kind: str, retry_after: float | None) -> ProviderError:
    if kind == "429":
        e: ProviderError = UpstreamRateLimited("limited")
    elif kind == "quota":
        e = UpstreamRateLimited("quota", quota_exhausted=True)
    elif kind == "500":
        e = UpstreamServerError("boom")
    elif kind == "refused":
        e = UpstreamConnectionError("refused")
    else:
        e = UpstreamAuthFailed("bad key")
    e.retry_after = retry_after
    return e


failures = st.lists(st.tuples(st.sampled_from(["429", "quota", "500", "refused", "auth"]),
                              st.one_of(st.none(), st.floats(0, 200))), max_size=12)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(script=failures, retries=st.integers(0, 4))
def test_waits_fit_the_deadline_and_attempts_fit_the_policy(script, retries):
    router, waits = make_router(retries)
    calls: list[str] = []

    async def attempt(model, request):
        calls.append(model.deployment.name)
        if len(calls) <= len(script):
            raise error(*script[len(calls) - 1])
        return "ok"

    async def main():
        return await router.run("smart", _request(), attempt)

    try:
        result, outcome = asyncio.run(main())
        assert result == "ok" and outcome.attempts == len(calls)
    except AllTargetsFailed as failed:
        assert len(failed.errors) == len(calls)
    assert sum(waits) <= TOTAL
    assert all(w <= 60 for w in waits)
    assert len(calls) <= 2 * (retries + 1)
    assert calls.count("a") <= retries + 1


def test_bad_request_is_never_retried_nor_failed_over():
    router, waits = make_router()
    calls = []

    async def attempt(model, request):
        calls.append(model.deployment.name)
        raise UpstreamBadRequest("context too long", status=400)

    with pytest.raises(UpstreamBadRequest):
        asyncio.run(router.run("smart", _request(), attempt))
    assert calls == ["a"] and waits == []


def test_retry_after_longer_than_the_cap_fails_over_without_waiting():
    router, waits = make_router()
    calls = []

    async def attempt(model, request):
        calls.append(model.deployment.name)
        if model.deployment.name == "a":
            raise error("429", 120)
        return "ok"

    (result, outcome) = asyncio.run(router.run("smart", _request(), attempt))
    assert result == "ok" and calls == ["a", "b"] and waits == []
    assert outcome.deployment.name == "b" and outcome.attempts == 2


def run_with_a_failing(router) -> list[str]:
    """Run one request where deployment ``a`` always answers 500; the deployments tried."""
    calls = []

    async def attempt(model, request):
        calls.append(model.deployment.name)
        if model.deployment.name == "a":
            raise error("500", None)
        return "ok"

    asyncio.run(router.run("smart", _request(), attempt))
    return calls


def test_backoff_without_retry_after_then_fallback():
    router, waits = make_router(retries=2)
    calls = run_with_a_failing(router)
    assert calls == ["a", "a", "a", "b"]
    assert len(waits) == 2 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


def test_deployment_override_of_retries():
    router, _ = make_router(retries=2)
    router.factory.deployments["a"] = replace(router.factory.deployments["a"], retries=0)
    calls = run_with_a_failing(router)
    assert calls == ["a", "b"]


def _request():
    from llm_router.messages import ChatRequest, Message

    return ChatRequest("", (Message("user", "hi"),))


def test_retry_budget_is_a_share_of_recent_requests_plus_a_floor():
    from llm_router.routing.retry import RetryBudget

    budget = RetryBudget(ratio=0.2, minimum=3, window=10.0)
    for i in range(100):
        budget.record_request(i * 0.05)  # 100 requests within 5 s
    for _ in range(23):
        assert budget.allows_retry(5.0)
        budget.record_retry(5.0)
    assert not budget.allows_retry(5.0), "20% of 100 requests, plus the floor of 3"
    assert budget.allows_retry(16.0), "the window slid past them all: the floor applies again"
    quiet = RetryBudget(ratio=0.2, minimum=3)
    quiet.record_request(0.0)
    for _ in range(3):
        assert quiet.allows_retry(0.0)
        quiet.record_retry(0.0)
    assert not quiet.allows_retry(0.0)


@settings(max_examples=100, deadline=None)
@given(times=st.lists(st.floats(0, 100), max_size=200), ratio=st.floats(0, 1), minimum=st.integers(0, 5))
def test_retries_in_any_window_stay_within_the_budget(times, ratio, minimum):
    """However requests and retries interleave, the retries counted in the window never
    exceed ratio x requests + floor (each retry is checked then recorded)."""
    from llm_router.routing.retry import RetryBudget

    budget = RetryBudget(ratio=ratio, minimum=minimum, window=10.0)
    requests = retries = 0
    for i, now in enumerate(sorted(times)):
        if i % 2 == 0:
            budget.record_request(now)
            requests += 1
        elif budget.allows_retry(now):
            budget.record_retry(now)
            retries += 1
    assert retries <= minimum * (1 + 100 // 9) + ratio * requests + 1


def test_exhausted_retry_budget_fails_over_instead_of_retrying():
    router, waits = make_router(retries=2)
    router.budget.minimum, router.budget.ratio = 0, 0.0
    assert run_with_a_failing(router) == ["a", "b"]
    assert waits == []
