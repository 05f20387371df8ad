"""Records and request contexts for policy tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from starlette.datastructures import Headers

from llm_router.messages import ChatRequest, Message
from llm_router.observability.state import RequestState
from llm_router.policies.auth import VirtualAuth
from llm_router.policies.base import Principal, RequestContext
from llm_router.storage.records import Budget, KeyRecord, Limits, Rules, TeamRecord

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
_ids = itertools.count()


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def key(name: str = "alice", team_id: str | None = None, **rules) -> KeyRecord:
    return KeyRecord(id=f"key_{name}", name=name, key_hash="0" * 64, display="sk-lr-...abcd", team_id=team_id,
                     rules=Rules(**rules), metadata={}, expires_at=None, revoked_at=None, created_at=NOW,
                     updated_at=NOW)


def team(name: str = "blue", **rules) -> TeamRecord:
    return TeamRecord(id=f"team_{name}", name=name, rules=Rules(**rules), metadata={}, created_at=NOW,
                      updated_at=NOW)


def context(k: KeyRecord, t: TeamRecord | None = None, *, model: str = "gpt-4.1-mini", prompt: str = "hello",
            max_tokens: int | None = None) -> RequestContext:
    ctx = RequestContext(surface="openai", headers=Headers(), state=RequestState(f"req-{next(_ids)}", "openai"))
    ctx.principal = Principal(kind="virtual", key_id=k.id, team_id=k.team_id, models=k.rules.models,
                              data=VirtualAuth(k, t))
    ctx.model = model
    ctx.request = ChatRequest(model=model, messages=(Message("user", prompt),), max_tokens=max_tokens)
    return ctx


__all__ = ["NOW", "Budget", "Clock", "Limits", "context", "key", "team"]
