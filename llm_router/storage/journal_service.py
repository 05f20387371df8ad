"""The usage journal, wired: settings, the journal, its shipper, metrics.

Settings (environment or ``.env``), validated once:

- ``LLM_ROUTER_JOURNAL_PATH``: the journal file (e.g. ``/var/lib/llm-router/journal.db``, on
  a volume that outlives the container). Unset: no journal (the ledger alone: a kill -9
  loses at most its last flush interval).
- ``LLM_ROUTER_JOURNAL_SYNC``: ``full`` (default: fsync per group commit, survives a power
  cut) or ``normal`` (survives a process kill, not a machine crash).
- ``LLM_ROUTER_JOURNAL_MAX_PENDING``: unshipped records before new attempts get 503 (1,000,000,
  about 300 MB of disk).

Wiring (``UsageJournal`` is None without a path or without the admin plane's database)::

    journal = build_journal(plane.engine)
    router.journal = journal.journal                        # intents before each attempt
    observer sinks += (journal.journal,)                    # completions when a request ends
    metrics.registry.register(journal.collector())
    await journal.start() ... await journal.close()         # lifespan (close after the app drained)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.storage.journal import Journal
from llm_router.storage.journal_shipper import JournalShipper
from llm_router.storage.usage_sink import RequestOwners


class JournalSettings(BaseSettings):
    """See the module docstring."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      frozen=True)

    llm_router_journal_path: str | None = None
    llm_router_journal_sync: Literal["full", "normal"] = "full"
    llm_router_journal_max_pending: int = Field(1_000_000, ge=100)
    llm_router_journal_ship_interval: float = Field(0.2, gt=0, le=10)


class UsageJournal:
    """A journal and its shipper."""

    def __init__(self, journal: Journal, shipper: JournalShipper) -> None:
        self.journal = journal
        self.shipper = shipper

    async def start(self) -> None:
        """Mark orphans, start writing and shipping (the backlog first)."""
        await self.journal.start()
        await self.shipper.start()

    async def close(self) -> None:
        """Write and ship what is left (as far as the database allows), then stop."""
        await self.journal.flush()
        await self.shipper.close()
        await self.shipper.drain()
        await self.journal.close()

    def collector(self) -> Collector:
        """Prometheus view: pending records, shipped, orphans, dead letters, full, failing."""
        return _JournalCollector(self)


class _JournalCollector(Collector):
    def __init__(self, owner: UsageJournal) -> None:
        self.owner = owner

    def collect(self) -> Iterator[Metric]:
        journal, shipper = self.owner.journal, self.owner.shipper
        yield GaugeMetricFamily("llm_router_journal_pending_records",
                                "Journal records not yet in the database.", value=journal.pending)
        yield GaugeMetricFamily("llm_router_journal_full",
                                "1 while the journal bound is reached (new attempts get 503).",
                                value=int(journal.full))
        yield GaugeMetricFamily("llm_router_journal_shipping_failing",
                                "1 while the database refuses or cannot be reached.",
                                value=int(shipper.failing))
        yield CounterMetricFamily("llm_router_journal_shipped_records", "Journal records shipped.",
                                  value=shipper.shipped)
        yield CounterMetricFamily("llm_router_journal_unknown_attempts",
                                  "Attempts without a completion at start-up (unknown_possibly_billed).",
                                  value=journal.unknown)
        yield CounterMetricFamily("llm_router_journal_dead_letters",
                                  "Attempt rows the database refused (kept in usage_dead_letters).",
                                  value=shipper.dead)


def build_journal(engine: AsyncEngine | None, settings: JournalSettings | None = None,
                  owners: RequestOwners | None = None) -> UsageJournal | None:
    """The journal of this process, or None (no path, or no database to ship to).
    ``owners``: who made each request (the admin plane's), for the key and team columns."""
    settings = settings or JournalSettings()
    if not settings.llm_router_journal_path or engine is None:
        return None
    journal = Journal(settings.llm_router_journal_path, replica=os.environ.get("HOSTNAME", ""),
                      synchronous=settings.llm_router_journal_sync,
                      max_pending=settings.llm_router_journal_max_pending,
                      owner_of=owners.get if owners is not None else None)
    shipper = JournalShipper(journal, engine, interval=settings.llm_router_journal_ship_interval)
    return UsageJournal(journal, shipper)
