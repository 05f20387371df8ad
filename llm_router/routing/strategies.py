"""Strategies: each yields the order in which to try a route's deployments."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

Strategy = Literal["fallback", "weighted", "least-latency", "least-busy"]
STRATEGIES: tuple[Strategy, ...] = ("fallback", "weighted", "least-latency", "least-busy")


class LoadStats:
    """Per-deployment moving average of time to first token, and requests in flight."""

    def __init__(self, alpha: float = 0.3, explore: float = 0.1, rng: random.Random | None = None) -> None:
        self.alpha = alpha
        self.explore = explore
        self.rng = rng or random.Random()
        self.latency: dict[str, float] = {}
        self.in_flight: dict[str, int] = {}

    def record_latency(self, name: str, seconds: float) -> None:
        """Fold one time-to-first-token sample into the moving average."""
        old = self.latency.get(name)
        self.latency[name] = seconds if old is None else old + self.alpha * (seconds - old)

    def order(self, strategy: Strategy, names: Sequence[str], weights: Sequence[float]) -> list[str]:
        """The order in which to try ``names`` for one request."""
        if strategy == "fallback" or len(names) < 2:
            return list(names)
        if strategy == "weighted":
            return self._weighted(list(names), list(weights))
        if strategy == "least-busy":
            return sorted(names, key=lambda n: self.in_flight.get(n, 0))
        return self._least_latency(list(names))

    def _weighted(self, names: list[str], weights: list[float]) -> list[str]:
        order: list[str] = []
        while names:
            pick = self.rng.choices(range(len(names)), weights=weights)[0] if sum(weights) > 0 else 0
            order.append(names.pop(pick))
            weights.pop(pick)
        return order

    def _least_latency(self, names: list[str]) -> list[str]:
        unmeasured = [n for n in names if n not in self.latency]
        if unmeasured:  # measure every deployment before trusting the averages
            return unmeasured + [n for n in names if n in self.latency]
        ranked = sorted(names, key=lambda n: self.latency[n])
        if self.rng.random() < self.explore:
            ranked.insert(0, ranked.pop(self.rng.randrange(1, len(ranked))))
        return ranked
