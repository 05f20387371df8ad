"""Counters the limit and budget policies share, behind a small protocol.

``InProcessCounters`` is exact for one process. A Redis implementation (the scale-out
issue) implements the same five operations atomically in the shared store.

- ``rate``: GCRA (generic cell rate algorithm) over ``period`` seconds with a burst of the
  whole ``limit``: a full bucket admits ``limit`` units at once, then one unit every
  ``period / limit`` seconds. Refusals consume nothing.
- ``acquire``/``release``: concurrency slots (``max_parallel``).
- ``reserve``/``commit``: budgets. A reservation is admitted while ``spent + outstanding <
  limit`` (so the overshoot is bounded by one request's cost); ``commit`` replaces the
  reservation by the real amount. ``seed`` loads what was spent before this process knew
  the counter (from the ledger), once per counter."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateResult:
    """One GCRA decision; times in seconds."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # until the bucket is full again
    retry_after: float  # until this request would be admitted (0 when allowed)


@dataclass(frozen=True, slots=True)
class Reservation:
    """One budget decision: ``used`` is spent + outstanding before this reservation."""

    allowed: bool
    used: int


class CounterStore(Protocol):
    """The operations the policies need; every one atomic for its key."""

    async def rate(self, key: str, limit: int, period: float, cost: int) -> RateResult: ...

    async def peek(self, key: str, limit: int, period: float) -> RateResult: ...

    async def adjust_rate(self, key: str, limit: int, period: float, delta: int) -> None: ...

    async def acquire(self, key: str, limit: int) -> bool: ...

    async def release(self, key: str) -> None: ...

    async def reserve(self, key: str, amount: int, limit: int, seed: Callable[[], Awaitable[int]],
                      ttl: float) -> Reservation: ...

    async def commit(self, key: str, reserved: int, actual: int) -> None: ...


@dataclass(slots=True)
class _Budget:
    spent: int
    outstanding: int
    expires: float


class InProcessCounters:
    """Exact counters for one process (the event loop makes each operation atomic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.wall = wall
        self._tat: dict[str, float] = {}
        self._slots: dict[str, int] = {}
        self._budgets: dict[str, _Budget] = {}
        self._seeding = asyncio.Lock()
        self._ops = 0

    async def rate(self, key: str, limit: int, period: float, cost: int) -> RateResult:
        now = self.clock()
        interval = period / limit
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + min(cost, limit) * interval
        if new_tat - now > period + 1e-9:
            return _result(False, limit, interval, tat - now, new_tat - period - now)
        self._tat[key] = new_tat
        self._prune(now)
        return _result(True, limit, interval, new_tat - now, 0.0)

    async def peek(self, key: str, limit: int, period: float) -> RateResult:
        now = self.clock()
        tat = max(self._tat.get(key, now), now)
        return _result(True, limit, period / limit, tat - now, 0.0)

    async def adjust_rate(self, key: str, limit: int, period: float, delta: int) -> None:
        now = self.clock()
        tat = max(self._tat.get(key, now), now) + delta * (period / limit)
        self._tat[key] = min(max(tat, now), now + period)

    async def acquire(self, key: str, limit: int) -> bool:
        held = self._slots.get(key, 0)
        if held >= limit:
            return False
        self._slots[key] = held + 1
        return True

    async def release(self, key: str) -> None:
        held = self._slots.get(key, 0) - 1
        if held > 0:
            self._slots[key] = held
        else:
            self._slots.pop(key, None)

    async def reserve(self, key: str, amount: int, limit: int, seed: Callable[[], Awaitable[int]],
                      ttl: float) -> Reservation:
        budget = self._budgets.get(key)
        if budget is None:
            async with self._seeding:
                budget = self._budgets.get(key)
                if budget is None:
                    budget = self._budgets[key] = _Budget(await seed(), 0, self.wall() + ttl)
        used = budget.spent + budget.outstanding
        if used >= limit:
            return Reservation(False, used)
        budget.outstanding += amount
        return Reservation(True, used)

    async def commit(self, key: str, reserved: int, actual: int) -> None:
        budget = self._budgets.get(key)
        if budget is not None:
            budget.outstanding = max(0, budget.outstanding - reserved)
            budget.spent += actual

    def spent(self, key: str) -> tuple[int, int] | None:
        """(spent, outstanding) of a budget counter, if this process has it."""
        budget = self._budgets.get(key)
        return (budget.spent, budget.outstanding) if budget else None

    def _prune(self, now: float) -> None:
        self._ops += 1
        if self._ops % 4096:
            return
        self._tat = {k: v for k, v in self._tat.items() if v > now}
        wall = self.wall()
        self._budgets = {k: b for k, b in self._budgets.items() if b.expires > wall or b.outstanding}


def _result(allowed: bool, limit: int, interval: float, used_time: float, retry: float) -> RateResult:
    used_time = max(0.0, used_time)
    remaining = max(0, min(limit, math.floor((limit * interval - used_time) / interval + 1e-9)))
    return RateResult(allowed, limit, remaining, used_time, max(0.0, retry))
