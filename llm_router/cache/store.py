"""Where entries live: an in-process LRU bounded by bytes (the default), or Redis shared
by every replica (``LLM_ROUTER_REDIS_URL``), with the TTL kept by Redis.

Both hold an entry's compressed bytes. A Redis that fails or is slow is a miss (and a
skipped store), never an error for the client."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("llm_router.cache")
__all__ = ["CacheStore", "MemoryStore", "RedisStore"]


class CacheStore(Protocol):
    """Bytes by key, each with its own time to live."""

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None (absent, expired, or the store is down)."""
        ...

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        """Keep ``value`` under ``key`` for ``ttl`` seconds (best effort)."""
        ...

    def size(self) -> int:
        """Bytes held in this process (0 for a shared store)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryStore:
    """An LRU of at most ``max_bytes`` (values larger than ``max_entry_bytes`` are not kept)."""

    def __init__(self, max_bytes: int = 64 << 20, max_entry_bytes: int = 1 << 20,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if self.clock() >= expires:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        if len(value) > self.max_entry_bytes:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (self.clock() + ttl, value)
        self._bytes += len(value)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def size(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    async def close(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= len(value)


class RedisStore:
    """Entries at ``<prefix>cache:<key>`` with ``PX`` set from the TTL."""

    def __init__(self, client: Redis, prefix: str = "llm-router:", max_entry_bytes: int = 1 << 20) -> None:
        self.client = client
        self.prefix = f"{prefix}cache:"
        self.max_entry_bytes = max_entry_bytes

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self.client.get(self.prefix + key)
        except Exception as exc:  # the store is down or slow: a miss
            log.warning("response cache: Redis read failed (%s); treated as a miss", type(exc).__name__)
            return None
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        if len(value) > self.max_entry_bytes:
            return
        try:
            await self.client.set(self.prefix + key, value, px=max(1, round(ttl * 1000)))
        except Exception as exc:
            log.warning("response cache: Redis write failed (%s); answer not stored", type(exc).__name__)

    def size(self) -> int:
        return 0

    async def close(self) -> None:
        await self.client.aclose()
