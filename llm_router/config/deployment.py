"""A deployment: one provider, one upstream model, one key, one base URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``first_byte`` bounds the wait for response headers (the whole answer
    when not streaming); ``stream_idle`` the gap between stream chunks; ``total`` the
    whole request, every attempt and wait included."""

    connect: float = 5.0
    first_byte: float = 120.0
    stream_idle: float = 60.0
    total: float = 600.0


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens; ``cached_input`` defaults to ``input``."""

    input: float
    output: float
    cached_input: float | None = None


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where and how to reach one model. The key is a SecretStr: never printed."""

    name: str
    provider: str
    model: str
    base_url: str
    api_key: SecretStr | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    options: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    retries: int | None = None
    price: Price | None = None
    max_concurrency: int | None = None

    def key(self) -> str:
        """The provider key in clear, for the Authorization header only."""
        return self.api_key.get_secret_value() if self.api_key else ""
