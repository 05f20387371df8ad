"""The admin plane's auth cache, shared by the replicas: an invalidation made on one replica
(a key or team revoked or changed) is published on Redis and applied by every other one
(``llm_router/scaleout.py`` wires it when both the admin plane and Redis are on)."""

from __future__ import annotations

import asyncio

from llm_router.policies.auth import AuthCache


class SharedAuthCache(AuthCache):
    """An auth cache whose invalidations reach every replica (Redis pub/sub)."""

    def __init__(self, ttl: float, publish: asyncio.Queue[str]) -> None:
        super().__init__(ttl=ttl)
        self.outbox = publish

    def invalidate_key(self, key_id: str) -> None:
        super().invalidate_key(key_id)
        self.outbox.put_nowait(f"key:{key_id}")

    def invalidate_team(self, team_id: str) -> None:
        super().invalidate_team(team_id)
        self.outbox.put_nowait(f"team:{team_id}")

    def apply(self, message: str) -> None:
        """An invalidation from another replica (or ``*``: drop everything)."""
        kind, _, ident = message.partition(":")
        if kind == "key":
            AuthCache.invalidate_key(self, ident)
        elif kind == "team":
            AuthCache.invalidate_team(self, ident)
        elif kind == "*":
            AuthCache.clear(self)
