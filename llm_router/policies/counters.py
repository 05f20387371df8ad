"""Counters the limit and budget policies share, behind a small protocol.

``InProcessCounters`` is exact for one process. A Redis implementation (the scale-out
issue) implements the same operations atomically in the shared store (a sorted set per
window, a hash per budget).

- ``rate`` / ``peek`` / ``adjust_rate``: an exact sliding-window log
  (``window.SlidingWindow``, the same semantics as the Redis store): at most ``limit`` units
  in every ``period`` seconds; refusals consume nothing; ``adjust_rate`` corrects an
  estimate (tpm) or gives a unit back (a request refused later in the chain).
- ``acquire``/``release``: concurrency slots (``max_parallel``).
- ``reserve``/``commit``: budgets. A reservation is admitted while ``spent + outstanding <
  limit`` (so the overshoot is bounded by one request's cost); ``commit`` replaces the
  reservation by the real amount. ``seed`` loads what was spent before this process knew
  the counter (from the ledger), once per counter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from llm_router.policies.window import RateResult, SlidingWindow

__all__ = ["CounterStore", "InProcessCounters", "RateResult", "Reservation"]


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
        self._windows: dict[str, SlidingWindow] = {}
        self._slots: dict[str, int] = {}
        self._budgets: dict[str, _Budget] = {}
        self._seeding = asyncio.Lock()
        self._ops = 0

    async def rate(self, key: str, limit: int, period: float, cost: int) -> RateResult:
        self._sweep()
        return self._window(key, period).take(self.clock(), limit, cost)

    async def peek(self, key: str, limit: int, period: float) -> RateResult:
        window = self._windows.get(key)
        if window is None:
            return RateResult(True, limit, limit, 0.0, 0.0)
        return window.peek(self.clock(), limit)

    async def adjust_rate(self, key: str, limit: int, period: float, delta: int) -> None:
        if delta:
            self._window(key, period).adjust(self.clock(), delta)

    def _window(self, key: str, period: float) -> SlidingWindow:
        window = self._windows.get(key)
        if window is None or window.period != period:
            window = self._windows[key] = SlidingWindow(period)
        return window

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

    def _sweep(self) -> None:
        """Now and then, forget empty windows and finished budget periods."""
        self._ops += 1
        if self._ops % 4096:
            return
        now = self.clock()
        for window in self._windows.values():
            window.expire(now)
        self._windows = {k: w for k, w in self._windows.items() if w.entries}
        wall = self.wall()
        self._budgets = {k: b for k, b in self._budgets.items() if b.expires > wall or b.outstanding}
