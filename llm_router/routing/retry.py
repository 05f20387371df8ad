"""The retry policy: exponential backoff with jitter, Retry-After honoured up to a cap,
never past the deadline; and a retry budget so an outage does not multiply load."""

from __future__ import annotations

import random
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
    """Retries in flight may not exceed ``ratio`` of requests in flight (floor ``minimum``),
    as Envoy's retry budget does."""

    def __init__(self, ratio: float = 0.2, minimum: int = 3) -> None:
        self.ratio = ratio
        self.minimum = minimum
        self.requests = 0
        self.retries = 0

    def allows_retry(self) -> bool:
        """True if one more concurrent retry fits the budget."""
        return self.retries < max(self.minimum, int(self.ratio * self.requests))
