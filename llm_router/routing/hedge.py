"""Hedged attempts: when a route's first attempt has produced no first content after
``hedge.after`` seconds, one more attempt starts on the route's next deployment; the first
to produce content wins and the others are cancelled at once (their connections closed).

Rules (README, "Hedged requests"):

- A *lane* is what the router does with one deployment (its attempt and retries). The first
  lane starts at once; after ``after`` seconds without content (on the router's clock and
  sleep, so tests drive time) a hedge lane starts on the next deployment, up to ``max``
  hedges. A lane that fails over before then starts the next lane at once (a normal
  fallback, not a hedge) and the hedge timer starts again.
- A hedge counts against the retry budget: without budget there is no hedge.
- Requests with tools are not hedged (a tool call might have side effects, and both lanes
  could make it) unless the route says ``hedge: {tools: true}``.
- The losers' attempts stay in the request's record flagged ``hedge_cancelled`` and
  ``possibly_billed`` (they reached the provider); the winner's outcome counts every attempt.
- "First content": a stream's first content chunk, or a whole answer when not streamed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from llm_router import aio
from llm_router.config.deployment import Deployment
from llm_router.config.router_config import HedgeRule
from llm_router.errors import AllTargetsFailed
from llm_router.messages import ChatRequest
from llm_router.observability.state import AttemptRecord

if TYPE_CHECKING:
    from llm_router.routing.router import Attempt, Outcome, Router, _Run

T = TypeVar("T")
Result = tuple[T, "Outcome"]
__all__ = ["Lane", "current_lane", "hedgeable", "race"]


@dataclass(slots=True)
class Lane:
    """One deployment's attempts within a race."""

    deployment: Deployment
    hedge: bool
    records: list[AttemptRecord] = field(default_factory=list)


_LANE: ContextVar[Lane | None] = ContextVar("llm_router_hedge_lane", default=None)


def current_lane() -> Lane | None:
    """The lane the current attempt belongs to (None outside a race)."""
    return _LANE.get()


def hedgeable(rule: HedgeRule | None, request: ChatRequest, deployments: int) -> bool:
    """True if the request may be hedged under ``rule`` across ``deployments``."""
    tools = getattr(request, "tools", ())  # the router runs embedding requests too
    return rule is not None and deployments > 1 and (rule.tools or not tools)


async def race(router: Router, run: _Run, request: ChatRequest, attempt: Attempt[T], rule: HedgeRule,
               discard: Callable[[Result[T]], Awaitable[None]]) -> Result[T]:
    """Run the route's lanes with hedging; the first result wins (``discard`` frees a late one)."""
    lanes: dict[asyncio.Task[Result[T] | None], Lane] = {}
    queue = list(enumerate(run.deployments))
    hedges = rule.max
    winner: asyncio.Task[Result[T] | None] | None = None

    def start(hedge: bool) -> None:
        index, deployment = queue.pop(0)
        lane = Lane(deployment, hedge)
        task = aio.running_loop().create_task(_lane(router, run, index, request, attempt, lane))
        lanes[task] = lane

    start(False)
    loop = aio.running_loop()
    try:
        while True:
            timer = (asyncio.ensure_future(router.sleep(rule.after), loop=loop)
                     if hedges and queue else None)
            waiting = {t for t in lanes if not t.done()} | ({timer} if timer is not None else set())
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if timer is not None:
                timer.cancel()
            for task in lanes.keys() & done:
                result = task.result()  # a refusal (bad request, deadline) ends the race
                if result is not None:
                    winner = task
                    result[1].attempts = sum(len(lane.records) for lane in lanes.values())
                    return result
            if all(t.done() for t in lanes):
                if not queue:
                    raise AllTargetsFailed(run.errors)
                start(False)  # every lane failed over: the next deployment, at once
            elif timer in done and _budget(router):
                hedges -= 1
                start(True)
    finally:
        _cancel(lanes, winner, discard, router.reaping)


async def _lane(router: Router, run: _Run, index: int, request: ChatRequest, attempt: Attempt[T],
                lane: Lane) -> Result[T] | None:
    _LANE.set(lane)
    return await router._try(run, lane.deployment, index, request, attempt)


def _budget(router: Router) -> bool:
    now = router.clock()
    if not router.budget.allows_retry(now):
        return False
    router.budget.record_retry(now)
    return True


def _cancel(lanes: dict[asyncio.Task[Result[T] | None], Lane], winner: object,
            discard: Callable[[Result[T]], Awaitable[None]], reaping: set[asyncio.Task[None]]) -> None:
    """Cancel every lane but ``winner``: attempts in flight are flagged ``hedge_cancelled``;
    a lane that finished with a result of its own has it discarded."""
    losers = [t for t in lanes if t is not winner]
    for task in losers:
        records = lanes[task].records
        if not task.done():
            for record in records:
                if not record.ended:  # in flight: it reached the provider
                    record.hedge_cancelled = record.possibly_billed = True
            task.cancel()
        elif records and not task.cancelled() and task.exception() is None and task.result() is not None:
            records[-1].hedge_cancelled = records[-1].possibly_billed = True  # it answered too late
    if losers:  # their clean-up (connections closed, slots released) happens off the winner's path
        reaper = aio.running_loop().create_task(_reap(losers, discard))
        reaping.add(reaper)
        reaper.add_done_callback(reaping.discard)


async def _reap(losers: list[asyncio.Task[Result[T] | None]],
                discard: Callable[[Result[T]], Awaitable[None]]) -> None:
    """Wait for the cancelled lanes; free a result one of them still produced."""
    for late in await asyncio.gather(*losers, return_exceptions=True):
        if isinstance(late, tuple):
            await discard(late)
