"""An exact sliding-window log (pure, synchronous): at most ``limit`` units are admitted in
*every* window of ``period`` seconds (no burst on top of a refill). Same semantics as the
Redis store's ``WINDOW`` script (``counters_lua``), so one instance and many agree:

- ``take`` admits while ``sum + cost <= limit`` (a cost above the limit counts as the limit:
  it fits only into an empty window); a refusal changes nothing;
- ``adjust`` adds a positive correction as a new entry now, and takes a negative one back
  from the newest entries.

Memory: one entry per admitted request (or correction) in the last ``period`` seconds."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateResult:
    """One decision; times in seconds from now."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # until the window is empty again (OpenAI's x-ratelimit-reset-*)
    retry_after: float  # until this request would be admitted (0 when allowed)


class SlidingWindow:
    """The log of one counter: (time, amount) entries, oldest first, and their sum."""

    __slots__ = ("entries", "period", "used")

    def __init__(self, period: float) -> None:
        self.period = period
        self.entries: deque[tuple[float, int]] = deque()
        self.used = 0

    def expire(self, now: float) -> None:
        """Drop the entries that left the window."""
        entries, edge = self.entries, now - self.period
        while entries and entries[0][0] <= edge:
            self.used -= entries.popleft()[1]

    def take(self, now: float, limit: int, cost: int) -> RateResult:
        """Admit ``cost`` units if they fit."""
        self.expire(now)
        cost = min(cost, limit)
        if self.used + cost > limit:
            return self._result(False, now, limit, self._retry(now, limit, cost))
        self.entries.append((now, cost))
        self.used += cost
        return self._result(True, now, limit, 0.0)

    def peek(self, now: float, limit: int) -> RateResult:
        """The state, admitting nothing."""
        self.expire(now)
        return self._result(True, now, limit, 0.0)

    def adjust(self, now: float, delta: int) -> None:
        """Add ``delta`` units now, or take ``-delta`` back from the newest entries."""
        self.expire(now)
        if delta > 0:
            self.entries.append((now, delta))
            self.used += delta
            return
        need = -delta
        while need > 0 and self.entries:
            when, amount = self.entries.pop()
            if amount <= need:
                self.used, need = self.used - amount, need - amount
            else:
                self.entries.append((when, amount - need))
                self.used, need = self.used - need, 0

    def _retry(self, now: float, limit: int, cost: int) -> float:
        freed = 0
        for when, amount in self.entries:
            freed += amount
            if self.used - freed + cost <= limit:
                return when + self.period - now
        return self.period

    def _result(self, allowed: bool, now: float, limit: int, retry: float) -> RateResult:
        reset = self.entries[-1][0] + self.period - now if self.entries else 0.0
        return RateResult(allowed, limit, max(0, limit - self.used), max(0.0, reset), max(0.0, retry))
