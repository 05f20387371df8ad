"""Everything a running service holds, built once from the settings, started and stopped in
one order: the upstream client, the models, the router and gateway with their policy chain,
and the optional parts — the admin plane (database, virtual keys), shared state on Redis,
the usage journal, the response cache — plus metrics and the Observer.

``create_app`` (``api/app.py``) puts these behind the routes; nothing here knows about HTTP
routing. The lifespan starts the parts in order and closes those that started in reverse,
so a failed start-up leaves nothing open."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llm_router.api.wiring import admin_plane, policy_chain
from llm_router.cache.setup import CacheCollector, build_cache
from llm_router.config.router_config import build_router_config
from llm_router.config.settings import Settings
from llm_router.gateway import Gateway
from llm_router.observability.metrics import Metrics
from llm_router.observability.observer import Observer
from llm_router.observability.pricing import PriceTable
from llm_router.observability.tracing import tracer_from_environment
from llm_router.observability.usage import UsageLedger, UsageSink
from llm_router.policies.base import PolicyChain
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.routing.router import Router
from llm_router.scaleout import ScaleOut, build_scaleout

if TYPE_CHECKING:  # the admin plane's database stack is imported only when the plane is on
    from llm_router.admin_plane import AdminPlane
    from llm_router.storage.journal_service import UsageJournal

log = logging.getLogger("llm_router")
Step = Callable[[], Awaitable[Any] | None]


@dataclass(frozen=True, slots=True)
class _Part:
    """One thing the lifespan starts (if it must) and closes."""

    start: Step | None
    close: Step | None


@dataclass(slots=True)
class Services:
    """The service's parts; see the module docstring."""

    settings: Settings
    http: UpstreamClient
    factory: ChatModelFactory
    router: Router
    prices: PriceTable
    chain: PolicyChain
    gateway: Gateway
    plane: AdminPlane | None
    scaleout: ScaleOut | None
    journal: UsageJournal | None
    metrics: Metrics = field(default_factory=Metrics)
    ledger: UsageLedger = field(default_factory=UsageLedger)
    observer: Observer = field(init=False)

    def __post_init__(self) -> None:
        for collector in self._collectors():
            self.metrics.registry.register(collector)
        sinks: tuple[UsageSink, ...] = tuple(s for s in (self.plane and self.plane.usage_sink,
                                                         self.journal and self.journal.journal) if s)
        self.observer = Observer(
            self.metrics, self.prices, self.ledger, deployment_price=self.factory.price_of,
            circuit_state=self.router.health.state, tracer=tracer_from_environment(),
            log_content=self.settings.llm_router_log_content, sinks=sinks)

    def _collectors(self) -> list[Any]:
        found = [part.collector() for part in (self.scaleout, self.journal) if part is not None]
        if self.gateway.cache is not None:
            found.append(CacheCollector(self.gateway.cache))
        return found

    def _parts(self) -> list[_Part]:
        """In start order (closed in reverse): the cache is closed last, the HTTP pool just before."""
        cache = self.gateway.cache
        parts = [_Part(None, cache.close if cache else None), _Part(self.http.start, self.http.close),
                 _Part(self.factory.start, self.factory.close)]
        parts += [_Part(p.start, p.close) for p in (self.plane, self.scaleout, self.journal) if p is not None]
        return parts

    @asynccontextmanager
    async def lifespan(self, app: object) -> AsyncIterator[None]:
        """Start every part, serve, then close what started, last first."""
        started: list[_Part] = []
        try:
            for part in self._parts():
                if part.start is not None:
                    await _call(part.start)
                started.append(part)
            gc.collect()
            gc.freeze()  # start-up objects leave the collector's view: later collections stay cheap
            log.info("llm-router ready; providers configured: %s",
                     ", ".join(self.factory.available()) or "none")
            yield
        finally:
            for part in reversed(started):
                if part.close is not None:
                    await _call(part.close)


async def _call(step: Step) -> None:
    result = step()
    if result is not None:
        await result


def build_services(settings: Settings, config_path: str | None = None) -> Services:
    """Every part, from validated settings and the router config file (if any)."""
    config = build_router_config(settings, config_path or settings.llm_router_config)
    http = UpstreamClient()
    factory = ChatModelFactory(config.deployments, http)
    router = Router(config, factory)
    prices = PriceTable(config.prices)
    scaleout = build_scaleout()  # None without LLM_ROUTER_REDIS_URL
    plane = admin_plane(settings, router, prices, scaleout)  # None without LLM_ROUTER_ADMIN_KEY
    chain = PolicyChain(policy_chain(settings, plane))
    gateway = Gateway(router, capture_content=settings.llm_router_log_content, policies=chain)
    gateway.cache = build_cache(router)  # None unless a route or deployment has ``cache:``
    journal = _with_database(plane, gateway, router)
    return Services(settings, http, factory, router, prices, chain, gateway, plane, scaleout, journal)


def _with_database(plane: AdminPlane | None, gateway: Gateway, router: Router) -> UsageJournal | None:
    """With the admin plane's database: the Responses surface keeps its responses there, and
    the usage journal (if ``LLM_ROUTER_JOURNAL_PATH`` is set) ships to it. Without: neither
    (and none of their storage modules is imported)."""
    if plane is None:
        return None
    from llm_router.storage.journal_service import build_journal
    from llm_router.storage.response_store import ResponseStore

    gateway.response_store = ResponseStore(plane.engine)
    journal = build_journal(plane.engine, owners=plane.owners)
    if journal is not None:
        router.before_attempt = journal.journal.intent
    return journal
