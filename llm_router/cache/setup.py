"""Building the response cache at start-up (None when no route or deployment has ``cache:``).

Settings (environment or ``.env``), validated once:

- ``LLM_ROUTER_CACHE_MAX_BYTES``: the in-process store's bound (default 64 MiB of
  compressed entries; least recently used entries go first).
- ``LLM_ROUTER_CACHE_MAX_ENTRY_BYTES``: larger answers are not stored (default 1 MiB).
- With ``LLM_ROUTER_REDIS_URL`` the entries live on Redis instead, shared by every replica,
  under ``LLM_ROUTER_REDIS_PREFIX`` + ``cache:``, with the TTL kept by Redis; the connection
  settings (URL, prefix, ``LLM_ROUTER_REDIS_TIMEOUT``) are those of the shared counters."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from llm_router.cache.cache import ResponseCache
from llm_router.cache.store import CacheStore, MemoryStore, RedisStore
from llm_router.routing.router import Router
from llm_router.scaleout import ScaleOutSettings, redis_client


class CacheSettings(BaseSettings):
    """The in-process store's bounds; see the module docstring."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      frozen=True)

    llm_router_cache_max_bytes: int = Field(64 << 20, ge=1024)
    llm_router_cache_max_entry_bytes: int = Field(1 << 20, ge=256)


def build_cache(router: Router, settings: CacheSettings | None = None,
                shared: ScaleOutSettings | None = None) -> ResponseCache | None:
    """The gateway's response cache, or None when no rule asks for one."""
    if not router.config.caches:
        return None
    settings = settings or CacheSettings()
    shared = shared or ScaleOutSettings()
    store: CacheStore
    if shared.llm_router_redis_url:
        client = redis_client(shared.llm_router_redis_url, shared.llm_router_redis_timeout)
        store = RedisStore(client, shared.llm_router_redis_prefix, settings.llm_router_cache_max_entry_bytes)
    else:
        store = MemoryStore(settings.llm_router_cache_max_bytes, settings.llm_router_cache_max_entry_bytes)
    return ResponseCache(router.config.caches, router, store)


class CacheCollector(Collector):
    """``llm_router_cache_stored_bytes``: bytes held by this process's store."""

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("llm_router_cache_stored_bytes",
                                "Bytes of compressed entries in this process's response cache "
                                "(0 when the entries live on Redis).", value=self.cache.store.size())
