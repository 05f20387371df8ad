"""Running several replicas: shared counters on Redis and key-cache invalidation across them.

Settings (environment or ``.env``), validated once:

- ``LLM_ROUTER_REDIS_URL``: ``redis://host:6379/0`` (or ``rediss://``, Valkey alike). Unset:
  counters stay in process (exact for one replica only).
- ``LLM_ROUTER_REDIS_FAILURE``: ``open`` (default) or ``closed``; see ``counters_failover``.
- ``LLM_ROUTER_REPLICAS``: how many replicas share the limits (for the fallback; default 1).
- ``LLM_ROUTER_REDIS_PREFIX``: key prefix (default ``llm-router:``), one per deployment.
- ``LLM_ROUTER_REDIS_TIMEOUT``: seconds per Redis call before it counts as slow (1.0; three slow
  calls in a row, or one refused connection, count as down).
- ``LLM_ROUTER_REDIS_LEASE``: seconds after which a dead replica's slots and reservations
  return (30).

Revocations and key or team changes made through any replica's admin API are published
on ``<prefix>invalidate``; every replica drops the key (or the team's keys) from its auth
cache at once (typically within a few ms). When the subscription is broken the bound is
the auth cache TTL (``LLM_ROUTER_AUTH_CACHE_TTL``, 10 s), and on reconnect the whole cache
is dropped, since messages may have been missed.

Wiring (``ScaleOut`` is None without ``LLM_ROUTER_REDIS_URL``)::

    scaleout = build_scaleout()
    plane = build_admin_plane(..., counters=scaleout.counters if scaleout else None)
    scaleout.attach(plane)                     # before start: the shared auth cache
    metrics.registry.register(scaleout.collector())
    await scaleout.start() ... await scaleout.close()   # in the lifespan
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from llm_router.policies.counters_failover import FailoverCounters, StatusCollector

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from llm_router.admin_plane import AdminPlane
    from llm_router.scaleout_cache import SharedAuthCache

log = logging.getLogger("llm_router.scaleout")


class ScaleOutSettings(BaseSettings):
    """Settings of the shared state; see the module docstring."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      frozen=True)

    llm_router_redis_url: str | None = None
    llm_router_redis_failure: Literal["open", "closed"] = "open"
    llm_router_replicas: int = Field(1, ge=1, le=10_000)
    llm_router_redis_prefix: str = Field("llm-router:", min_length=1, max_length=64)
    llm_router_redis_timeout: float = Field(1.0, gt=0, le=10)
    llm_router_redis_lease: float = Field(30.0, ge=1, le=3600)


def redis_client(url: str, timeout: float | None) -> Redis:
    """A client that fails fast: no retries inside redis-py (the failover decides)."""
    # redis-py is imported here, not at module level: it pulls in the OpenTelemetry SDK when
    # that is installed, and a service without LLM_ROUTER_REDIS_URL must not load it.
    from redis.asyncio import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout or 1.0,
                          retry=Retry(NoBackoff(), 0), health_check_interval=0)


class ScaleOut:
    """The shared counters and the invalidation bus of one replica."""

    def __init__(self, settings: ScaleOutSettings) -> None:
        assert settings.llm_router_redis_url
        self.settings = settings
        self.url = settings.llm_router_redis_url
        from llm_router.policies.counters_redis import RedisCounters

        shared = RedisCounters(redis_client(self.url, settings.llm_router_redis_timeout),
                               settings.llm_router_redis_prefix, settings.llm_router_redis_lease)
        self.counters = FailoverCounters(shared, settings.llm_router_replicas,
                                         settings.llm_router_redis_failure)
        self.channel = f"{settings.llm_router_redis_prefix}invalidate"
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.cache: SharedAuthCache | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def attach(self, plane: AdminPlane) -> None:
        """Give the admin plane an auth cache whose invalidations reach every replica."""
        from llm_router.scaleout_cache import SharedAuthCache  # the plane's storage stack: with it only

        self.cache = SharedAuthCache(plane.cache.ttl, self.outbox)
        plane.cache = plane.authenticator.cache = self.cache

    def collector(self) -> StatusCollector:
        """The Prometheus collector of the shared counters' state."""
        return StatusCollector(self.counters)

    async def start(self) -> None:
        """Start the invalidation publisher and subscriber (if a cache is attached)."""
        log.info("shared counters on Redis (prefix %r, on failure: %s, replicas: %d)",
                 self.settings.llm_router_redis_prefix, self.settings.llm_router_redis_failure,
                 self.settings.llm_router_replicas)
        if self.cache is not None:
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._publish(), name="llm-router-invalidate-publish"),
                           loop.create_task(self._subscribe(self.cache), name="llm-router-invalidate-listen")]

    async def close(self) -> None:
        """Stop the bus and close the connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.counters.close()

    async def _publish(self) -> None:
        client = redis_client(self.url, self.settings.llm_router_redis_timeout)
        try:
            while True:
                message = await self.outbox.get()
                try:
                    await client.publish(self.channel, message)
                except Exception as exc:
                    log.warning("could not publish a key-cache invalidation (%s); other replicas "
                                "see the change within the auth cache TTL", type(exc).__name__)
        finally:
            await client.aclose()

    async def _subscribe(self, cache: SharedAuthCache) -> None:
        delay = 0.1
        while True:
            client = redis_client(self.url, None)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    cache.apply("*:")  # anything may have changed while we were not listening
                    delay = 0.1
                    while True:
                        message = await pubsub.get_message(timeout=5.0)
                        if message and message.get("type") == "message":
                            data = message["data"]
                            cache.apply(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("invalidation subscription lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await client.aclose()


def build_scaleout(settings: ScaleOutSettings | None = None) -> ScaleOut | None:
    """The replica's shared state, or None when ``LLM_ROUTER_REDIS_URL`` is unset."""
    settings = settings or ScaleOutSettings()
    if not settings.llm_router_redis_url:
        return None
    return ScaleOut(settings)
