"""Deployment health: a circuit breaker per deployment with growing cooldowns and a
single half-open probe; quota and auth failures eject at once. A deployment alone on its
route is never ejected (there is nowhere else to send its requests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from llm_router.errors import ProviderError, UpstreamAuthFailed, UpstreamBadRequest, UpstreamRateLimited


@dataclass(slots=True)
class _State:
    failures: int = 0
    open_until: float = 0.0
    cooldown: float = 0.0
    probing: bool = False


class HealthBoard:
    """Tracks failures per deployment name and says which may take traffic."""

    def __init__(self, failures_to_open: int = 3, base_cooldown: float = 5.0, max_cooldown: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures_to_open = failures_to_open
        self.base_cooldown = base_cooldown
        self.max_cooldown = max_cooldown
        self.clock = clock
        self._states: dict[str, _State] = {}

    def state(self, name: str) -> str:
        """``closed``, ``open`` or ``half_open``."""
        s = self._states.get(name)
        if s is None or s.open_until == 0.0:
            return "closed"
        return "open" if self.clock() < s.open_until else "half_open"

    def admits(self, name: str) -> bool:
        """True if ``name`` may take a request now: closed, or half-open with no probe out."""
        s = self._states.get(name)
        if s is None or s.open_until == 0.0:
            return True
        return self.clock() >= s.open_until and not s.probing

    def readmits_in(self, name: str) -> float:
        """Seconds until ``name`` admits a request again: 0 if it does now, the rest of its
        cooldown if open, and 1 while its half-open probe is out."""
        s = self._states.get(name)
        if s is None or s.open_until == 0.0:
            return 0.0
        wait = s.open_until - self.clock()
        return wait if wait > 0 else (1.0 if s.probing else 0.0)

    def begin(self, name: str) -> None:
        """An attempt on ``name`` starts; on a half-open circuit it is the probe."""
        s = self._states.get(name)
        if s is not None and s.open_until and self.clock() >= s.open_until:
            s.probing = True

    def abandon(self, name: str) -> None:
        """An attempt ended without a verdict (e.g. the client left): free the probe slot."""
        s = self._states.get(name)
        if s is not None:
            s.probing = False

    def success(self, name: str) -> None:
        """An attempt succeeded: close the circuit."""
        self._states.pop(name, None)

    def failure(self, name: str, error: ProviderError, can_eject: bool) -> None:
        """An attempt (or a stream after its first content) failed. ``can_eject`` is False
        for a deployment alone on its route."""
        if isinstance(error, UpstreamBadRequest):
            return  # the request was at fault, not the deployment
        s = self._states.setdefault(name, _State())
        s.probing = False
        s.failures += 1
        severe = isinstance(error, UpstreamAuthFailed) or (
            isinstance(error, UpstreamRateLimited) and error.quota_exhausted)
        if can_eject and (severe or s.failures >= self.failures_to_open or s.open_until):
            s.cooldown = min(self.max_cooldown, s.cooldown * 2 if s.cooldown else self.base_cooldown)
            s.open_until = self.clock() + s.cooldown
