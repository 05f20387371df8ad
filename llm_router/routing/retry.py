"""The retry policy: exponential backoff with jitter, Retry-After honoured up to a cap,
never past the deadline; and a retry budget so an outage does not multiply load."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait between attempts on one deployment."""

    retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0

    def wait(self, retry: int, retry_after: float | None, rng: random.Random | None = None) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based), or None when the
        upstream asks for longer than we are willing to wait."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** retry))
        return (rng or random).uniform(ceiling / 2, ceiling)  # "equal jitter"


class RetryBudget:
    """Retries may not exceed ``ratio`` of the requests seen over the last ``window``
    seconds, plus a floor of ``minimum`` retries per window (so light traffic still gets
    its retries). Checked when a retry is about to be sent; times come from the caller
    (the router's clock)."""

    def __init__(self, ratio: float = 0.2, minimum: int = 3, window: float = 10.0) -> None:
        self.ratio = ratio
        self.minimum = minimum
        self.window = window
        self._requests = _SlidingCount(window)
        self._retries = _SlidingCount(window)

    def record_request(self, now: float) -> None:
        """A client request began."""
        self._requests.add(now)

    def allows_retry(self, now: float) -> bool:
        """True if one more retry fits the budget now."""
        return self._retries.count(now) + 1 <= self.minimum + self.ratio * self._requests.count(now)

    def record_retry(self, now: float) -> None:
        """A retry is being sent."""
        self._retries.add(now)


class _SlidingCount:
    """Events over the last ``window`` seconds, in ten buckets (O(1) memory and time)."""

    __slots__ = ("_buckets", "_width", "_window")

    def __init__(self, window: float, buckets: int = 10) -> None:
        self._window = window
        self._width = window / buckets
        self._buckets: deque[list[float]] = deque()  # [bucket start, count], oldest first

    def add(self, now: float) -> None:
        start = now - now % self._width
        if self._buckets and self._buckets[-1][0] == start:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([start, 1])
        self._prune(now)

    def count(self, now: float) -> float:
        self._prune(now)
        return sum(count for _, count in self._buckets)

    def _prune(self, now: float) -> None:
        while self._buckets and self._buckets[0][0] + self._width <= now - self._window:
            self._buckets.popleft()
