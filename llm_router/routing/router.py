"""The one retry loop: try a route's deployments in strategy order, retry what is
retryable with backoff, honour Retry-After, fail over, and never pass the deadline.

Streams are routed here too (``Router.stream``): retried and failed over until their first
content, then carried to their end by ``routing.stream.ChatStream``. When every deployment
of a route is cooling down the request fails fast (Overloaded, 503 with Retry-After) and
only the half-open probes reach upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from llm_router import aio
from llm_router.config.deployment import Deployment
from llm_router.config.router_config import RouterConfig
from llm_router.errors import (
    AllTargetsFailed,
    ClientError,
    Overloaded,
    ProviderError,
    RouterError,
    UpstreamBadRequest,
    UpstreamConnectionError,
    UpstreamTimeout,
)
from llm_router.messages import ChatRequest
from llm_router.observability.state import AttemptRecord, current_state
from llm_router.providers.base import ChatModel
from llm_router.providers.factory import ChatModelFactory
from llm_router.routing import output_cap
from llm_router.routing.health import HealthBoard
from llm_router.routing.hedge import current_lane, hedgeable, race
from llm_router.routing.resume import Continue, Continued, Resumption, continuation_request
from llm_router.routing.retry import RetryBudget
from llm_router.routing.strategies import LoadStats
from llm_router.routing.stream import ChatStream, Opened, open_stream

T = TypeVar("T")
Attempt = Callable[[ChatModel, ChatRequest], Awaitable[T]]


@dataclass(slots=True)
class Outcome:
    """What happened to one request: who answered, after how many attempts, which failed."""

    deployment: Deployment
    route: str
    attempts: int = 1
    errors: list[RouterError] = field(default_factory=list)
    release: Callable[[], None] = lambda: None
    #: When the request's ``total`` timeout ends, on the router's clock.
    deadline: float = float("inf")


@dataclass(slots=True)
class _Run:
    route: str
    deployments: list[Deployment]
    deadline: float
    alone: bool  # the route has one deployment: it is never ejected
    errors: list[RouterError] = field(default_factory=list)


class Router:
    """Resolves a name to deployments and runs attempts against them."""

    def __init__(self, config: RouterConfig, factory: ChatModelFactory,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.factory = factory
        self.health = HealthBoard(config.cooldown.failures, config.cooldown.base, config.cooldown.max)
        self.stats = LoadStats()
        self.budget = RetryBudget(config.retry_budget.ratio, config.retry_budget.minimum)
        self.sleep = sleep
        self.clock = clock  # deadlines and waits are planned on this clock
        #: Awaited before each upstream attempt is sent (the usage journal's intent,
        #: ``storage/journal.py``); if it raises, the attempt is not made. None: nothing.
        self.before_attempt: Callable[[AttemptRecord], Awaitable[None]] | None = None
        #: Cancelled hedge attempts finishing their clean-up (``routing/hedge.py``).
        self.reaping: set[asyncio.Task[None]] = set()

    def names(self) -> list[tuple[str, str]]:
        """Route names and the strategy behind each."""
        return [(name, route.strategy) for name, route in self.config.routes.items()]

    def plan(self, name: str) -> tuple[str, list[Deployment]]:
        """The route name and its usable deployments, in the order to try them."""
        route = self.config.routes.get(name)
        if route is None:
            deployment = self.factory.resolve(name)
            return deployment.name, [deployment]
        usable = [self.factory.deployments[n] for n in route.deployments
                  if self.factory.usable(self.factory.deployments[n])]
        if not usable:
            self.factory.resolve(route.deployments[0])  # raises ProviderUnavailable naming the key
        by_name = {d.name: d for d in usable}
        order = self.stats.order(route.strategy, list(by_name), [d.weight for d in usable])
        return name, [by_name[n] for n in order]

    async def run(self, name: str, request: ChatRequest, attempt: Attempt[T]) -> tuple[T, Outcome]:
        """Run ``attempt`` until one succeeds; AllTargetsFailed holds every failure."""
        result, outcome, _ = await self._run(name, request, attempt)
        return result, outcome

    async def stream(self, name: str, request: ChatRequest) -> ChatStream:
        """A committed stream: returns once the first content (or the end) has arrived."""

        async def attempt(model: ChatModel, canonical: ChatRequest) -> tuple[Opened, float | None]:
            opened = await open_stream(model, canonical)
            return opened, model.deployment.timeouts.stream_idle if model.idle_bounded else None

        ((head, rest), idle_bound), outcome, run = await self._run(name, request, attempt, _close_stream)
        name = outcome.deployment.name
        route = self.config.routes.get(run.route)
        resume = Resumption(self._continuation(run, request, name)) if route and route.resume else None
        return ChatStream(outcome, head, rest, request=request, deadline=outcome.deadline,
                          clock=self.clock, idle_bound=idle_bound, on_failure=self._failed(run, name),
                          resume=resume)

    def _failed(self, run: _Run, name: str) -> Callable[[ProviderError], None]:
        """What a stream calls when its deployment ``name`` fails after the first content."""

        def failed(error: ProviderError) -> None:
            self.health.failure(name, error, not run.alone)

        return failed

    def _continuation(self, run: _Run, request: ChatRequest, failed: str) -> Continue:
        """How a stream that failed midway on ``failed`` goes on: the route's other
        deployments in order (``failed`` itself when it is alone), within the deadline and
        the retry budget (``routing/resume.py``)."""

        async def go_on(delivered: str) -> Continued | None:
            async def attempt(model: ChatModel, canonical: ChatRequest) -> Opened:
                return await open_stream(model, continuation_request(canonical, delivered, model.provider))

            now = self.clock()
            if not self.budget.allows_retry(now):
                return None
            self.budget.record_retry(now)
            targets = [d for d in run.deployments if d.name != failed] or run.deployments
            for index, deployment in enumerate(targets):
                try:
                    result = await self._try(run, deployment, index, request, attempt)
                except RouterError:
                    return None
                if result is not None:
                    (head, rest), outcome = result
                    return Continued(head, rest, outcome, self._failed(run, deployment.name))
            return None

        return go_on

    async def _run(self, name: str, request: ChatRequest, attempt: Attempt[T],
                   discard: Callable[[tuple[T, Outcome]], Awaitable[None]] | None = None,
                   ) -> tuple[T, Outcome, _Run]:
        route, deployments = self.plan(name)
        state = current_state()
        if state is not None:
            state.route = route
        now = self.clock()
        run = _Run(route, self._candidates(deployments), now + deployments[0].timeouts.total,
                   alone=len(deployments) == 1)
        self.budget.record_request(now)
        rule = self.config.routes[route].hedge if route in self.config.routes else None
        if rule is not None and hedgeable(rule, request, len(run.deployments)):
            won = await race(self, run, request, attempt, rule, discard or _release)
            return (*won, run)
        for index, deployment in enumerate(run.deployments):
            result = await self._try(run, deployment, index, request, attempt)
            if result is not None:
                return (*result, run)
        raise AllTargetsFailed(run.errors)

    def _candidates(self, deployments: list[Deployment]) -> list[Deployment]:
        """Deployments below their concurrency limit whose circuit admits a request (a
        half-open circuit admits its one probe). When every circuit of a route is open the
        request fails fast; a deployment alone on its route is never ejected."""
        open_slots = [d for d in deployments if d.max_concurrency is None
                      or self.stats.in_flight.get(d.name, 0) < d.max_concurrency]
        if not open_slots:
            raise Overloaded("Every deployment of this route is at its concurrency limit.",
                             retry_after=1.0)
        admitted = [d for d in open_slots if self.health.admits(d.name)]
        if admitted or len(deployments) == 1:
            return admitted or open_slots
        wait = min(self.health.readmits_in(d.name) for d in open_slots)
        raise Overloaded("Every deployment of this route is cooling down after failures.",
                         retry_after=max(wait, 0.001))

    async def _try(self, run: _Run, deployment: Deployment, index: int, request: ChatRequest,
                   attempt: Attempt[T]) -> tuple[T, Outcome] | None:
        """Up to 1 + retries attempts on one deployment; None means fail over."""
        model = self.factory.for_deployment(deployment)
        retries = self.config.policy.retries if deployment.retries is None else deployment.retries
        has_next = index + 1 < len(run.deployments)
        for retry in range(retries + 1):
            if retry and not await self._wait_for_retry(run, retry - 1):
                return None
            try:
                return await self._attempt(run, model, request, attempt, is_retry=retry > 0)
            except ProviderError as error:
                run.errors.append(error)
                self.health.failure(deployment.name, error, not run.alone)
                if isinstance(error, UpstreamBadRequest):
                    raise  # the request is at fault: no retry, no fallback
                if not error.retryable or self.health.state(deployment.name) == "open":
                    return None
                if has_next and (isinstance(error, UpstreamConnectionError) or error.retry_after):
                    return None  # another deployment is ready now: fail over rather than wait
        return None

    async def _wait_for_retry(self, run: _Run, retry: int) -> bool:
        """Wait before a retry; False when it must not happen: the upstream asks for too long
        a wait, the deadline would pass, or the retry budget is spent (checked again when the
        retry is about to be sent, and the retry counted then)."""
        last = run.errors[-1]
        wait = self.config.policy.wait(retry, getattr(last, "retry_after", None))
        if wait is None or self.clock() + wait >= run.deadline or not self.budget.allows_retry(self.clock()):
            return False
        await self.sleep(wait)
        now = self.clock()
        if not self.budget.allows_retry(now):
            return False
        self.budget.record_retry(now)
        return True

    async def _attempt(self, run: _Run, model: ChatModel, request: ChatRequest, attempt: Attempt[T],
                       is_retry: bool) -> tuple[T, Outcome]:
        name = model.deployment.name
        record = _record_attempt(model, time.monotonic(), is_retry)
        if self.before_attempt is not None:
            try:
                await self.before_attempt(record)
            except BaseException:
                record.end("not_sent")
                raise
        slot = _Slot(self.stats.in_flight, name)
        self.health.begin(name)
        try:
            async with aio.timeout(max(0.0, run.deadline - self.clock())):
                sent = output_cap.capped(model.deployment, _for_model(request, model.deployment.model))
                result = await attempt(model, sent)
        except TimeoutError:
            slot.release()
            record.end("upstream_timeout", possibly_billed=True)
            run.errors.append(UpstreamTimeout("The request deadline passed.", provider=model.provider))
            raise AllTargetsFailed(run.errors) from None
        except ProviderError as error:
            slot.release()
            record.end(error.type, error.possibly_billed)
            raise
        except ClientError as error:  # the request is at fault (a provider that cannot embed): no retry
            slot.release()
            record.end(error.type)
            self.health.abandon(name)
            raise
        except BaseException:
            slot.release()
            record.end("cancelled")
            self.health.abandon(name)
            raise
        record.end(None)
        self.stats.record_latency(name, record.ended - record.started)
        self.health.success(name)
        attempts = len(run.errors) + 1
        return result, Outcome(model.deployment, run.route, attempts, list(run.errors), slot.release,
                               run.deadline)


class _Slot:
    """One in-flight request on a deployment; released once (at the end of a stream)."""

    __slots__ = ("counts", "name")

    def __init__(self, counts: dict[str, int], name: str) -> None:
        self.counts, self.name = counts, name
        counts[name] = counts.get(name, 0) + 1

    def release(self) -> None:
        if self.name:
            self.counts[self.name] -= 1
            self.name = ""


def _for_model(request: T, model: str) -> T:
    """``request`` for the upstream model ``model`` (a ChatRequest, or an embedding request)."""
    if isinstance(request, ChatRequest):
        return request.with_model(model)  # type: ignore[return-value]
    return replace(request, model=model)  # type: ignore[type-var]


def _record_attempt(model: ChatModel, started: float, is_retry: bool) -> AttemptRecord:
    """Note the attempt on the current request's state (if any)."""
    d = model.deployment
    record = AttemptRecord(d.name, d.provider, d.model, started, retry=is_retry)
    lane = current_lane()
    if lane is not None:  # a hedged race: the lane keeps its attempts
        record.hedge = lane.hedge
        lane.records.append(record)
    state = current_state()
    if state is not None:
        state.attempts.append(record)
    return record


async def _release(result: tuple[object, Outcome]) -> None:
    """Free a result nobody will use (a hedge's late winner): its in-flight slot."""
    result[1].release()


async def _close_stream(result: tuple[tuple[Opened, float | None], Outcome]) -> None:
    """Free a stream nobody will read (a hedge's late winner): close it, release its slot."""
    (opened, _), outcome = result
    outcome.release()
    await opened[1].aclose()  # type: ignore[attr-defined]
