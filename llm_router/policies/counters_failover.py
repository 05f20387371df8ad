"""What the limits do when the shared counter store is down (``LLM_ROUTER_REDIS_FAILURE``).

- ``open`` (default): each replica falls back to its own in-process counters with every
  limit divided by ``LLM_ROUTER_REPLICAS`` (at least 1): rpm/tpm and max_parallel by N, a
  budget's *remaining* amount (max - spent, read from the ledger) by N. Across N replicas
  that keeps the total near the limit without the store. No 5xx.
- ``closed``: requests of limited keys are refused with 429 ``rate_limit_exceeded`` and
  ``Retry-After: 1`` until the store is back (requests of unlimited keys go on).

A refused connection marks the store down at once; timeouts only after
``TIMEOUTS_BEFORE_DOWN`` (3) in a row: a lone slow answer (a starved event loop) is served
per replica for that call alone, so load does not flap every request to local limits.
While degraded the store is probed again at most once per ``probe_interval`` (1 s), so a
dead store costs no time per request; when a probe succeeds the shared counters take over
again. Each transition is logged once (``shared counters unavailable`` / ``... back``);
``up``, ``fallbacks`` and ``outages`` feed the metrics (``status_collector``). Leases
taken from the store are given back to it; what was taken locally is given back locally.
``settle``-side operations (release, commit, adjust) never raise."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Literal, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from llm_router.errors import RateLimited
from llm_router.policies.counters import InProcessCounters, RateResult, Reservation

if TYPE_CHECKING:
    from llm_router.policies.counters_redis import RedisCounters

log = logging.getLogger("llm_router.counters")
T = TypeVar("T")
FailureMode = Literal["open", "closed"]
#: Consecutive timeouts before the store counts as down (a refused connection counts at once):
#: a lone slow answer must not switch every request to per-replica limits.
TIMEOUTS_BEFORE_DOWN = 3


def store_errors() -> tuple[type[BaseException], ...]:
    """What a failing shared store raises. redis-py is imported only once a shared store is
    in use: it pulls in the OpenTelemetry SDK when that is installed."""
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError)


def is_timeout(exc: BaseException) -> bool:
    """A slow answer (a starved event loop, a busy server) rather than a store that is gone."""
    from redis.exceptions import TimeoutError as RedisTimeout

    return isinstance(exc, (RedisTimeout, TimeoutError))


class FailoverCounters:
    """A ``CounterStore``: the shared store, or per-replica counters while it is down."""

    def __init__(self, shared: RedisCounters, replicas: int = 1, mode: FailureMode = "open",
                 probe_interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.shared = shared
        self.errors = store_errors()
        self.local = InProcessCounters()
        self.replicas = max(1, replicas)
        self.mode = mode
        self.probe_interval = probe_interval
        self.clock = clock
        self.up = True
        self.fallbacks = 0
        self.outages = 0
        self._retry_at = 0.0
        self._timeouts = 0
        self._seeds: dict[str, int] = {}

    def _scaled(self, limit: int) -> int:
        return max(1, limit // self.replicas)

    async def _shared(self, call: Callable[[], Awaitable[T]]) -> tuple[bool, T | None]:
        """(True, result) from the shared store, or (False, None) when it is unavailable."""
        if not self.up and self.clock() < self._retry_at:
            return False, None
        try:
            result = await call()
        except self.errors as exc:
            if self.up and is_timeout(exc) and self._timeouts + 1 < TIMEOUTS_BEFORE_DOWN:
                self._timeouts += 1  # one slow answer: this call only is served per replica
                return False, None
            self._down(exc)
            return False, None
        self._timeouts = 0
        if not self.up:
            self.up = True
            log.warning("shared counters back: limits are shared by every replica again")
        return True, result

    def _down(self, exc: BaseException) -> None:
        self._retry_at = self.clock() + self.probe_interval
        if self.up:
            self.up = False
            self.outages += 1
            log.error("shared counters unavailable (%s): %s", type(exc).__name__,
                      f"per-replica limits, each divided by {self.replicas}" if self.mode == "open"
                      else "requests of limited keys refused (LLM_ROUTER_REDIS_FAILURE=closed)")

    def _fallback(self) -> None:
        self.fallbacks += 1
        if self.mode == "closed":
            raise RateLimited("Rate limits are temporarily unavailable; try again shortly.", retry_after=1.0)

    async def rate(self, key: str, limit: int, period: float, cost: int) -> RateResult:
        ok, result = await self._shared(lambda: self.shared.rate(key, limit, period, cost))
        if ok and result is not None:
            return result
        self._fallback()
        return await self.local.rate(key, self._scaled(limit), period, cost)

    async def peek(self, key: str, limit: int, period: float) -> RateResult:
        ok, result = await self._shared(lambda: self.shared.peek(key, limit, period))
        if ok and result is not None:
            return result
        return await self.local.peek(key, self._scaled(limit), period)

    async def adjust_rate(self, key: str, limit: int, period: float, delta: int) -> None:
        ok, _ = await self._shared(lambda: self.shared.adjust_rate(key, limit, period, delta))
        if not ok:
            await self.local.adjust_rate(key, self._scaled(limit), period, delta)

    async def acquire(self, key: str, limit: int) -> bool:
        ok, result = await self._shared(lambda: self.shared.acquire(key, limit))
        if ok:
            return bool(result)
        self._fallback()
        return await self.local.acquire(key, self._scaled(limit))

    async def release(self, key: str) -> None:
        if self.shared.holds_slot(key):  # if the store is down, the lease lapses by itself
            await self._shared(lambda: self.shared.release(key))
            return
        await self.local.release(key)

    async def reserve(self, key: str, amount: int, limit: int, seed: Callable[[], Awaitable[int]],
                      ttl: float) -> Reservation:
        ok, result = await self._shared(lambda: self.shared.reserve(key, amount, limit, seed, ttl))
        if ok and result is not None:
            return result
        self._fallback()
        if key not in self._seeds:
            self._seeds[key] = await seed()
        spent = self._seeds[key]
        share = spent + max(0, limit - spent) // self.replicas
        return await self.local.reserve(key, amount, share, lambda: _value(spent), ttl)

    async def commit(self, key: str, reserved: int, actual: int) -> None:
        if self.shared.holds_reservation(key, reserved):
            await self._shared(lambda: self.shared.commit(key, reserved, actual))
            return
        await self.local.commit(key, reserved, actual)

    async def close(self) -> None:
        """Close the shared store."""
        await self.shared.close()


async def _value(value: int) -> int:
    return value


class StatusCollector(Collector):
    """Prometheus view of a ``FailoverCounters``: ``llm_router_shared_counters_up`` (1/0),
    ``llm_router_shared_counters_fallbacks_total`` (operations served per replica) and
    ``llm_router_shared_counters_outages_total``."""

    def __init__(self, counters: FailoverCounters) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        c = self.counters
        yield GaugeMetricFamily("llm_router_shared_counters_up",
                                "1 while the shared counter store (Redis) answers.", value=int(c.up))
        yield CounterMetricFamily("llm_router_shared_counters_fallbacks",
                                  "Limit checks served by per-replica counters.", value=c.fallbacks)
        yield CounterMetricFamily("llm_router_shared_counters_outages",
                                  "Times the shared counter store became unavailable.", value=c.outages)
