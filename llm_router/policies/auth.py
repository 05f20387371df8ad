"""Who is calling: the gateway (master) key or a virtual key, with a short in-process cache.

Order of the checks (CVE-2026-42208 is a SQL injection in a peer's key lookup): one
credential header at most; the master key compared in constant time; then the virtual-key
format and exact length, so anything else (an injection string, a 10 KB bearer) is refused
before hashing or any lookup; then the HMAC looked up with a bound parameter and compared
again with ``hmac.compare_digest``.

The cache keeps each looked-up hash (unknown ones too, briefly, to spare the database) for
``ttl`` seconds. Revoking or changing a key or team through this process's admin API drops
its entries at once; another instance sees the change within ``ttl`` (10 s by default).
While the database is unreachable, a key looked up within the last ``AuthCache.stale_ttl``
(15 min) keeps working; unknown keys are refused with 503 (P3)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from llm_router.errors import Overloaded, Unauthorized
from llm_router.policies.base import Principal
from llm_router.storage.keysecrets import KeyHasher, looks_like_key
from llm_router.storage.records import KeyRecord, TeamRecord
from llm_router.storage.repository import Repository

INVALID_KEY = "Invalid API key."
STORAGE_DOWN = "The key and usage database is unavailable; try again shortly."
#: What a database outage raises (driver errors are wrapped by SQLAlchemy; sockets: OSError).
STORAGE_ERRORS = (SQLAlchemyError, OSError)
log = logging.getLogger("llm_router.auth")
MAX_CREDENTIAL_CHARS = 512


@dataclass(slots=True)
class Held:
    """What the policies took for one request, to give back or correct in ``settle``."""

    requests: list[tuple[str, int]] = field(default_factory=list)  # rpm counter, limit
    tokens: list[tuple[str, int, int]] = field(default_factory=list)  # tpm counter, charged, limit
    slots: list[str] = field(default_factory=list)
    reservations: list[tuple[str, int]] = field(default_factory=list)  # counter key, micros


@dataclass(slots=True)
class VirtualAuth:
    """``Principal.data`` of a virtual key: its record, its team's, this request's holdings.

    ``memo`` is what the policies derive from the two records (their limit scopes, budgets),
    kept per auth-cache entry: shared by every request until the entry is refreshed or
    invalidated, so a change to the key or team is seen together with the new records."""

    key: KeyRecord
    team: TeamRecord | None
    held: Held = field(default_factory=Held)
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    key: KeyRecord | None
    team: TeamRecord | None
    memo: dict[str, Any] = field(default_factory=dict)


class AuthCache:
    """hash -> (key, team) for ``ttl`` seconds; unknown hashes for ``negative_ttl``."""

    def __init__(self, ttl: float = 10.0, negative_ttl: float = 2.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.negative_ttl, self.max_entries, self.clock = ttl, negative_ttl, max_entries, clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        #: Bumped by every invalidation: a lookup that began before one is not kept.
        self.generation = 0

    #: While the database is unreachable, a key looked up less than this many seconds ago keeps
    #: working (P3: an outage of minutes does not lock out the keys in use); unknown keys stay refused.
    stale_ttl: float = 900.0

    def stale(self, key_hash: str) -> _Entry | None:
        """The last known entry of a valid-looking key, expired less than ``stale_ttl`` ago."""
        entry = self._entries.get(key_hash)
        if entry is None or entry.key is None or entry.expires + self.stale_ttl <= self.clock():
            return None
        return entry

    def get(self, key_hash: str) -> _Entry | None:
        """The live entry for ``key_hash``, if any."""
        entry = self._entries.get(key_hash)
        if entry is None or entry.expires <= self.clock():
            return None
        return entry

    def put(self, key_hash: str, key: KeyRecord | None, team: TeamRecord | None) -> _Entry:
        """Remember a lookup."""
        ttl = self.ttl if key is not None else self.negative_ttl
        entry = self._entries[key_hash] = _Entry(self.clock() + ttl, key, team)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return entry

    def invalidate_key(self, key_id: str) -> None:
        """Forget a key (revoked or changed)."""
        self._drop(lambda e: e.key is not None and e.key.id == key_id)

    def invalidate_team(self, team_id: str) -> None:
        """Forget every key of a team (the team changed)."""
        self._drop(lambda e: e.key is not None and e.key.team_id == team_id)

    def clear(self) -> None:
        """Forget everything."""
        self._drop(lambda _: True)

    def _drop(self, match: Callable[[_Entry], bool]) -> None:
        self.generation += 1
        for key_hash in [h for h, e in self._entries.items() if match(e)]:
            del self._entries[key_hash]


class Authenticator:
    """Turns a credential into a Principal, or raises Unauthorized.

    One lookup per hash at a time: the requests that miss the cache together (every
    connection of a busy key when its entry expires) wait for the same lookup, which goes
    on if the request that started it is cancelled."""

    def __init__(self, repository: Repository, hasher: KeyHasher, master_key: str | None,
                 cache: AuthCache) -> None:
        self.repository = repository
        self.hasher = hasher
        self.master_key = master_key
        self.cache = cache
        self._loading: dict[str, tuple[int, asyncio.Future[_Entry]]] = {}

    async def authenticate(self, token: str) -> Principal:
        """The caller behind ``token``."""
        if len(token) > MAX_CREDENTIAL_CHARS:
            raise Unauthorized(INVALID_KEY)
        if self.master_key and KeyHasher.same(token, self.master_key):
            return Principal(kind="master")
        if not looks_like_key(token):
            raise Unauthorized(INVALID_KEY)
        key_hash = self.hasher.hash(token)
        entry = self.cache.get(key_hash) or await self._load(key_hash)
        key, team = entry.key, entry.team
        if key is None or not KeyHasher.same(key.key_hash, key_hash):
            raise Unauthorized(INVALID_KEY)
        if key.revoked_at is not None:
            raise Unauthorized("This API key has been revoked.")
        if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
            raise Unauthorized("This API key has expired.")
        if key.team_id is not None and team is None:
            raise Unauthorized("This API key's team no longer exists.")
        models = key.rules.models if key.rules.models is not None else (team.rules.models if team else None)
        return Principal(kind="virtual", key_id=key.id, team_id=key.team_id, models=models,
                         data=VirtualAuth(key, team, memo=entry.memo))

    async def _load(self, key_hash: str) -> _Entry:
        generation = self.cache.generation
        joined = self._loading.get(key_hash)
        if joined is not None and joined[0] == generation:
            return await asyncio.shield(joined[1])
        pending = asyncio.ensure_future(self._fetch(key_hash, generation))
        self._loading[key_hash] = (generation, pending)
        pending.add_done_callback(partial(self._landed, key_hash))
        return await asyncio.shield(pending)

    def _landed(self, key_hash: str, done: asyncio.Future[_Entry]) -> None:
        if self._loading.get(key_hash, (0, None))[1] is done:
            del self._loading[key_hash]
        if not done.cancelled():
            done.exception()  # retrieved, even when every request that waited has gone

    async def _fetch(self, key_hash: str, generation: int) -> _Entry:
        try:
            key = await self.repository.key_by_hash(key_hash)
            team = await self.repository.get_team(key.team_id) if key and key.team_id else None
        except STORAGE_ERRORS:  # fail closed, but say why: 503, not 500
            known = self.cache.stale(key_hash)
            if known is not None:  # the database is down: a key in use keeps working
                return known
            log.warning("key lookup failed: the database is unavailable", exc_info=True)
            raise Overloaded(STORAGE_DOWN, retry_after=1.0) from None
        if self.cache.generation != generation:  # invalidated meanwhile: maybe read before
            return _Entry(0.0, key, team)
        return self.cache.put(key_hash, key, team)
